package io.jblk.nbd;

import io.jblk.api.Extent;

import java.util.ArrayList;
import java.util.List;

/** The metadata contexts NBD_CMD_BLOCK_STATUS can report, with how each turns a driver {@link Extent} into a value. */
enum MetaContext {
    /** Standard context: HOLE where the run is not backed by stored data, ZERO where it reads as zeros. */
    BASE_ALLOCATION("base:allocation", 1) {
        @Override
        int value(Extent e) {
            return (e.data() ? 0 : Nbd.STATE_HOLE) | (e.zero() ? Nbd.STATE_ZERO : 0);
        }
    },
    /** qemu's context: 0 = unallocated in the whole chain, 1 = this image, N = the (N-1)th backing file. */
    QEMU_ALLOCATION_DEPTH("qemu:allocation-depth", 2) {
        @Override
        int value(Extent e) {
            return e.present() ? e.depth() + 1 : 0;
        }
    };

    final String contextName;
    final int id;

    MetaContext(String contextName, int id) {
        this.contextName = contextName;
        this.id = id;
    }

    abstract int value(Extent e);

    String namespace() {
        return contextName.substring(0, contextName.indexOf(':') + 1);
    }

    /**
     * The contexts a query selects. Exact names select one context; for LIST, a bare namespace ({@code base:},
     * {@code qemu:}) selects all of that namespace. Unknown names select nothing (not an error, per the protocol).
     */
    static List<MetaContext> select(String query, boolean listing) {
        List<MetaContext> selected = new ArrayList<>();
        for (MetaContext c : values()) {
            if (c.contextName.equals(query) || (listing && c.namespace().equals(query))) {
                selected.add(c);
            }
        }
        return selected;
    }
}
