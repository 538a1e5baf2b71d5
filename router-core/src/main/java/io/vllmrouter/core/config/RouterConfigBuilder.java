package io.vllmrouter.core.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Builds a {@link RouterConfig} ({@link RouterConfig#builder()}, {@link RouterConfig#toBuilder()});
 * every setter validates and throws {@link IllegalArgumentException} naming the TOML key, the value
 * and what is expected. Not thread-safe.
 */
public final class RouterConfigBuilder {
    private static final Pattern SESSION_HEADER_NAME = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");

    final List<ServerConfig> servers = new ArrayList<>();
    Duration healthCheckInterval = RouterConfig.DEFAULT_HEALTH_CHECK_INTERVAL;
    Duration healthCheckTimeout = RouterConfig.DEFAULT_HEALTH_CHECK_TIMEOUT;
    double healthCheckMinSuccessRate = RouterConfig.DEFAULT_HEALTH_CHECK_MIN_SUCCESS_RATE;
    Duration healthCheckMaxResponseTime = RouterConfig.DEFAULT_HEALTH_CHECK_MAX_RESPONSE_TIME;
    int healthCheckFailureThreshold = RouterConfig.DEFAULT_HEALTH_CHECK_FAILURE_THRESHOLD;
    int healthCheckSuccessThreshold = RouterConfig.DEFAULT_HEALTH_CHECK_SUCCESS_THRESHOLD;
    int healthCheckWindow = RouterConfig.DEFAULT_HEALTH_CHECK_WINDOW;
    Duration configReloadInterval = RouterConfig.DEFAULT_CONFIG_RELOAD_INTERVAL;
    boolean enableActiveHealthCheck = RouterConfig.DEFAULT_ENABLE_ACTIVE_HEALTH_CHECK;
    Duration requestTimeout = RouterConfig.DEFAULT_REQUEST_TIMEOUT;
    Duration connectTimeout = RouterConfig.DEFAULT_CONNECT_TIMEOUT;
    int maxRetries = RouterConfig.DEFAULT_MAX_RETRIES;
    Duration retryDelay = RouterConfig.DEFAULT_RETRY_DELAY;
    String strategy = RouterConfig.DEFAULT_STRATEGY;
    Duration metricsInterval = RouterConfig.DEFAULT_METRICS_INTERVAL;
    Duration metricsTimeout = RouterConfig.DEFAULT_METRICS_TIMEOUT;
    int metricsStaleAfter = RouterConfig.DEFAULT_METRICS_STALE_AFTER;
    Duration modelsRefreshInterval = RouterConfig.DEFAULT_MODELS_REFRESH_INTERVAL;
    double circuitBreakerFailureRate = RouterConfig.DEFAULT_CIRCUIT_BREAKER_FAILURE_RATE;
    int circuitBreakerMinimumCalls = RouterConfig.DEFAULT_CIRCUIT_BREAKER_MINIMUM_CALLS;
    int circuitBreakerWindow = RouterConfig.DEFAULT_CIRCUIT_BREAKER_WINDOW;
    Duration circuitBreakerWait = RouterConfig.DEFAULT_CIRCUIT_BREAKER_WAIT;
    int circuitBreakerHalfOpenCalls = RouterConfig.DEFAULT_CIRCUIT_BREAKER_HALF_OPEN_CALLS;
    String sessionHeader = RouterConfig.DEFAULT_SESSION_HEADER;
    int responsesAffinityMax = RouterConfig.DEFAULT_RESPONSES_AFFINITY_MAX;
    Duration responsesAffinityTtl = RouterConfig.DEFAULT_RESPONSES_AFFINITY_TTL;
    List<Integer> retryOnStatus = RouterConfig.DEFAULT_RETRY_ON_STATUS;
    Duration firstByteTimeout = RouterConfig.DEFAULT_FIRST_BYTE_TIMEOUT;
    boolean firstByteTimeoutSet;
    /** The name {@code first_token_timeout} was set under by this builder, for messages; null when not set here. */
    private String firstTokenTimeoutKey;
    boolean streamFailover;
    int streamFailoverMax = RouterConfig.DEFAULT_STREAM_FAILOVER_MAX;
    double maxInFlightFactor;
    int maxQueue;
    Duration queueTimeout = RouterConfig.DEFAULT_QUEUE_TIMEOUT;
    final Map<String, Map<String, String>> strategySettings = new TreeMap<>();
    /** Settings of {@link ConfigExtension}s, by extension name. */
    final Map<String, Object> extensions = new TreeMap<>();
    Duration speedHalfLife = RouterConfig.DEFAULT_SPEED_HALF_LIFE;
    TtftSlo ttftSlo = TtftSlo.DEFAULT;

    RouterConfigBuilder() {
    }

    RouterConfigBuilder(RouterConfig c) {
        servers.addAll(c.servers());
        healthCheckInterval = c.healthCheckInterval();
        healthCheckTimeout = c.healthCheckTimeout();
        healthCheckMinSuccessRate = c.healthCheckMinSuccessRate();
        healthCheckMaxResponseTime = c.healthCheckMaxResponseTime();
        healthCheckFailureThreshold = c.healthCheckFailureThreshold();
        healthCheckSuccessThreshold = c.healthCheckSuccessThreshold();
        healthCheckWindow = c.healthCheckWindow();
        configReloadInterval = c.configReloadInterval();
        enableActiveHealthCheck = c.enableActiveHealthCheck();
        requestTimeout = c.requestTimeout();
        connectTimeout = c.connectTimeout();
        maxRetries = c.maxRetries();
        retryDelay = c.retryDelay();
        strategy = c.strategy();
        metricsInterval = c.metricsInterval();
        metricsTimeout = c.metricsTimeout();
        metricsStaleAfter = c.metricsStaleAfter();
        modelsRefreshInterval = c.modelsRefreshInterval();
        circuitBreakerFailureRate = c.circuitBreakerFailureRate();
        circuitBreakerMinimumCalls = c.circuitBreakerMinimumCalls();
        circuitBreakerWindow = c.circuitBreakerWindow();
        circuitBreakerWait = c.circuitBreakerWait();
        circuitBreakerHalfOpenCalls = c.circuitBreakerHalfOpenCalls();
        sessionHeader = c.sessionHeader();
        responsesAffinityMax = c.responsesAffinityMax();
        responsesAffinityTtl = c.responsesAffinityTtl();
        retryOnStatus = c.retryOnStatus();
        firstByteTimeout = c.firstByteTimeoutSetting();
        firstByteTimeoutSet = c.firstByteTimeoutSet;
        streamFailover = c.streamFailover();
        streamFailoverMax = c.streamFailoverMax();
        maxInFlightFactor = c.maxInFlightFactor();
        maxQueue = c.maxQueue();
        queueTimeout = c.queueTimeout();
        strategySettings.putAll(c.strategySettings());
        extensions.putAll(c.extensions);
        speedHalfLife = c.speedHalfLife();
        ttftSlo = c.ttftSlo();
    }

    /** {@code settings} for {@code extension} (a host's own part of the file, {@link ConfigExtension}). */
    public <T> RouterConfigBuilder extension(ConfigExtension<T> extension, T settings) {
        if (Objects.requireNonNull(settings, "settings").equals(extension.defaults())) {
            extensions.remove(extension.name()); // the defaults are what an absent entry means
        } else {
            extensions.put(extension.name(), settings);
        }
        return this;
    }

    public RouterConfigBuilder server(ServerConfig server) {
        servers.add(Objects.requireNonNull(server, "server"));
        return this;
    }

    public RouterConfigBuilder servers(List<ServerConfig> all) {
        servers.clear();
        all.forEach(this::server);
        return this;
    }

    public RouterConfigBuilder healthCheckInterval(Duration d) { healthCheckInterval = positive("health_check_interval", d); return this; }
    public RouterConfigBuilder healthCheckTimeout(Duration d) { healthCheckTimeout = positive("health_check_timeout", d); return this; }
    public RouterConfigBuilder healthCheckMinSuccessRate(double r) {
        if (!(r >= 0.0 && r <= 1.0)) {
            throw new IllegalArgumentException("health_check_min_success_rate: " + r + " (expected: number between 0 and 1)");
        }
        healthCheckMinSuccessRate = r;
        return this;
    }
    public RouterConfigBuilder healthCheckMaxResponseTime(Duration d) { healthCheckMaxResponseTime = positive("health_check_max_response_time", d); return this; }
    public RouterConfigBuilder healthCheckFailureThreshold(int n) { healthCheckFailureThreshold = atLeast("health_check_failure_threshold", n, 1); return this; }
    public RouterConfigBuilder healthCheckSuccessThreshold(int n) { healthCheckSuccessThreshold = atLeast("health_check_success_threshold", n, 1); return this; }
    public RouterConfigBuilder healthCheckWindow(int n) { healthCheckWindow = atLeast("health_check_window", n, 1); return this; }
    public RouterConfigBuilder configReloadInterval(Duration d) { configReloadInterval = positive("config_reload_interval", d); return this; }
    public RouterConfigBuilder enableActiveHealthCheck(boolean b) { enableActiveHealthCheck = b; return this; }
    public RouterConfigBuilder requestTimeout(Duration d) { requestTimeout = positive("request_timeout", d); return this; }
    public RouterConfigBuilder connectTimeout(Duration d) { connectTimeout = positive("connect_timeout", d); return this; }
    public RouterConfigBuilder maxRetries(int n) { maxRetries = atLeast("max_retries", n, 0); return this; }
    public RouterConfigBuilder retryDelay(Duration d) {
        Objects.requireNonNull(d, "retry_delay");
        if (d.isNegative()) {
            throw new IllegalArgumentException("retry_delay: " + seconds(d) + " (expected: seconds >= 0)");
        }
        retryDelay = d;
        return this;
    }
    public RouterConfigBuilder strategy(String name) {
        if (name == null || !name.matches("[a-z0-9][a-z0-9-]*")) {
            throw new IllegalArgumentException("strategy: " + (name == null ? "null" : "\"" + name + "\"")
                    + " (expected: a strategy name such as \"weighted-score\", lower case letters, digits and -)");
        }
        strategy = name;
        return this;
    }
    public RouterConfigBuilder metricsInterval(Duration d) { metricsInterval = positive("metrics_interval", d); return this; }
    public RouterConfigBuilder metricsTimeout(Duration d) { metricsTimeout = positive("metrics_timeout", d); return this; }
    public RouterConfigBuilder metricsStaleAfter(int n) { metricsStaleAfter = atLeast("metrics_stale_after", n, 1); return this; }
    public RouterConfigBuilder modelsRefreshInterval(Duration d) { modelsRefreshInterval = positive("models_refresh_interval", d); return this; }
    public RouterConfigBuilder circuitBreakerFailureRate(double pct) {
        if (!(pct > 0.0 && pct <= 100.0)) {
            throw new IllegalArgumentException("circuit_breaker_failure_rate: " + pct + " (expected: percent > 0 and <= 100)");
        }
        circuitBreakerFailureRate = pct;
        return this;
    }
    public RouterConfigBuilder circuitBreakerMinimumCalls(int n) { circuitBreakerMinimumCalls = atLeast("circuit_breaker_minimum_calls", n, 1); return this; }
    public RouterConfigBuilder circuitBreakerWindow(int n) { circuitBreakerWindow = atLeast("circuit_breaker_window", n, 1); return this; }
    public RouterConfigBuilder circuitBreakerWait(Duration d) { circuitBreakerWait = positive("circuit_breaker_wait", d); return this; }
    public RouterConfigBuilder circuitBreakerHalfOpenCalls(int n) { circuitBreakerHalfOpenCalls = atLeast("circuit_breaker_half_open_calls", n, 1); return this; }
    public RouterConfigBuilder sessionHeader(String name) {
        if (name == null || !SESSION_HEADER_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("session_header: " + (name == null ? "null" : "\"" + name + "\"")
                    + " (expected: an HTTP header name such as \"X-Session-Id\")");
        }
        sessionHeader = name;
        return this;
    }

    public RouterConfigBuilder responsesAffinityMax(int n) {
        responsesAffinityMax = atLeast("responses_affinity_max", n, 0);
        return this;
    }

    public RouterConfigBuilder responsesAffinityTtl(Duration d) {
        responsesAffinityTtl = positive("responses_affinity_ttl", d);
        return this;
    }

    /** Settings of strategy {@code name} (its {@code [strategies.NAME]} table); replaces earlier ones. */
    public RouterConfigBuilder strategySettings(String name, Map<String, String> settings) {
        Objects.requireNonNull(name, "name");
        if (settings == null || settings.isEmpty()) {
            strategySettings.remove(name);
        } else {
            strategySettings.put(name, Map.copyOf(settings));
        }
        return this;
    }

    /** {@code retry_on_status}: HTTP statuses from 400 to 599; empty retries none. */
    public RouterConfigBuilder retryOnStatus(List<Integer> statuses) {
        Objects.requireNonNull(statuses, "retry_on_status");
        for (Integer st : statuses) {
            if (st == null || st < 400 || st > 599) {
                throw new IllegalArgumentException("retry_on_status: " + statuses
                        + " (expected: a list of HTTP statuses from 400 to 599, such as [500, 502, 503, 504, 429])");
            }
        }
        retryOnStatus = List.copyOf(new LinkedHashSet<>(statuses));
        return this;
    }

    /**
     * {@code first_token_timeout} (s): a stream's time to its first data event (see
     * {@link RouterConfig#firstTokenTimeout()}); when set, it must not exceed {@code request_timeout}.
     */
    public RouterConfigBuilder firstTokenTimeout(Duration d) {
        return firstTokenTimeout("first_token_timeout", d);
    }

    /**
     * {@link #firstTokenTimeout} under its former name, {@code first_byte_timeout}; not with the new one.
     *
     * @deprecated use {@link #firstTokenTimeout}
     */
    @Deprecated
    public RouterConfigBuilder firstByteTimeout(Duration d) {
        return firstTokenTimeout("first_byte_timeout", d);
    }

    private RouterConfigBuilder firstTokenTimeout(String key, Duration d) {
        if (firstTokenTimeoutKey != null && !firstTokenTimeoutKey.equals(key)) {
            throw new IllegalArgumentException(key + ": " + (d == null ? null : seconds(d))
                    + " (expected: only one of first_token_timeout and first_byte_timeout, its former name)");
        }
        firstByteTimeout = positive(key, d);
        firstByteTimeoutSet = true;
        firstTokenTimeoutKey = key;
        return this;
    }

    public RouterConfigBuilder streamFailover(boolean on) { streamFailover = on; return this; }
    public RouterConfigBuilder streamFailoverMax(int n) { streamFailoverMax = atLeast("stream_failover_max", n, 1); return this; }
    public RouterConfigBuilder maxInFlightFactor(double f) {
        if (!(f >= 0.0 && f <= 1000.0)) {
            throw new IllegalArgumentException("max_in_flight_factor: " + f + " (expected: number >= 0 and <= 1000, 0 for off)");
        }
        maxInFlightFactor = f;
        return this;
    }
    public RouterConfigBuilder maxQueue(int n) { maxQueue = atLeast("max_queue", n, 0); return this; }
    public RouterConfigBuilder queueTimeout(Duration d) { queueTimeout = positive("queue_timeout", d); return this; }

    /** {@code speed_half_life} (s): the age at which a sample of a backend's speed counts half. */
    public RouterConfigBuilder speedHalfLife(Duration d) { speedHalfLife = positive("speed_half_life", d); return this; }

    /** {@code [slo]}: the optional time-to-first-token objective. */
    public RouterConfigBuilder ttftSlo(TtftSlo slo) { ttftSlo = Objects.requireNonNull(slo, "slo"); return this; }

    /**
     * Checks the values that depend on each other (unique server URLs) and builds.
     *
     * @throws IllegalArgumentException naming the key, value and expectation
     */
    public RouterConfig build() {
        Set<String> seen = new LinkedHashSet<>();
        for (ServerConfig s : servers) {
            if (!seen.add(s.id())) {
                throw new IllegalArgumentException("servers: url " + s.id() + " appears twice (expected: each url once)");
            }
        }
        if (firstByteTimeoutSet && firstByteTimeout.compareTo(requestTimeout) > 0) {
            throw new IllegalArgumentException((firstTokenTimeoutKey != null ? firstTokenTimeoutKey : "first_token_timeout")
                    + ": " + seconds(firstByteTimeout)
                    + " (expected: seconds > 0 and <= request_timeout, " + seconds(requestTimeout) + ")");
        }
        return new RouterConfig(this);
    }

    private static Duration positive(String key, Duration d) {
        Objects.requireNonNull(d, key);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(key + ": " + seconds(d) + " (expected: seconds > 0)");
        }
        return d;
    }

    private static int atLeast(String key, int n, int min) {
        if (n < min) {
            throw new IllegalArgumentException(key + ": " + n + " (expected: integer >= " + min + ")");
        }
        return n;
    }

    private static String seconds(Duration d) {
        return String.valueOf(d.toNanos() / 1e9);
    }
}
