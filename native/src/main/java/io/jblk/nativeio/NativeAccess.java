package io.jblk.nativeio;

import java.io.IOException;

/**
 * Whether this JVM lets jblk make native calls at all. Probed once by linking the libc bindings; never throws at
 * probe time (Lucene's rule: fail soft at discovery, fail hard in use).
 */
final class NativeAccess {
    private static final String CAUSE = probe();

    private NativeAccess() {
    }

    private static String probe() {
        try {
            Linux.fdatasync(-1); // forces the bindings to link; EBADF is expected
            return null;
        } catch (IllegalCallerException | ExceptionInInitializerError | NoClassDefFoundError
                 | UnsupportedOperationException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            if (cause instanceof IllegalCallerException) {
                return "native access is not enabled for " + describeModule()
                        + " (run java with --enable-native-access=" + grantName() + "): " + cause.getMessage();
            }
            return "libc bindings are unavailable: " + cause;
        }
    }

    private static String describeModule() {
        Module m = NativeAccess.class.getModule();
        return m.isNamed() ? "module " + m.getName() : "the class path";
    }

    private static String grantName() {
        Module m = NativeAccess.class.getModule();
        return m.isNamed() ? m.getName() : "ALL-UNNAMED";
    }

    /** Null when native calls work, else why not. */
    static String unavailabilityCause() {
        return CAUSE;
    }

    static void require() throws IOException {
        if (CAUSE != null) {
            throw new IOException(CAUSE);
        }
    }
}
