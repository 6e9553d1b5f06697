package io.jblk.vhost;

import java.io.IOException;

/**
 * The front-end broke the protocol so that the connection cannot go on (framing lost, a reply it waits for cannot be
 * given): the back-end logs this, drops the connection and waits for the next one.
 */
public final class VhostUserProtocolException extends IOException {
    private static final long serialVersionUID = 1L;

    public VhostUserProtocolException(String message) {
        super(message);
    }
}
