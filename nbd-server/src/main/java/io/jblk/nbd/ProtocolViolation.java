package io.jblk.nbd;

import java.io.IOException;

/** A client broke the protocol in a way after which the stream cannot be trusted: the connection is dropped. */
final class ProtocolViolation extends IOException {
    ProtocolViolation(String message) {
        super(message);
    }
}
