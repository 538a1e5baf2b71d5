package io.vllmrouter.core.config;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * How the proxy admits clients: read timeouts, header and memory limits, TLS, which paths it
 * refuses, and the {@code [auth]} table (API keys and the limits applied to each). Immutable; part
 * of {@link RouterConfig} ({@link RouterConfig#access()}). Keys are held as SHA-256 digests only.
 *
 * <p>Every setter checks its value and throws {@link IllegalArgumentException} naming the TOML key,
 * the value and what is expected.
 */
public final class AccessConfig {

    public static final Duration DEFAULT_CLIENT_HEADER_TIMEOUT = Duration.ofSeconds(10);
    public static final Duration DEFAULT_CLIENT_BODY_TIMEOUT = Duration.ofSeconds(30);
    public static final Duration DEFAULT_CLIENT_IDLE_TIMEOUT = Duration.ofSeconds(60);
    public static final int DEFAULT_MAX_HEADER_BYTES = 32 * 1024;
    public static final int DEFAULT_MAX_HEADER_COUNT = 100;
    public static final long DEFAULT_MAX_BUFFERED_BODY_BYTES = 256L * 1024 * 1024;

    /** The defaults: no keys (authentication off), no TLS, the limits above. */
    public static final AccessConfig DEFAULT = builder().build();

    private final Duration clientHeaderTimeout;
    private final Duration clientBodyTimeout;
    private final Duration clientIdleTimeout;
    private final int maxHeaderBytes;
    private final int maxHeaderCount;
    private final long maxBufferedBodyBytes;
    private final boolean allowAdminPaths;
    private final Path tlsCertFile;
    private final Path tlsKeyFile;
    private final List<String> keyDigests;
    private final byte[][] digests;
    private final Path apiKeysFile;
    private final int requestsPerMinute;
    private final int maxConcurrent;
    private final boolean protectStats;

    private AccessConfig(Builder b) {
        clientHeaderTimeout = b.clientHeaderTimeout;
        clientBodyTimeout = b.clientBodyTimeout;
        clientIdleTimeout = b.clientIdleTimeout;
        maxHeaderBytes = b.maxHeaderBytes;
        maxHeaderCount = b.maxHeaderCount;
        maxBufferedBodyBytes = b.maxBufferedBodyBytes;
        allowAdminPaths = b.allowAdminPaths;
        tlsCertFile = b.tlsCertFile;
        tlsKeyFile = b.tlsKeyFile;
        keyDigests = List.copyOf(b.keyDigests);
        digests = new byte[keyDigests.size()][];
        for (int i = 0; i < digests.length; i++) {
            digests[i] = HexFormat.of().parseHex(keyDigests.get(i));
        }
        apiKeysFile = b.apiKeysFile;
        requestsPerMinute = b.requestsPerMinute;
        maxConcurrent = b.maxConcurrent;
        protectStats = b.protectStats;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.clientHeaderTimeout = clientHeaderTimeout;
        b.clientBodyTimeout = clientBodyTimeout;
        b.clientIdleTimeout = clientIdleTimeout;
        b.maxHeaderBytes = maxHeaderBytes;
        b.maxHeaderCount = maxHeaderCount;
        b.maxBufferedBodyBytes = maxBufferedBodyBytes;
        b.allowAdminPaths = allowAdminPaths;
        b.tlsCertFile = tlsCertFile;
        b.tlsKeyFile = tlsKeyFile;
        b.keyDigests.addAll(keyDigests);
        b.apiKeysFile = apiKeysFile;
        b.requestsPerMinute = requestsPerMinute;
        b.maxConcurrent = maxConcurrent;
        b.protectStats = protectStats;
        return b;
    }

    /** {@code client_header_timeout} (s): a request's line and headers must arrive within it. */
    public Duration clientHeaderTimeout() { return clientHeaderTimeout; }
    /** {@code client_body_timeout} (s): a request's whole body must arrive within it, after its headers. */
    public Duration clientBodyTimeout() { return clientBodyTimeout; }
    /** {@code client_idle_timeout} (s): a connection with no request for this long is closed. */
    public Duration clientIdleTimeout() { return clientIdleTimeout; }
    /** {@code max_header_bytes}: largest request line plus headers; larger gets 431. */
    public int maxHeaderBytes() { return maxHeaderBytes; }
    /** {@code max_header_count}: most header fields in one request; more gets 431. */
    public int maxHeaderCount() { return maxHeaderCount; }
    /** {@code max_buffered_body_bytes}: request-body memory held across all connections; beyond it 503. */
    public long maxBufferedBodyBytes() { return maxBufferedBodyBytes; }
    /** {@code allow_admin_paths}: whether backend administration paths are forwarded. */
    public boolean allowAdminPaths() { return allowAdminPaths; }
    /** {@code tls_cert_file}: PEM certificate chain; with {@link #tlsKeyFile()} the proxy speaks HTTPS. */
    public Path tlsCertFile() { return tlsCertFile; }
    /** {@code tls_key_file}: PEM PKCS#8 private key, unencrypted. */
    public Path tlsKeyFile() { return tlsKeyFile; }
    /** Whether TLS is configured. */
    public boolean tls() { return tlsCertFile != null; }
    /** Whether clients must present a key ({@code [auth]} lists at least one). */
    public boolean authEnabled() { return digests.length > 0; }
    /** {@code [auth] api_keys} and {@code api_keys_file}, as hex SHA-256 digests. */
    public List<String> keyDigests() { return keyDigests; }
    /** {@code [auth] api_keys_file}, or null. */
    public Path apiKeysFile() { return apiKeysFile; }
    /** {@code [auth] requests_per_minute} per key; 0 = unlimited. */
    public int requestsPerMinute() { return requestsPerMinute; }
    /** {@code [auth] max_concurrent} requests per key; 0 = unlimited. */
    public int maxConcurrent() { return maxConcurrent; }
    /** {@code [auth] protect_stats}: whether /, /load-stats, /metrics and the dashboard need a key. */
    public boolean protectStats() { return protectStats; }

    /**
     * The digest (hex) of the listed key matching {@code presented}, or null. Every listed key is
     * compared, each in constant time, so the time taken tells nothing about the keys.
     */
    public String match(String presented) {
        if (presented == null || digests.length == 0) {
            return null;
        }
        byte[] d = sha256(presented);
        int found = -1;
        for (int i = 0; i < digests.length; i++) {
            if (MessageDigest.isEqual(d, digests[i])) {
                found = i;
            }
        }
        return found < 0 ? null : keyDigests.get(found);
    }

    static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AccessConfig c
                && clientHeaderTimeout.equals(c.clientHeaderTimeout) && clientBodyTimeout.equals(c.clientBodyTimeout)
                && clientIdleTimeout.equals(c.clientIdleTimeout) && maxHeaderBytes == c.maxHeaderBytes
                && maxHeaderCount == c.maxHeaderCount && maxBufferedBodyBytes == c.maxBufferedBodyBytes
                && allowAdminPaths == c.allowAdminPaths && Objects.equals(tlsCertFile, c.tlsCertFile)
                && Objects.equals(tlsKeyFile, c.tlsKeyFile) && keyDigests.equals(c.keyDigests)
                && Objects.equals(apiKeysFile, c.apiKeysFile) && requestsPerMinute == c.requestsPerMinute
                && maxConcurrent == c.maxConcurrent && protectStats == c.protectStats;
    }

    @Override
    public int hashCode() {
        return Objects.hash(clientHeaderTimeout, clientBodyTimeout, clientIdleTimeout, maxHeaderBytes, maxHeaderCount,
                maxBufferedBodyBytes, allowAdminPaths, tlsCertFile, tlsKeyFile, keyDigests, apiKeysFile,
                requestsPerMinute, maxConcurrent, protectStats);
    }

    @Override
    public String toString() {
        return "AccessConfig[clientHeaderTimeout=" + clientHeaderTimeout + ", clientBodyTimeout=" + clientBodyTimeout
                + ", clientIdleTimeout=" + clientIdleTimeout + ", maxHeaderBytes=" + maxHeaderBytes
                + ", maxHeaderCount=" + maxHeaderCount + ", maxBufferedBodyBytes=" + maxBufferedBodyBytes
                + ", allowAdminPaths=" + allowAdminPaths + ", tls=" + tls() + ", apiKeys=" + keyDigests.size()
                + ", requestsPerMinute=" + requestsPerMinute + ", maxConcurrent=" + maxConcurrent
                + ", protectStats=" + protectStats + "]";
    }

    /** Builds an {@link AccessConfig}; every setter validates. Not thread-safe. */
    public static final class Builder {
        private Duration clientHeaderTimeout = DEFAULT_CLIENT_HEADER_TIMEOUT;
        private Duration clientBodyTimeout = DEFAULT_CLIENT_BODY_TIMEOUT;
        private Duration clientIdleTimeout = DEFAULT_CLIENT_IDLE_TIMEOUT;
        private int maxHeaderBytes = DEFAULT_MAX_HEADER_BYTES;
        private int maxHeaderCount = DEFAULT_MAX_HEADER_COUNT;
        private long maxBufferedBodyBytes = DEFAULT_MAX_BUFFERED_BODY_BYTES;
        private boolean allowAdminPaths;
        private Path tlsCertFile;
        private Path tlsKeyFile;
        private final List<String> keyDigests = new ArrayList<>();
        private Path apiKeysFile;
        private int requestsPerMinute;
        private int maxConcurrent;
        private boolean protectStats = true;

        private Builder() {
        }

        public Builder clientHeaderTimeout(Duration d) { clientHeaderTimeout = positive("client_header_timeout", d); return this; }
        public Builder clientBodyTimeout(Duration d) { clientBodyTimeout = positive("client_body_timeout", d); return this; }
        public Builder clientIdleTimeout(Duration d) { clientIdleTimeout = positive("client_idle_timeout", d); return this; }

        public Builder maxHeaderBytes(int n) {
            if (n < 1024 || n > 16 * 1024 * 1024) {
                throw new IllegalArgumentException("max_header_bytes: " + n + " (expected: integer from 1024 to 16777216)");
            }
            maxHeaderBytes = n;
            return this;
        }

        public Builder maxHeaderCount(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("max_header_count: " + n + " (expected: integer >= 1)");
            }
            maxHeaderCount = n;
            return this;
        }

        public Builder maxBufferedBodyBytes(long n) {
            if (n < 1) {
                throw new IllegalArgumentException("max_buffered_body_bytes: " + n + " (expected: integer >= 1)");
            }
            maxBufferedBodyBytes = n;
            return this;
        }

        public Builder allowAdminPaths(boolean b) { allowAdminPaths = b; return this; }
        public Builder tlsCertFile(Path p) { tlsCertFile = p; return this; }
        public Builder tlsKeyFile(Path p) { tlsKeyFile = p; return this; }
        public Builder apiKeysFile(Path p) { apiKeysFile = p; return this; }
        public Builder protectStats(boolean b) { protectStats = b; return this; }

        /**
         * Adds a client key: the key itself, or {@code "sha256:<64 hex digits>"}, its SHA-256 digest.
         */
        public Builder apiKey(String key) {
            if (key == null || key.isBlank()) {
                throw new IllegalArgumentException("api_keys: \"\" (expected: a non-empty key, or \"sha256:<64 hex digits>\")");
            }
            if (key.startsWith("sha256:")) {
                String hex = key.substring(7).toLowerCase(java.util.Locale.ROOT);
                if (!hex.matches("[0-9a-f]{64}")) {
                    throw new IllegalArgumentException("api_keys: \"sha256:...\" (expected: \"sha256:\" followed by 64 hex digits)");
                }
                keyDigests.add(hex);
            } else {
                keyDigests.add(HexFormat.of().formatHex(sha256(key)));
            }
            return this;
        }

        public Builder requestsPerMinute(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("requests_per_minute: " + n + " (expected: integer >= 0, 0 = unlimited)");
            }
            requestsPerMinute = n;
            return this;
        }

        public Builder maxConcurrent(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("max_concurrent: " + n + " (expected: integer >= 0, 0 = unlimited)");
            }
            maxConcurrent = n;
            return this;
        }

        /** @throws IllegalArgumentException when only one of the TLS files is given */
        public AccessConfig build() {
            if ((tlsCertFile == null) != (tlsKeyFile == null)) {
                String missing = tlsCertFile == null ? "tls_cert_file" : "tls_key_file";
                throw new IllegalArgumentException(missing + ": (nothing) (expected: tls_cert_file and tls_key_file together)");
            }
            return new AccessConfig(this);
        }

        private static Duration positive(String key, Duration d) {
            Objects.requireNonNull(d, key);
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(key + ": " + d.toNanos() / 1e9 + " (expected: seconds > 0)");
            }
            return d;
        }
    }
}
