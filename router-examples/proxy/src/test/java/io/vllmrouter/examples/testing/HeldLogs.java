package io.vllmrouter.examples.testing;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import ch.qos.logback.core.encoder.Encoder;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Keeps the proxy's test logging out of a green build: the {@link Appender} named in
 * {@code logback-test.xml} holds each test's events, and this JUnit extension prints them only when
 * the test fails. Tests that provoke warnings on purpose (failing backends, grace periods running
 * out) then print nothing. Registered through {@code META-INF/services} and the
 * {@code junit.jupiter.extensions.autodetection.enabled} system property in this module's pom.
 */
public final class HeldLogs implements BeforeEachCallback, TestWatcher {

    private static final int LIMIT = 2000;
    private static final Deque<String> HELD = new ArrayDeque<>();

    @Override
    public void beforeEach(ExtensionContext context) {
        synchronized (HELD) {
            HELD.clear();
        }
    }

    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
        StringBuilder sb = new StringBuilder();
        synchronized (HELD) {
            if (HELD.isEmpty()) {
                return;
            }
            sb.append("---- log of ").append(context.getDisplayName()).append(" (failed) ----\n");
            HELD.forEach(sb::append);
            HELD.clear();
        }
        System.err.print(sb.append("---- end of log ----\n"));
        System.err.flush();
    }

    /** The appender of logback-test.xml: formats with its encoder and holds the text. */
    public static final class Appender extends AppenderBase<ILoggingEvent> {
        private Encoder<ILoggingEvent> encoder;

        public void setEncoder(Encoder<ILoggingEvent> encoder) {
            this.encoder = encoder;
        }

        @Override
        protected void append(ILoggingEvent event) {
            String text = encoder == null ? event.getFormattedMessage() + "\n"
                    : new String(encoder.encode(event), StandardCharsets.UTF_8);
            synchronized (HELD) {
                if (HELD.size() >= LIMIT) {
                    HELD.removeFirst();
                }
                HELD.addLast(text);
            }
        }
    }
}
