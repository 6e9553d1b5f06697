package io.jblk.bridge;

/** The emulator's interrupt line for a virtio-mmio device; level-triggered: asserted while InterruptStatus != 0. */
@FunctionalInterface
public interface InterruptLine {
    void set(boolean asserted);
}
