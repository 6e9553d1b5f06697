package io.jblk.cli;

/**
 * A failure the user caused or must fix: printed as one {@code jblk: } line; exits with {@link #exitCode()}, or with
 * the subcommand's usual error code when that is 0.
 */
final class CliException extends RuntimeException {
    private final int exitCode;

    CliException(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    CliException(String message) {
        this(0, message);
    }

    int exitCode() {
        return exitCode;
    }
}
