package io.jblk.nativeio;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Whether io_uring can serve files here. Probed once with a one-entry ring (Netty's pattern); the refusal's cause is
 * kept, logged once, and recorded on each file that falls back. {@code -Djblk.iouring.disable=true} refuses io_uring
 * without asking the kernel, which is how tests exercise the fallback on machines where io_uring works.
 */
public final class IoUringSupport {
    /** System property that forces the fallback. */
    public static final String DISABLE_PROPERTY = "jblk.iouring.disable";

    private static final AtomicBoolean LOGGED = new AtomicBoolean();
    private static volatile String kernelCause;
    private static volatile boolean probed;

    private IoUringSupport() {
    }

    public static boolean isAvailable() {
        return unavailabilityCause() == null;
    }

    /** Null when io_uring is usable, else why not (with the errno of the refusal). */
    public static String unavailabilityCause() {
        if (Boolean.getBoolean(DISABLE_PROPERTY)) {
            return "io_uring disabled by -D" + DISABLE_PROPERTY + "=true";
        }
        String noNative = NativeAccess.unavailabilityCause();
        if (noNative != null) {
            return noNative;
        }
        if (!probed) {
            synchronized (IoUringSupport.class) {
                if (!probed) {
                    kernelCause = probe();
                    probed = true;
                }
            }
        }
        return kernelCause;
    }

    private static String probe() {
        try (IoUring ring = IoUring.create(1, "probe")) {
            return null;
        } catch (NativeIOException e) {
            String hint = switch (e.errno()) {
                case Linux.EPERM -> " (seccomp filter, e.g. Docker's default profile, or sysctl kernel.io_uring_disabled)";
                case Linux.ENOSYS -> " (kernel built without io_uring)";
                default -> "";
            };
            return e.getMessage() + hint;
        } catch (IOException | RuntimeException e) {
            return "io_uring setup failed: " + e;
        }
    }

    /** Logs the first fallback in this JVM; later ones only go to {@link HostFile#engineFallbackCause()}. */
    static void logFallbackOnce(String cause) {
        if (LOGGED.compareAndSet(false, true)) {
            System.getLogger(IoUringSupport.class.getName()).log(System.Logger.Level.INFO,
                    "io_uring unavailable, using the threads engine: " + cause);
        }
    }
}
