package io.jblk.bridge;

/**
 * The emulator's interrupt line for a {@link VirtioMmioTransport}, level-triggered: asserted while the device's
 * InterruptStatus is not 0.
 *
 * <p><b>Thread contract.</b>
 * <ul>
 *   <li>{@code set} is called only when the level changes: the first call is {@code set(true)} (the line starts
 *       low), and calls strictly alternate {@code true}, {@code false}, {@code true}, ...</li>
 *   <li>Calls never overlap, and none is made while any jblk lock is held or on a block driver's I/O completion
 *       thread. {@code set} may therefore block, for instance on the emulator's machine lock, without stalling the
 *       device: register accesses and I/O go on meanwhile.</li>
 *   <li>Which thread: the emulator's own thread for changes it causes (the guest's InterruptACK or STATUS write,
 *       {@code reset()}, {@code close()}, {@code connect()}; in polled mode also {@code poll()} and
 *       {@code drain()}, which are then the only places the line rises). In threaded mode a rise caused by an I/O
 *       completion is delivered on a jblk virtual thread named {@code jblk-virtio-signal}.</li>
 *   <li>Each call carries the level at the moment it was decided, and the deliverer checks again after the call
 *       returns: the last call always carries the current level. A call that was blocked (on the machine lock)
 *       while the guest acknowledged the interrupt or the board was reset therefore arrives late and is followed at
 *       once by {@code set(false)}: a brief spurious assertion, never a line stuck at a stale level. An emulator
 *       that wants none may ignore the argument and read {@link VirtioMmioTransport#interruptAsserted()} under its
 *       own lock inside {@code set}, or use polled mode, where every call is made on its own threads.</li>
 * </ul>
 */
@FunctionalInterface
public interface InterruptLine {
    void set(boolean asserted);
}
