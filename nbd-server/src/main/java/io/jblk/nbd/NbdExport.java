package io.jblk.nbd;

import io.jblk.api.BlockDevice;

/**
 * One export: a device under a name, with the policies the server applies to it.
 *
 * @param name        export name clients ask for ({@code ""} is also accepted as the default export)
 * @param description free text shown by {@code nbdinfo}, or null
 * @param device      the device served; owned by the caller
 * @param readOnly    refuse every modifying command with EPERM
 * @param unmap       honour TRIM and let WRITE_ZEROES release storage; false makes TRIM a no-op (qemu-nbd's
 *                    {@code --discard=ignore})
 * @param multiConn   advertise CAN_MULTI_CONN: safe because every connection shares the one device, whose flush
 *                    covers writes completed on any connection
 */
record NbdExport(String name, String description, BlockDevice device, boolean readOnly, boolean unmap,
                 boolean multiConn) {

    NbdExport {
        readOnly = readOnly || device.isReadOnly();
    }

    /** True when a client asking for {@code requested} gets this export. */
    boolean matches(String requested) {
        return requested.isEmpty() || requested.equals(name);
    }

    BlockSizes blockSizes() {
        return BlockSizes.of(device.limits());
    }

    int transmissionFlags(boolean structured) {
        int flags = Nbd.TF_HAS_FLAGS | Nbd.TF_SEND_FLUSH | Nbd.TF_SEND_FUA | Nbd.TF_SEND_CACHE;
        if (readOnly) {
            flags |= Nbd.TF_READ_ONLY;
        } else {
            flags |= Nbd.TF_SEND_TRIM | Nbd.TF_SEND_WRITE_ZEROES | Nbd.TF_SEND_FAST_ZERO;
        }
        if (structured) {
            flags |= Nbd.TF_SEND_DF;
        }
        if (multiConn) {
            flags |= Nbd.TF_CAN_MULTI_CONN;
        }
        return flags;
    }
}
