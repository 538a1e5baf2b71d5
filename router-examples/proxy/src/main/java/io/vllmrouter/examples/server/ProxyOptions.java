package io.vllmrouter.examples.server;

import java.time.Duration;
import java.util.Objects;

/**
 * How a {@link ProxyServer} listens and behaves. Immutable; built with {@link #builder()}.
 *
 * <pre>{@code
 * ProxyOptions options = ProxyOptions.builder().host("127.0.0.1").port(0).metrics(metrics).build();
 * }</pre>
 */
public final class ProxyOptions {

    public static final String DEFAULT_HOST = "0.0.0.0";
    public static final int DEFAULT_PORT = 8888;
    public static final Duration DEFAULT_GRACE = Duration.ofSeconds(10);
    public static final int DEFAULT_MAX_CONCURRENT_STREAMS = 1000;
    public static final Duration DEFAULT_CLOSE_GRACE = Duration.ofSeconds(5);

    private final String host;
    private final int port;
    private final long maxBodyBytes;
    private final Duration grace;
    private final ProxyMetrics metrics;
    private final String version;
    private final EventLoops eventLoops;
    private final int maxConcurrentStreams;
    private final Duration closeGrace;

    private ProxyOptions(Builder b) {
        this.host = b.host;
        this.port = b.port;
        this.maxBodyBytes = b.maxBodyBytes;
        this.grace = b.grace;
        this.metrics = b.metrics != null ? b.metrics : new ProxyMetrics();
        this.version = b.version;
        this.eventLoops = b.eventLoops;
        this.maxConcurrentStreams = b.maxConcurrentStreams;
        this.closeGrace = b.closeGrace;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The address to bind; {@code 0.0.0.0} listens on every interface. */
    public String host() { return host; }

    /** The port to bind; 0 picks a free one ({@link ProxyServer#port()} tells which). */
    public int port() { return port; }

    /**
     * Largest request body accepted, or -1 to follow the router's {@code max_body_bytes} (read per
     * request, so a reload applies at once).
     */
    public long maxBodyBytes() { return maxBodyBytes; }

    /** How long {@link ProxyServer#close()} lets in-flight requests finish. */
    public Duration grace() { return grace; }

    /**
     * The metrics {@code /metrics} exposes. Pass the same instance as (part of) the router's
     * listener so request counters are fed; a server built without one still exposes the gauges
     * read from {@code stats()}.
     */
    public ProxyMetrics metrics() { return metrics; }

    /** The version shown by {@code GET /}. */
    public String version() { return version; }

    /**
     * The event loops to serve on, shared with the router's {@code NettyTransport}; null (the
     * default): the server starts its own, one per core, and stops them with itself.
     */
    public EventLoops eventLoops() { return eventLoops; }

    /**
     * Streams an HTTP/2 (h2c) client may have open at once on one connection (its
     * SETTINGS_MAX_CONCURRENT_STREAMS); more connections carry more. Default 1000.
     */
    public int maxConcurrentStreams() { return maxConcurrentStreams; }

    /**
     * How long a client connection the proxy ends (an answer cut short, an idle connection, a late
     * request, an answer with {@code Connection: close}) may wait, shut down on the proxy's side, for
     * the client to close it before it is reset; a client still taking what the socket holds (Linux)
     * is given it again from the last byte sent. An HTTP/2 stream cut short is closed by then.
     * Default 5 s.
     */
    public Duration closeGrace() { return closeGrace; }

    /** Builds {@link ProxyOptions}; every setter validates. Not thread-safe. */
    public static final class Builder {
        private String host = DEFAULT_HOST;
        private int port = DEFAULT_PORT;
        private long maxBodyBytes = -1;
        private Duration grace = DEFAULT_GRACE;
        private ProxyMetrics metrics;
        private String version = "dev";
        private EventLoops eventLoops;
        private int maxConcurrentStreams = DEFAULT_MAX_CONCURRENT_STREAMS;
        private Duration closeGrace = DEFAULT_CLOSE_GRACE;

        private Builder() {
        }

        public Builder host(String host) {
            Objects.requireNonNull(host, "host");
            if (host.isBlank()) {
                throw new IllegalArgumentException("host: \"" + host + "\" (expected: a host name or address)");
            }
            this.host = host;
            return this;
        }

        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port: " + port + " (expected: 0..65535, 0 = any free port)");
            }
            this.port = port;
            return this;
        }

        public Builder maxBodyBytes(long maxBodyBytes) {
            if (maxBodyBytes < 1 && maxBodyBytes != -1) {
                throw new IllegalArgumentException("maxBodyBytes: " + maxBodyBytes
                        + " (expected: >= 1, or -1 for the router's max_body_bytes)");
            }
            this.maxBodyBytes = maxBodyBytes;
            return this;
        }

        public Builder grace(Duration grace) {
            Objects.requireNonNull(grace, "grace");
            if (grace.isNegative()) {
                throw new IllegalArgumentException("grace: " + grace + " (expected: >= 0)");
            }
            this.grace = grace;
            return this;
        }

        public Builder metrics(ProxyMetrics metrics) {
            this.metrics = Objects.requireNonNull(metrics, "metrics");
            return this;
        }

        public Builder version(String version) {
            this.version = Objects.requireNonNull(version, "version");
            return this;
        }

        public Builder eventLoops(EventLoops eventLoops) {
            this.eventLoops = Objects.requireNonNull(eventLoops, "eventLoops");
            return this;
        }

        public Builder maxConcurrentStreams(int maxConcurrentStreams) {
            if (maxConcurrentStreams < 1) {
                throw new IllegalArgumentException("maxConcurrentStreams: " + maxConcurrentStreams
                        + " (expected: >= 1, streams per HTTP/2 connection)");
            }
            this.maxConcurrentStreams = maxConcurrentStreams;
            return this;
        }

        public Builder closeGrace(Duration closeGrace) {
            Objects.requireNonNull(closeGrace, "closeGrace");
            if (closeGrace.isNegative()) {
                throw new IllegalArgumentException("closeGrace: " + closeGrace + " (expected: >= 0)");
            }
            this.closeGrace = closeGrace;
            return this;
        }

        public ProxyOptions build() {
            return new ProxyOptions(this);
        }
    }
}
