package io.vllmrouter.examples.logging;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.encoder.EncoderBase;

import java.nio.charset.StandardCharsets;

/**
 * Writes each event's message and a newline, in UTF-8, and nothing else: the structured log's
 * lines, which are whole JSON objects already. What the pattern {@code %msg%n} writes, without the
 * pattern layout's converters and buffer on the logging thread, once per request.
 */
public final class MessageLineEncoder extends EncoderBase<ILoggingEvent> {

    @Override
    public byte[] headerBytes() {
        return null;
    }

    @Override
    public byte[] encode(ILoggingEvent event) {
        return (event.getFormattedMessage() + '\n').getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public byte[] footerBytes() {
        return null;
    }
}
