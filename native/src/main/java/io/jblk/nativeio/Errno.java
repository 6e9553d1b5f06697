package io.jblk.nativeio;

/**
 * Names of Linux errno values (asm-generic/errno-base.h and errno.h; the same numbers on x86-64 and arm64), so that
 * error messages say {@code ENOSPC (No space left on device)} rather than 28.
 */
final class Errno {
    private Errno() {
    }

    private static final String[][] TABLE = new String[134][];

    static {
        def(1, "EPERM", "Operation not permitted");
        def(2, "ENOENT", "No such file or directory");
        def(4, "EINTR", "Interrupted system call");
        def(5, "EIO", "Input/output error");
        def(6, "ENXIO", "No such device or address");
        def(9, "EBADF", "Bad file descriptor");
        def(11, "EAGAIN", "Resource temporarily unavailable");
        def(12, "ENOMEM", "Cannot allocate memory");
        def(13, "EACCES", "Permission denied");
        def(14, "EFAULT", "Bad address");
        def(16, "EBUSY", "Device or resource busy");
        def(17, "EEXIST", "File exists");
        def(19, "ENODEV", "No such device");
        def(20, "ENOTDIR", "Not a directory");
        def(21, "EISDIR", "Is a directory");
        def(22, "EINVAL", "Invalid argument");
        def(23, "ENFILE", "Too many open files in system");
        def(24, "EMFILE", "Too many open files");
        def(26, "ETXTBSY", "Text file busy");
        def(27, "EFBIG", "File too large");
        def(28, "ENOSPC", "No space left on device");
        def(29, "ESPIPE", "Illegal seek");
        def(30, "EROFS", "Read-only file system");
        def(32, "EPIPE", "Broken pipe");
        def(36, "ENAMETOOLONG", "File name too long");
        def(38, "ENOSYS", "Function not implemented");
        def(40, "ELOOP", "Too many levels of symbolic links");
        def(61, "ENODATA", "No data available");
        def(75, "EOVERFLOW", "Value too large for defined data type");
        def(88, "ENOTSOCK", "Socket operation on non-socket");
        def(95, "EOPNOTSUPP", "Operation not supported");
        def(98, "EADDRINUSE", "Address already in use");
        def(103, "ECONNABORTED", "Software caused connection abort");
        def(104, "ECONNRESET", "Connection reset by peer");
        def(107, "ENOTCONN", "Transport endpoint is not connected");
        def(111, "ECONNREFUSED", "Connection refused");
        def(122, "EDQUOT", "Disk quota exceeded");
        def(125, "ECANCELED", "Operation canceled");
    }

    private static void def(int errno, String name, String description) {
        TABLE[errno] = new String[] {name, description};
    }

    /** The symbolic name, e.g. {@code ENOSPC}, or {@code errno 200} for an unknown value. */
    static String name(int errno) {
        return known(errno) ? TABLE[errno][0] : "errno " + errno;
    }

    /** {@code ENOSPC (No space left on device)}. */
    static String describe(int errno) {
        return known(errno) ? TABLE[errno][0] + " (" + TABLE[errno][1] + ")" : "errno " + errno;
    }

    private static boolean known(int errno) {
        return errno > 0 && errno < TABLE.length && TABLE[errno] != null;
    }
}
