package io.vllmrouter.api;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One request to forward: method, path under the backend's root, headers and body.
 *
 * <pre>{@code
 * RouterRequest r = RouterRequest.post("/v1/chat/completions", body)
 *         .header("Content-Type", "application/json")
 *         .build();
 * }</pre>
 *
 * <p>The router reads only the top-level {@code model}, {@code stream} and {@code user} fields of a
 * JSON body and forwards the bytes unchanged. Immutable; the body array is not copied, so the caller
 * must not change it after {@link Builder#build()}.
 */
public final class RouterRequest {

    private final String method;
    private final String path;
    private final HeaderMap headers;
    private final byte[] body;
    private final String requestId;
    private final Duration timeout;

    private RouterRequest(Builder b) {
        this.method = b.method;
        this.path = b.path;
        // Built once, as the proxy does, the builder's arrays are not copied (HeaderMap.Builder).
        this.headers = b.headers.build();
        this.body = b.body;
        this.requestId = b.requestId;
        this.timeout = b.timeout;
    }

    public static Builder builder(String method, String path) {
        return new Builder(method, path);
    }

    public static Builder post(String path, byte[] body) {
        return new Builder("POST", path).body(body);
    }

    public static Builder get(String path) {
        return new Builder("GET", path);
    }

    /** Upper-case HTTP method. */
    public String method() {
        return method;
    }

    /** Path and query, starting with {@code /}, e.g. {@code /v1/chat/completions}. */
    public String path() {
        return path;
    }

    /**
     * Request headers as received; hop-by-hop headers are dropped when forwarding. A
     * {@link HeaderMap} ({@link HeaderMap#copyOf} returns it as it is).
     */
    public Map<String, List<String>> headers() {
        return headers;
    }

    /** The first value of a header, ignoring case, or {@code null}. */
    public String header(String name) {
        return headers.first(name);
    }

    /** The body bytes (never null; empty for none). Not copied: do not modify. */
    public byte[] body() {
        return body;
    }

    /**
     * An id for logs and traces, or null: the router then takes the request's {@code X-Request-Id}
     * header when it is printable (at most 200 characters), else generates one. The id goes to the
     * backend as {@code X-Request-Id}, which vLLM makes the base of its own request id.
     */
    public String requestId() {
        return requestId;
    }

    /** A per-request timeout overriding {@code request_timeout}, or null. */
    public Duration timeout() {
        return timeout;
    }

    @Override
    public String toString() {
        return method + " " + path + " (" + body.length + " bytes)";
    }

    /** Builds a {@link RouterRequest}; not thread-safe. */
    public static final class Builder {
        private final String method;
        private final String path;
        private final HeaderMap.Builder headers = HeaderMap.builder();
        private byte[] body = new byte[0];
        private String requestId;
        private Duration timeout;

        private Builder(String method, String path) {
            Objects.requireNonNull(method, "method");
            Objects.requireNonNull(path, "path");
            if (!path.startsWith("/")) {
                throw new IllegalArgumentException("path: " + path + " (expected: starts with /)");
            }
            this.method = method.toUpperCase(java.util.Locale.ROOT);
            this.path = path;
        }

        /** Adds a header value; a name repeated with the same spelling keeps all its values, in order. */
        public Builder header(String name, String value) {
            headers.add(name, value);
            return this;
        }

        /** Adds every header of {@code all}, as {@link #header} would one by one. */
        public Builder headers(Map<String, List<String>> all) {
            headers.addAll(all);
            return this;
        }

        public Builder body(byte[] body) {
            this.body = Objects.requireNonNull(body, "body");
            return this;
        }

        public Builder requestId(String requestId) {
            this.requestId = requestId;
            return this;
        }

        public Builder timeout(Duration timeout) {
            if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
                throw new IllegalArgumentException("timeout: " + timeout + " (expected: > 0)");
            }
            this.timeout = timeout;
            return this;
        }

        public RouterRequest build() {
            return new RouterRequest(this);
        }
    }
}
