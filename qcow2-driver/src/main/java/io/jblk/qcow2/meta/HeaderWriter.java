package io.jblk.qcow2.meta;

import java.io.IOException;

/** Rewrites header fields when a table moves; implemented by the image, which owns the header. */
public interface HeaderWriter {
    /** Points the header at a new refcount table (durable on return). */
    void switchRefcountTable(long offset, int clusters) throws IOException;

    /** Points the header at a new L1 table (durable on return). */
    void switchL1Table(int entries, long offset) throws IOException;
}
