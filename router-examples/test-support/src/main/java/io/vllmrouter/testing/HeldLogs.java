package io.vllmrouter.testing;

import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.logging.Handler;
import java.util.logging.LogRecord;

/**
 * Keeps a module's log output of the build quiet without hiding it when it matters: the
 * {@code java.util.logging} handler of the tests ({@link Holder}, named in the module's
 * {@code src/test/resources/logging.properties}) holds each test's records, and this JUnit extension
 * prints them, stack traces included, only when the test fails. Tests that provoke warnings on
 * purpose (broken providers, failing backends, refused configurations, lost connections) then print
 * nothing on a green build.
 *
 * <p>A module registers it for every test through
 * {@code src/test/resources/META-INF/services/org.junit.jupiter.api.extension.Extension} and the
 * {@code junit.jupiter.extensions.autodetection.enabled} system property in its surefire
 * configuration (router-core's and router-kv-events' poms).
 */
public final class HeldLogs implements BeforeEachCallback, TestWatcher {

    /** At most this many records are held per test; older ones are dropped (and counted). */
    private static final int LIMIT = 2000;
    private static final Deque<LogRecord> HELD = new ArrayDeque<>();
    private static int dropped;

    @Override
    public void beforeEach(ExtensionContext context) {
        synchronized (HELD) {
            HELD.clear();
            dropped = 0;
        }
    }

    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
        StringBuilder sb = new StringBuilder();
        synchronized (HELD) {
            if (HELD.isEmpty()) {
                return;
            }
            sb.append("---- log of ").append(context.getDisplayName()).append(" (failed)")
                    .append(dropped > 0 ? ", " + dropped + " earlier records dropped" : "").append(" ----\n");
            for (LogRecord r : HELD) {
                sb.append(format(r));
            }
            HELD.clear();
        }
        System.err.print(sb.append("---- end of log ----\n"));
        System.err.flush();
    }

    /** The messages held for the running test so far, formatted, without stack traces. */
    public static java.util.List<String> messages() {
        java.util.List<String> out = new java.util.ArrayList<>();
        synchronized (HELD) {
            for (LogRecord r : HELD) {
                out.add(message(r));
            }
        }
        return out;
    }

    /** A record's message with its parameters filled in, as the logger would print it. */
    private static String message(LogRecord r) {
        try {
            return r.getParameters() == null || r.getParameters().length == 0 ? r.getMessage()
                    : java.text.MessageFormat.format(r.getMessage(), r.getParameters());
        } catch (IllegalArgumentException e) {
            return r.getMessage();
        }
    }

    private static String format(LogRecord r) {
        StringBuilder sb = new StringBuilder().append(Instant.ofEpochMilli(r.getMillis())).append(' ')
                .append(r.getLevel()).append(' ').append(r.getLoggerName()).append(": ").append(message(r));
        sb.append('\n');
        if (r.getThrown() != null) {
            StringWriter w = new StringWriter();
            r.getThrown().printStackTrace(new PrintWriter(w));
            sb.append(w);
        }
        return sb.toString();
    }

    /** The handler named in logging.properties: holds the records for {@link HeldLogs}. */
    public static final class Holder extends Handler {
        @Override
        public void publish(LogRecord r) {
            if (r == null || !isLoggable(r)) {
                return;
            }
            synchronized (HELD) {
                if (HELD.size() >= LIMIT) {
                    HELD.removeFirst();
                    dropped++;
                }
                HELD.addLast(r);
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    }
}
