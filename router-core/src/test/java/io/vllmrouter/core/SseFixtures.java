package io.vllmrouter.core;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** The SSE fixtures under {@code src/test/resources/fixtures/sse} (see its README) and their line-end variants. */
final class SseFixtures {

    static final List<String> ALL = List.of("chat.sse", "chat-usage.sse", "chat-continuous-usage.sse",
            "chat-reasoning.sse", "chat-reasoning-content.sse", "completions.sse", "chat-error.sse",
            "chat-error-first.sse");

    private SseFixtures() {
    }

    /** The fixture's text, as vLLM sends it (LF line ends). */
    static String text(String name) {
        try (InputStream in = SseFixtures.class.getResourceAsStream("/fixtures/sse/" + name)) {
            if (in == null) {
                throw new IllegalArgumentException("no fixture " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code lf} with every LF line end replaced by {@code lineEnd} ("\r\n" or "\r"); the data holds no LF. */
    static String withLineEnds(String lf, String lineEnd) {
        return lf.replace("\n", lineEnd);
    }

    /** The fixture's events, each with its blank line. */
    static List<String> events(String lf) {
        return List.of(lf.split("(?<=\n\n)"));
    }
}
