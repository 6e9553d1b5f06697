package io.jblk.bridge;

import java.util.function.BooleanSupplier;

/** Waits for a condition another thread brings about, with a bound that is a safety net, not a timing assertion. */
final class Until {
    static final long SECONDS = 60;

    private Until() {
    }

    static void until(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + SECONDS * 1_000_000_000L;
        int spins = 0;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("still waiting after " + SECONDS + " s for: " + what);
            }
            if (++spins < 1000) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
    }
}
