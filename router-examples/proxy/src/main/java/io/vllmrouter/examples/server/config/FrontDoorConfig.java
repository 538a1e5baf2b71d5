package io.vllmrouter.examples.server.config;

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
 * The standalone proxy's front door: client read timeouts, header and body limits, request-body
 * memory, TLS, which paths it forwards, and the {@code [auth]} table (client keys, the limits applied
 * to each, and admin keys). The proxy's part of the configuration file, read by
 * {@link FrontDoorSettings} (the router parses the file but does not interpret these keys) and kept in
 * the router's configuration ({@link FrontDoorSettings#of}). Immutable. Keys are held as SHA-256
 * digests only.
 *
 * <p>Every setter checks its value and throws {@link IllegalArgumentException} naming the TOML key,
 * the value and what is expected.
 */
public final class FrontDoorConfig {

    public static final Duration DEFAULT_CLIENT_HEADER_TIMEOUT = Duration.ofSeconds(10);
    public static final Duration DEFAULT_CLIENT_BODY_TIMEOUT = Duration.ofSeconds(30);
    public static final Duration DEFAULT_CLIENT_IDLE_TIMEOUT = Duration.ofSeconds(60);
    public static final int DEFAULT_MAX_HEADER_BYTES = 32 * 1024;
    public static final int DEFAULT_MAX_HEADER_COUNT = 100;
    public static final long DEFAULT_MAX_BUFFERED_BODY_BYTES = 256L * 1024 * 1024;
    public static final long DEFAULT_MAX_BODY_BYTES = 32L * 1024 * 1024;

    /** The defaults: no keys (authentication off), no TLS, the limits above. */
    public static final FrontDoorConfig DEFAULT = builder().build();

    private final Duration clientHeaderTimeout;
    private final Duration clientBodyTimeout;
    private final Duration clientIdleTimeout;
    private final int maxHeaderBytes;
    private final int maxHeaderCount;
    private final long maxBufferedBodyBytes;
    private final long maxBodyBytes;
    private final boolean allowAdminPaths;
    private final Path tlsCertFile;
    private final Path tlsKeyFile;
    private final List<String> keyDigests;
    private final byte[][] digests;
    private final Path apiKeysFile;
    private final int requestsPerMinute;
    private final int maxConcurrent;
    private final boolean protectStats;
    private final List<String> adminDigests;
    private final byte[][] admins;

    private FrontDoorConfig(Builder b) {
        clientHeaderTimeout = b.clientHeaderTimeout;
        clientBodyTimeout = b.clientBodyTimeout;
        clientIdleTimeout = b.clientIdleTimeout;
        maxHeaderBytes = b.maxHeaderBytes;
        maxHeaderCount = b.maxHeaderCount;
        maxBufferedBodyBytes = b.maxBufferedBodyBytes;
        maxBodyBytes = b.maxBodyBytes;
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
        adminDigests = List.copyOf(b.adminDigests);
        admins = new byte[adminDigests.size()][];
        for (int i = 0; i < admins.length; i++) {
            admins[i] = HexFormat.of().parseHex(adminDigests.get(i));
        }
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
        b.maxBodyBytes = maxBodyBytes;
        b.allowAdminPaths = allowAdminPaths;
        b.tlsCertFile = tlsCertFile;
        b.tlsKeyFile = tlsKeyFile;
        b.keyDigests.addAll(keyDigests);
        b.apiKeysFile = apiKeysFile;
        b.requestsPerMinute = requestsPerMinute;
        b.maxConcurrent = maxConcurrent;
        b.protectStats = protectStats;
        b.adminDigests.addAll(adminDigests);
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
    /** {@code max_body_bytes}: the largest request body forwarded; larger gets 413. */
    public long maxBodyBytes() { return maxBodyBytes; }
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
    /** {@code [auth] protect_stats}: whether /, /load-stats, /metrics and the dashboard's data need a key. */
    public boolean protectStats() { return protectStats; }
    /** {@code [auth] admin_keys}, as hex SHA-256 digests: keys that open the fleet's figures and nothing else. */
    public List<String> adminKeyDigests() { return adminDigests; }

    /**
     * The digest (hex) of the listed key matching {@code presented}, or null. Every listed key is
     * compared, each in constant time, so the time taken tells nothing about the keys.
     */
    public String match(String presented) {
        return match(presented, digests, keyDigests);
    }

    /**
     * The digest (hex) of the admin key ({@code admin_keys}) matching {@code presented}, or null;
     * compared as {@link #match} does.
     */
    public String matchAdmin(String presented) {
        return match(presented, admins, adminDigests);
    }

    private static String match(String presented, byte[][] digests, List<String> hex) {
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
        return found < 0 ? null : hex.get(found);
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
        return o instanceof FrontDoorConfig c
                && clientHeaderTimeout.equals(c.clientHeaderTimeout) && clientBodyTimeout.equals(c.clientBodyTimeout)
                && clientIdleTimeout.equals(c.clientIdleTimeout) && maxHeaderBytes == c.maxHeaderBytes
                && maxHeaderCount == c.maxHeaderCount && maxBufferedBodyBytes == c.maxBufferedBodyBytes
                && maxBodyBytes == c.maxBodyBytes && adminDigests.equals(c.adminDigests)
                && allowAdminPaths == c.allowAdminPaths && Objects.equals(tlsCertFile, c.tlsCertFile)
                && Objects.equals(tlsKeyFile, c.tlsKeyFile) && keyDigests.equals(c.keyDigests)
                && Objects.equals(apiKeysFile, c.apiKeysFile) && requestsPerMinute == c.requestsPerMinute
                && maxConcurrent == c.maxConcurrent && protectStats == c.protectStats;
    }

    @Override
    public int hashCode() {
        return Objects.hash(clientHeaderTimeout, clientBodyTimeout, clientIdleTimeout, maxHeaderBytes, maxHeaderCount,
                maxBufferedBodyBytes, maxBodyBytes, adminDigests, allowAdminPaths, tlsCertFile, tlsKeyFile, keyDigests, apiKeysFile,
                requestsPerMinute, maxConcurrent, protectStats);
    }

    @Override
    public String toString() {
        return "FrontDoorConfig[clientHeaderTimeout=" + clientHeaderTimeout + ", clientBodyTimeout=" + clientBodyTimeout
                + ", clientIdleTimeout=" + clientIdleTimeout + ", maxHeaderBytes=" + maxHeaderBytes
                + ", maxHeaderCount=" + maxHeaderCount + ", maxBufferedBodyBytes=" + maxBufferedBodyBytes
                + ", maxBodyBytes=" + maxBodyBytes + ", adminKeys=" + adminDigests.size()
                + ", allowAdminPaths=" + allowAdminPaths + ", tls=" + tls() + ", apiKeys=" + keyDigests.size()
                + ", requestsPerMinute=" + requestsPerMinute + ", maxConcurrent=" + maxConcurrent
                + ", protectStats=" + protectStats + "]";
    }

    /** Builds an {@link FrontDoorConfig}; every setter validates. Not thread-safe. */
    public static final class Builder {
        private Duration clientHeaderTimeout = DEFAULT_CLIENT_HEADER_TIMEOUT;
        private Duration clientBodyTimeout = DEFAULT_CLIENT_BODY_TIMEOUT;
        private Duration clientIdleTimeout = DEFAULT_CLIENT_IDLE_TIMEOUT;
        private int maxHeaderBytes = DEFAULT_MAX_HEADER_BYTES;
        private int maxHeaderCount = DEFAULT_MAX_HEADER_COUNT;
        private long maxBufferedBodyBytes = DEFAULT_MAX_BUFFERED_BODY_BYTES;
        private long maxBodyBytes = DEFAULT_MAX_BODY_BYTES;
        private final List<String> adminDigests = new ArrayList<>();
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

        public Builder maxBodyBytes(long n) {
            if (n < 1) {
                throw new IllegalArgumentException("max_body_bytes: " + n + " (expected: integer >= 1)");
            }
            maxBodyBytes = n;
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
            keyDigests.add(digest("api_keys", key));
            return this;
        }

        /**
         * Adds an admin key (the key, or its {@code "sha256:..."} digest): it opens the fleet's
         * figures ({@code /}, {@code /load-stats}, {@code /metrics}, the dashboard's data) and nothing
         * else.
         */
        public Builder adminKey(String key) {
            adminDigests.add(digest("admin_keys", key));
            return this;
        }

        private static String digest(String list, String key) {
            if (key == null || key.isBlank()) {
                throw new IllegalArgumentException(list + ": \"\" (expected: a non-empty key, or \"sha256:<64 hex digits>\")");
            }
            if (key.startsWith("sha256:")) {
                String hex = key.substring(7).toLowerCase(java.util.Locale.ROOT);
                if (!hex.matches("[0-9a-f]{64}")) {
                    throw new IllegalArgumentException(list + ": \"sha256:...\" (expected: \"sha256:\" followed by 64 hex digits)");
                }
                return hex;
            }
            return HexFormat.of().formatHex(sha256(key));
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
        public FrontDoorConfig build() {
            if ((tlsCertFile == null) != (tlsKeyFile == null)) {
                String missing = tlsCertFile == null ? "tls_cert_file" : "tls_key_file";
                throw new IllegalArgumentException(missing + ": (nothing) (expected: tls_cert_file and tls_key_file together)");
            }
            return new FrontDoorConfig(this);
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
