package io.jblk.cli.locks;

/**
 * What a second opener met: refused by the image lock (with QEMU's "Failed to get ... lock" line) or not. Other
 * outcomes (success, an unrelated error) count as "not refused": the matrix compares locking, not the commands.
 *
 * @param lockLine the "Failed to get ... lock" line, or null when the lock did not refuse the open
 * @param exitCode the command's exit code
 * @param stderr   everything it printed on stderr
 */
record Verdict(String lockLine, int exitCode, String stderr) {

    static Verdict of(int exitCode, String stderr) {
        String line = null;
        for (String l : stderr.split("\n")) {
            int at = l.indexOf("Failed to get ");
            if (at >= 0) {
                line = l.substring(at);
                break;
            }
        }
        return new Verdict(line, exitCode, stderr);
    }

    boolean refused() {
        return lockLine != null;
    }

    /** The verdict as the matrix compares it: "opens" or the lock line. */
    String summary() {
        return refused() ? lockLine : "opens";
    }
}
