package io.vllmrouter.api;

import java.io.InputStream;
import java.util.List;
import java.util.Map;

/**
 * A backend's answer, whose body streams as the backend sends it.
 *
 * <p>{@link #body()} returns bytes as soon as they arrive (each read returns what has come, so SSE
 * events can be passed on one by one). Reading to the end completes the request; closing the
 * response before that cancels the upstream request, so the backend stops generating. Always close
 * it. Reads block; one thread reads at a time.
 */
public interface RouterResponse extends AutoCloseable {

    /** The backend's HTTP status; 4xx answers are passed through as they are. */
    int status();

    /** Response headers, hop-by-hop ones removed. */
    Map<String, List<String>> headers();

    /** The first value of a header, ignoring case, or {@code null}. */
    default String header(String name) {
        for (Map.Entry<String, List<String>> e : headers().entrySet()) {
            if (e.getKey().equalsIgnoreCase(name) && !e.getValue().isEmpty()) {
                return e.getValue().get(0);
            }
        }
        return null;
    }

    /** The body stream; the same instance on every call. */
    InputStream body();

    /** The backend that answered (its id, as configured). */
    String backendId();

    /** How many backends were tried, 1 when the first answered. */
    int attempts();

    /** The request id used in logs, as given or generated. */
    String requestId();

    /** Whether the body is a server-sent event stream ({@code text/event-stream}). */
    default boolean isEventStream() {
        String ct = header("content-type");
        return ct != null && ct.toLowerCase(java.util.Locale.ROOT).startsWith("text/event-stream");
    }

    /** Releases the response; before the body's end this cancels the upstream request. Never throws. */
    @Override
    void close();
}
