package io.vllmrouter.examples.loadgen;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Flow;

/**
 * Reads one SSE response line by line without holding a thread: notes when the first
 * {@code data:} event arrived, counts events and whether the stream ended with {@code [DONE]}.
 * Use with {@code HttpClient.sendAsync(request, SseLines.handler())}; the future completes when the
 * body has been read to its end.
 *
 * <p>Fields are written by the client's thread that delivers the lines and read after the future
 * completes (which orders them).
 */
final class SseLines implements Flow.Subscriber<String> {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The answer's text so far, or null when not kept. */
    private final StringBuilder text;
    private long firstEventNanos = -1;
    private long lastEventNanos = -1;
    private long events;
    private boolean done;
    private Throwable error;

    /** A body handler whose body is a fresh {@link SseLines}, complete once the stream has ended. */
    static HttpResponse.BodyHandler<SseLines> handler() {
        return handler(false);
    }

    /** {@link #handler()} whose lines also keep the answer's text ({@link #text()}). */
    static HttpResponse.BodyHandler<SseLines> keepingText() {
        return handler(true);
    }

    private static HttpResponse.BodyHandler<SseLines> handler(boolean keepText) {
        return info -> {
            SseLines s = new SseLines(keepText);
            return HttpResponse.BodySubscribers.fromLineSubscriber(s, x -> x, StandardCharsets.UTF_8, null);
        };
    }

    private SseLines(boolean keepText) {
        this.text = keepText ? new StringBuilder() : null;
    }

    @Override
    public void onSubscribe(Flow.Subscription subscription) {
        subscription.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(String line) {
        if (!line.startsWith("data:")) {
            return;
        }
        long now = System.nanoTime();
        if (firstEventNanos < 0) {
            firstEventNanos = now;
        }
        lastEventNanos = now;
        events++;
        if (line.regionMatches(5, " [DONE]", 0, 7) || line.regionMatches(5, "[DONE]", 0, 6)) {
            done = true;
        } else if (text != null) {
            try {
                JsonNode choice = JSON.readTree(line.substring(5)).path("choices").path(0);
                JsonNode piece = choice.has("delta") ? choice.path("delta").path("content") : choice.path("text");
                if (piece.isTextual()) {
                    text.append(piece.asText());
                }
            } catch (IOException e) {
                // not an answer event: nothing to keep
            }
        }
    }

    @Override
    public void onError(Throwable throwable) {
        error = throwable;
    }

    @Override
    public void onComplete() {
    }

    /** {@link System#nanoTime()} of the first {@code data:} line, -1 when none came. */
    long firstEventNanos() { return firstEventNanos; }

    /** {@link System#nanoTime()} of the last {@code data:} line (the {@code [DONE]} one when it came). */
    long lastEventNanos() { return lastEventNanos; }

    /** {@code data:} lines received, {@code [DONE]} included. */
    long events() { return events; }

    /** Whether the stream ended with {@code data: [DONE]}. */
    boolean done() { return done; }

    /** The answer's text, or null when not kept ({@link #keepingText()}). */
    String text() { return text == null ? null : text.toString(); }

    /** What cut the body, or null. */
    Throwable error() { return error; }
}
