package io.jblk.bridge;

import java.util.ArrayList;
import java.util.List;

import static io.jblk.bridge.VirtioBlkRequest.NO_STATUS;

/**
 * Follows a descriptor chain through NEXT links and at most one indirect table, validating as it goes. It counts
 * steps, so a loop or a chain longer than its table ends in {@link DescriptorChainException}, never in a hang.
 *
 * <p>Shared by every transport; stateless and thread-safe (it reads the descriptor table and indirect tables through
 * {@link GuestMemory}, in place or by copies). Each buffer of the result has been checked with
 * {@link GuestMemory#contains}; a refused chain carries where the guest expects its IOERR
 * ({@link DescriptorChainException#statusAddress()}).
 */
public final class ChainWalker {
    /** Largest indirect table accepted, in descriptors (what common devices accept; Linux never needs more). */
    public static final int MAX_INDIRECT_DESCRIPTORS = 1024;
    /** Largest total chain length: the used ring reports written bytes in a u32. */
    public static final long MAX_CHAIN_BYTES = 0xFFFF_FFFFL;

    private final GuestMemory memory;
    private final boolean indirectAllowed;

    public ChainWalker(GuestMemory memory, boolean indirectAllowed) {
        this.memory = memory;
        this.indirectAllowed = indirectAllowed;
    }

    /** Walks the chain starting at descriptor {@code head} of {@code ring}'s descriptor table. */
    public DescriptorChain walk(SplitVirtqueue ring, int head) throws DescriptorChainException {
        return walk(ring.descriptors(), ring.size(), head);
    }

    /** Walks the chain starting at {@code head} of {@code table}, which has {@code queueSize} entries. */
    DescriptorChain walk(GuestRange table, int queueSize, int head) throws DescriptorChainException {
        try {
            return strictWalk(table, queueSize, head);
        } catch (DescriptorChainException e) {
            long status = statusOfLastDescriptor(table, queueSize, head);
            throw status == NO_STATUS ? e : new DescriptorChainException(e.getMessage(), status);
        }
    }

    /**
     * Best effort to find where the guest expects the status of a chain that failed validation: follows NEXT links
     * (bounded, ignoring everything else that is wrong) to the last descriptor and returns its last byte when it is
     * a non-empty, device-writable buffer inside guest memory, else {@link VirtioBlkRequest#NO_STATUS}.
     */
    private long statusOfLastDescriptor(GuestRange table, int queueSize, int head) {
        if (head >= queueSize) {
            return NO_STATUS;
        }
        GuestRange current = table;
        int tableSize = queueSize;
        boolean indirect = false;
        int index = head;
        for (int steps = 0; steps <= tableSize; steps++) {
            Descriptor d = Descriptor.read(current, index);
            if (d.isIndirect() && !indirect) {
                long len = d.unsignedLength() / Descriptor.SIZE * Descriptor.SIZE;
                if (len == 0 || len / Descriptor.SIZE > MAX_INDIRECT_DESCRIPTORS) {
                    return NO_STATUS;
                }
                try {
                    current = GuestRange.of(memory, d.address(), len);
                } catch (GuestMemoryException e) {
                    return NO_STATUS;
                }
                tableSize = (int) (len / Descriptor.SIZE);
                indirect = true;
                index = 0;
                steps = -1;
                continue;
            }
            if (!d.hasNext()) {
                if (!d.isWrite() || d.isIndirect() || d.length() == 0) {
                    return NO_STATUS;
                }
                long last = d.address() + d.unsignedLength() - 1;
                try {
                    GuestRange.check(memory, last, 1);
                    return last;
                } catch (GuestMemoryException e) {
                    return NO_STATUS;
                }
            }
            index = d.next();
            if (index >= tableSize) {
                return NO_STATUS;
            }
        }
        return NO_STATUS; // a loop: no last descriptor
    }

    private DescriptorChain strictWalk(GuestRange table, int queueSize, int head) throws DescriptorChainException {
        List<DescriptorChain.Buffer> buffers = new ArrayList<>();
        long lastWritable = NO_STATUS; // the last byte of the last non-empty writable buffer walked
        if (head >= queueSize) {
            throw new DescriptorChainException("head descriptor index " + head + " >= queue size " + queueSize,
                    NO_STATUS);
        }
        GuestRange current = table;
        int tableSize = queueSize;
        boolean indirect = false;
        int index = head;
        int steps = 0;
        long total = 0;
        while (true) {
            if (++steps > tableSize) {
                throw new DescriptorChainException("descriptor chain from head " + head + " is longer than its "
                        + (indirect ? "indirect table" : "queue") + " (" + tableSize + " entries): a loop?",
                        lastWritable);
            }
            Descriptor d = Descriptor.read(current, index);
            if (d.isIndirect()) {
                if (!indirectAllowed) {
                    throw new DescriptorChainException("descriptor " + index + " is INDIRECT but RING_INDIRECT_DESC "
                            + "was not negotiated", lastWritable);
                }
                if (indirect) {
                    throw new DescriptorChainException("indirect table contains an INDIRECT descriptor at " + index,
                            lastWritable);
                }
                if (d.hasNext()) {
                    throw new DescriptorChainException("descriptor " + index + " has both INDIRECT and NEXT",
                            lastWritable);
                }
                long len = d.unsignedLength();
                if (len == 0 || len % Descriptor.SIZE != 0 || len / Descriptor.SIZE > MAX_INDIRECT_DESCRIPTORS) {
                    throw new DescriptorChainException("indirect table length " + len + " at descriptor " + index
                            + " is not a non-zero multiple of 16 of at most " + MAX_INDIRECT_DESCRIPTORS
                            + " entries", lastWritable);
                }
                try {
                    current = GuestRange.of(memory, d.address(), len);
                } catch (GuestMemoryException e) {
                    throw new DescriptorChainException("indirect table of descriptor " + index + ": "
                            + e.getMessage(), lastWritable);
                }
                tableSize = (int) (len / Descriptor.SIZE);
                indirect = true;
                index = 0;
                steps = 0;
                continue;
            }
            try {
                GuestRange.check(memory, d.address(), d.unsignedLength());
            } catch (GuestMemoryException e) {
                throw new DescriptorChainException((indirect ? "indirect " : "") + "descriptor " + index + ": "
                        + e.getMessage(), lastWritable);
            }
            if (d.isWrite()) {
                if (d.unsignedLength() > 0) {
                    lastWritable = d.address() + d.unsignedLength() - 1;
                }
            } else if (lastWritable != NO_STATUS || (!buffers.isEmpty() && buffers.getLast().writable())) {
                throw new DescriptorChainException((indirect ? "indirect " : "") + "descriptor " + index
                        + " is device-readable but follows a device-writable one", lastWritable);
            }
            total += d.unsignedLength();
            if (total > MAX_CHAIN_BYTES) {
                throw new DescriptorChainException("descriptor chain from head " + head + " holds more than "
                        + MAX_CHAIN_BYTES + " bytes", lastWritable);
            }
            buffers.add(new DescriptorChain.Buffer(d.address(), d.unsignedLength(), d.isWrite()));
            if (!d.hasNext()) {
                return new DescriptorChain(head, buffers);
            }
            index = d.next();
            if (index >= tableSize) {
                throw new DescriptorChainException("descriptor NEXT index " + index + " >= "
                        + (indirect ? "indirect table" : "queue") + " size " + tableSize, lastWritable);
            }
        }
    }
}
