package io.jblk.cli;

import sun.misc.Signal;
import sun.misc.SignalHandler;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * SIGTERM, SIGINT and SIGHUP as requests to stop, the way qemu-nbd treats them: the command ends its work and exits
 * 0, where the JVM's default would run the shutdown hooks and exit 128 + the signal number. Closing restores the
 * handlers found at install time (commands also run inside tests' JVMs).
 */
final class StopSignals implements AutoCloseable {
    static final List<String> NAMES = List.of("TERM", "INT", "HUP");

    private final Map<Signal, SignalHandler> previous = new LinkedHashMap<>();

    private StopSignals() {
    }

    /** Runs {@code stop} (on the signal thread: it must return quickly) when any of the signals arrives. */
    static StopSignals install(Runnable stop) {
        StopSignals installed = new StopSignals();
        for (String name : NAMES) {
            Signal signal = new Signal(name);
            try {
                installed.previous.put(signal, Signal.handle(signal, s -> stop.run()));
            } catch (IllegalArgumentException e) {
                // the JVM keeps this signal for itself (-Xrs, or a platform without it): the shutdown hook remains
            }
        }
        return installed;
    }

    @Override
    public void close() {
        previous.forEach(Signal::handle);
    }
}
