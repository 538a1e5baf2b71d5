package io.vllmrouter.examples.cli;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SIGINT and SIGTERM handling through {@code sun.misc.Signal} (module jdk.unsupported, present on
 * 17 to 25), so the command can drain, clean up and exit 0 itself instead of the JVM exiting with
 * 130/143 from inside its shutdown hooks. Where it is unavailable the shutdown hook still cleans up.
 */
final class Signals {

    private static final Logger LOG = LoggerFactory.getLogger(Signals.class);

    private Signals() {
    }

    static void onInterruptOrTerminate(Runnable action) {
        for (String name : new String[] {"INT", "TERM"}) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), sig -> action.run());
            } catch (IllegalArgumentException | UnsupportedOperationException e) {
                LOG.debug("cannot handle SIG{}: {}", name, e.toString());
            }
        }
    }
}
