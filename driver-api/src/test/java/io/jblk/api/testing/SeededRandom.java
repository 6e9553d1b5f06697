package io.jblk.api.testing;

import java.util.SplittableRandom;

/**
 * Randomness for tests that can be replayed: the seed comes from {@code -Djblk.seed=N} (or {@code JBLK_SEED}) when
 * given, else from the clock, and is always printed so a failure can be rerun exactly.
 */
public final class SeededRandom {
    private SeededRandom() {
    }

    /** A generator for {@code testName}, with its seed printed to stdout. */
    public static SplittableRandom forTest(String testName) {
        long seed = seed();
        System.out.println("[seed] " + testName + ": -Djblk.seed=" + seed);
        return new SplittableRandom(seed);
    }

    /** The seed in force: the configured one, else a fresh one. */
    public static long seed() {
        String configured = System.getProperty("jblk.seed", System.getenv("JBLK_SEED"));
        return configured != null ? Long.parseLong(configured.trim()) : System.nanoTime() ^ 0x9e3779b97f4a7c15L;
    }

    /** A failure message that carries the seed. */
    public static String withSeed(String message, long seed) {
        return message + " (replay with -Djblk.seed=" + seed + ")";
    }
}
