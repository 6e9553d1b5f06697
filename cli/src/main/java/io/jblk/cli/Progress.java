package io.jblk.cli;

import java.io.PrintWriter;
import java.util.Locale;

/** qemu-img's {@code -p}: "    (12.34/100%)" rewritten in place with a carriage return; safe from any thread. */
final class Progress {
    private final PrintWriter out;
    private final boolean enabled;
    private final long total;
    private double lastShown = -1;

    Progress(PrintWriter out, boolean enabled, long total) {
        this.out = out;
        this.enabled = enabled;
        this.total = Math.max(1, total);
        update(0);
    }

    synchronized void update(long done) {
        if (!enabled) {
            return;
        }
        double percent = Math.min(100.0, 100.0 * done / total);
        if (percent - lastShown >= 1.0 || (percent == 100.0 && lastShown < 100.0)) {
            lastShown = percent;
            out.print(String.format(Locale.ROOT, "    (%.2f/100%%)\r", percent));
            out.flush();
        }
    }

    synchronized void finish() {
        if (enabled) {
            update(total);
            out.println();
        }
    }
}
