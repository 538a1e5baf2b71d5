package io.vllmrouter.api.transport;

import io.vllmrouter.api.BodyChunk;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Flow;

/**
 * A backend's status and headers, with its body still to come.
 *
 * <p>The body publisher accepts one subscriber. It sends chunks only as requested
 * ({@code request(n)}: one chunk per unit of demand), then {@code onComplete}, or {@code onError}
 * when the connection fails mid-body (a {@link TransportException} of kind
 * {@link TransportException.Kind#RESET} where the transport can tell). Each chunk's ownership passes
 * to the subscriber with {@code onNext} ({@link BodyChunk}): the transport never releases a chunk it
 * has handed on, whatever happens to the request afterwards. {@code cancel()} aborts the upstream
 * request and releases only what the transport still holds. A response whose body the router will
 * not read (a 503 before a retry) is cancelled at once.
 */
public interface UpstreamResponse {

    /** HTTP status. */
    int status();

    /** Response headers as received (the router drops hop-by-hop ones before the caller sees them). */
    Map<String, List<String>> headers();

    /** The body, demand-driven; subscribe once. */
    Flow.Publisher<BodyChunk> body();

    /** A plain response, for transports and tests. */
    static UpstreamResponse of(int status, Map<String, List<String>> headers, Flow.Publisher<BodyChunk> body) {
        Objects.requireNonNull(headers, "headers");
        Objects.requireNonNull(body, "body");
        return new UpstreamResponse() {
            @Override public int status() { return status; }
            @Override public Map<String, List<String>> headers() { return headers; }
            @Override public Flow.Publisher<BodyChunk> body() { return body; }
        };
    }
}
