package io.vllmrouter.api.transport;

import io.vllmrouter.api.OneLine;
import java.net.URI;
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
 * @param backend the backend's base URL as configured (the same instance for every request to it)
 * @param target  the request's path and query under that URL, starting with {@code /}; no space,
 *                control or character past U+00FF (a request line could not carry it)
 * @param method  upper-case HTTP method, an HTTP token
 * @param headers headers to send; immutable, not copied
 * @param body    the body bytes, empty for none; not copied, never modified
 */
public record UpstreamRequest(URI backend, String target, String method, Map<String, List<String>> headers,
                              byte[] body) {

    public UpstreamRequest {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(headers, "headers");
        Objects.requireNonNull(body, "body");
        if (!target.startsWith("/")) {
            throw new IllegalArgumentException("target: " + OneLine.escape(target) + " (expected: starts with /)");
        }
        if (!HttpTokens.isToken(method)) {
            throw new IllegalArgumentException("method: " + OneLine.escape(method) + " (expected: an HTTP token)");
        }
        for (int i = 0; i < target.length(); i++) {
            char c = target.charAt(i);
            if (c <= 0x20 || c == 0x7f || c > 0xff) {
                throw new IllegalArgumentException("target: " + OneLine.escape(target)
                        + " (expected: no space, control or character past U+00FF)");
            }
        }
    }

    /**
     * What goes on the request line: the backend URL's own path (without a trailing {@code /}), then
     * {@link #target()}.
     */
    public String requestTarget() {
        String base = backend.getRawPath();
        if (base == null || base.isEmpty() || base.equals("/")) {
            return target;
        }
        return (base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + target;
    }

    /**
     * The whole URL, for transports that take one; parsed on each call.
     *
     * @throws IllegalArgumentException when the target does not make a valid URI
     */
    public URI uri() {
        String s = backend.toString();
        return URI.create((s.endsWith("/") ? s.substring(0, s.length() - 1) : s) + target);
    }

    @Override
    public String toString() {
        return method + " " + backend + target + " (" + body.length + " bytes)";
    }
}
