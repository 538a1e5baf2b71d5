package io.vllmrouter.api;

import java.io.InputStream;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Flow;

/**
 * A backend's answer, whose body streams as the backend sends it.
 *
 * <p>{@link #body()} returns bytes as soon as they arrive (each read returns what has come, so SSE
 * events can be passed on one by one). Reading to the end completes the request; closing the
 * response before that cancels the upstream request, so the backend stops generating. Always close
 * it. Reads block; one thread reads at a time.
 *
 * <p>Servers that must not block (an event loop) take the body from {@link #bodyPublisher()}
 * instead: the same bytes, pushed as they arrive and as far as the subscriber asks.
 */
public interface RouterResponse extends AutoCloseable {

    /** The backend's HTTP status; 4xx answers are passed through as they are. */
    int status();

    /**
     * Response headers, hop-by-hop ones removed, and without {@code Content-Length} and
     * {@code Transfer-Encoding}: the body's framing is the host's to choose (see
     * {@link #contentLength()}).
     */
    Map<String, List<String>> headers();

    /**
     * The body's length in bytes as the backend declared it, or {@code -1} when it did not (a
     * stream, a chunked answer) or when the router may change the body (a stream it can resume on
     * another backend). A host that knows the length can frame the answer with it instead of
     * chunks; a body that then ends short shows as truncated.
     */
    default long contentLength() {
        return -1;
    }

    /** The first value of a header, ignoring case, or {@code null}. */
    default String header(String name) {
        Map<String, List<String>> headers = headers();
        if (headers instanceof HeaderMap h) {
            return h.first(name);
        }
        for (Map.Entry<String, List<String>> e : headers.entrySet()) {
            if (e.getKey().equalsIgnoreCase(name) && !e.getValue().isEmpty()) {
                return e.getValue().get(0);
            }
        }
        return null;
    }

    /** The body stream; the same instance on every call. */
    InputStream body();

    /**
     * The body as a demand-driven publisher, for callers that must not block. Read the body either
     * here or from {@link #body()}, not both; subscribe once.
     *
     * <ul>
     *   <li>Each item is a {@link BodyChunk}, in order, sent only as requested ({@code request(n)}):
     *       a slow subscriber slows the backend instead of filling memory.
     *   <li>A chunk becomes the subscriber's with {@code onNext}: it may be the transport's pooled
     *       memory, so the subscriber releases it exactly once when done with its bytes (after the
     *       write that sends them on completed or failed), and never reads it after that. Nothing
     *       else releases it — not {@link #close()}, a deadline or the backend failing.
     *   <li>{@code onComplete}: the whole body arrived. {@code onError}: it was cut short (backend
     *       failure or the request's deadline); what came before is not a complete answer.
     *   <li>{@code cancel()} is {@link #close()}: before the end it cancels the upstream request.
     *       Close the response in any case once done with it.
     * </ul>
     *
     * <p>The default reads {@link #body()} on a thread of its own; the router's responses override
     * it and never block.
     */
    default Flow.Publisher<BodyChunk> bodyPublisher() {
        return new InputStreamPublisher(this);
    }

    /** The backend that answered (its id, as configured). */
    String backendId();

    /** How many backends were tried, 1 when the first answered. */
    int attempts();

    /** The request id used in logs, as given or generated. */
    String requestId();

    /** Whether the body is a server-sent event stream ({@code text/event-stream}). */
    default boolean isEventStream() {
        return isEventStreamType(header("content-type"));
    }

    /** Whether a {@code Content-Type} value (may be null) is {@code text/event-stream}, with or without parameters. */
    static boolean isEventStreamType(String contentType) {
        return contentType != null && contentType.regionMatches(true, 0, "text/event-stream", 0, 17);
    }

    /** Releases the response; before the body's end this cancels the upstream request. Never throws. */
    @Override
    void close();
}
