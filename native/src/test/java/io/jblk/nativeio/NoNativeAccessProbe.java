package io.jblk.nativeio;

import java.nio.file.Path;

/** Run in a JVM that denies native access: prints the engine AUTO picks and why (see {@link NoNativeAccessTest}). */
public final class NoNativeAccessProbe {
    private NoNativeAccessProbe() {
    }

    public static void main(String[] args) throws Exception {
        try (HostFile f = HostFile.open(Path.of(args[0]), HostFileOptions.defaults().withCreate(true))) {
            System.out.println("engine=" + f.engineName());
            System.out.println("cause=" + f.engineFallbackCause());
        }
        try {
            HostFile.open(Path.of(args[0]), HostFileOptions.defaults().withEngine(HostFileOptions.Engine.THREADS)).close();
            System.out.println("threads=opened");
        } catch (java.io.IOException e) {
            System.out.println("threads=refused " + e.getMessage());
        }
        try {
            EventFd.create().close();
            System.out.println("eventfd=created");
        } catch (java.io.IOException e) {
            System.out.println("eventfd=refused " + e.getMessage());
        }
        try {
            UnixListener.bind(Path.of(args[0] + ".sock")).close();
            System.out.println("listener=bound");
        } catch (java.io.IOException e) {
            System.out.println("listener=refused " + e.getMessage());
        }
    }
}
