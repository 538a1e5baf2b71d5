package io.vllmrouter.core.transport;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One request as it goes to a backend. The router has already chosen the backend and filtered the
 * headers: hop-by-hop headers ({@code Connection} and the names it lists, {@code Keep-Alive},
 * {@code Transfer-Encoding}, {@code Upgrade}, {@code Proxy-*}, {@code TE}, {@code Trailer}), {@code Host}
 * and {@code Content-Length} are gone, and the backend's API key, when it has one, replaced the
 * caller's {@code Authorization}. A transport sends the headers as they are and sets its own
 * {@code Host} and framing.
 *
 * @param uri             the backend's base URL joined with the request's path and query
 * @param method          upper-case HTTP method
 * @param headers         headers to send, immutable
 * @param body            the body bytes, empty for none; not copied, never modified
 * @param responseTimeout time allowed from sending until the response headers, &gt; 0
 */
public record UpstreamRequest(URI uri, String method, Map<String, List<String>> headers, byte[] body,
                              Duration responseTimeout) {

    public UpstreamRequest {
        Objects.requireNonNull(uri, "uri");
        Objects.requireNonNull(method, "method");
        headers = Map.copyOf(Objects.requireNonNull(headers, "headers"));
        Objects.requireNonNull(body, "body");
        Objects.requireNonNull(responseTimeout, "responseTimeout");
        if (responseTimeout.isNegative() || responseTimeout.isZero()) {
            throw new IllegalArgumentException("responseTimeout: " + responseTimeout + " (expected: > 0)");
        }
    }

    @Override
    public String toString() {
        return method + " " + uri + " (" + body.length + " bytes)";
    }
}
