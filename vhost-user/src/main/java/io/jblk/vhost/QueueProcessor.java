package io.jblk.vhost;

/**
 * What processes one started vring: available chains to the block device, completions back into the used ring.
 * The vhost-user session owns the ring's lifecycle; the virtqueue work is the emulator bridge's.
 *
 * <p>Thread contract: {@link #process()} is called by the ring's worker thread only; {@link #stop()} by the
 * session thread after the worker has exited.
 */
interface QueueProcessor {
    /** Serves every chain the guest made available (called on each kick and once at start). */
    void process();

    /**
     * Stops: no new chain is taken, requests in flight complete and are published in the used ring, then returns
     * the next available index the device would have consumed (GET_VRING_BASE's answer).
     */
    int stop();

    /** Starts processors for rings. */
    interface Factory {
        /**
         * A processor for ring {@code queue} whose descriptor table, avail and used rings are at the given
         * guest-physical addresses.
         *
         * @param base     the avail index to continue from (SET_VRING_BASE)
         * @param features the negotiated virtio features (EVENT_IDX, INDIRECT_DESC, ...)
         * @param inflight the ring's in-flight log (INFLIGHT_SHMFD), or null
         * @param call     signals the guest (the ring's call eventfd)
         * @param broken   told once if the ring becomes unusable (bad avail index): the session stops it
         * @throws IllegalArgumentException when the geometry does not fit guest memory, with the reason
         */
        QueueProcessor start(int queue, MemoryTable memory, int size, long desc, long avail, long used, int base,
                             long features, InflightLog inflight, Runnable call,
                             java.util.function.Consumer<String> broken);
    }
}
