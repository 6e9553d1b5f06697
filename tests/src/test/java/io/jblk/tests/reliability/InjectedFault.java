package io.jblk.tests.reliability;

import java.io.IOException;

/** The error a {@link FaultyHostFile} raises; drivers must pass it on (or wrap it), never swallow it. */
public final class InjectedFault extends IOException {
    private final FaultPlan.Errno errno;

    public InjectedFault(FaultPlan.Errno errno, String message) {
        super(errno.message + " (injected: " + message + ")");
        this.errno = errno;
    }

    public FaultPlan.Errno errno() {
        return errno;
    }
}
