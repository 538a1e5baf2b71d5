package io.vllmrouter.core.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The router's whole configuration, immutable. Built by {@code ConfigLoader} from TOML (keys in
 * {@code docs/configuration.md}) or in code:
 *
 * <pre>{@code
 * RouterConfig config = RouterConfig.builder()
 *         .server(new ServerConfig("http://gpu-1:8000", 4))
 *         .server(new ServerConfig("http://gpu-2:8000", 8))
 *         .requestTimeout(Duration.ofSeconds(60))
 *         .build();
 * }</pre>
 *
 * <p>Every setter checks its value and throws {@link IllegalArgumentException} naming the TOML key,
 * the value and what is expected, e.g. {@code "max_retries: -1 (expected: integer >= 0)"}.
 */
public final class RouterConfig implements io.vllmrouter.api.RouterSettings {

    public static final Duration DEFAULT_HEALTH_CHECK_INTERVAL = Duration.ofSeconds(10);
    public static final Duration DEFAULT_HEALTH_CHECK_TIMEOUT = Duration.ofSeconds(5);
    public static final double DEFAULT_HEALTH_CHECK_MIN_SUCCESS_RATE = 0.8;
    public static final Duration DEFAULT_HEALTH_CHECK_MAX_RESPONSE_TIME = Duration.ofSeconds(2);
    public static final int DEFAULT_HEALTH_CHECK_FAILURE_THRESHOLD = 3;
    public static final int DEFAULT_HEALTH_CHECK_SUCCESS_THRESHOLD = 2;
    public static final int DEFAULT_HEALTH_CHECK_WINDOW = 10;
    public static final Duration DEFAULT_CONFIG_RELOAD_INTERVAL = Duration.ofSeconds(30);
    public static final boolean DEFAULT_ENABLE_ACTIVE_HEALTH_CHECK = true;
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(120);
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
    public static final int DEFAULT_MAX_RETRIES = 3;
    public static final Duration DEFAULT_RETRY_DELAY = Duration.ofMillis(100);
    public static final String DEFAULT_STRATEGY = "weighted-score";
    public static final Duration DEFAULT_METRICS_INTERVAL = Duration.ofSeconds(2);
    public static final Duration DEFAULT_METRICS_TIMEOUT = Duration.ofSeconds(2);
    public static final int DEFAULT_METRICS_STALE_AFTER = 3;
    public static final Duration DEFAULT_MODELS_REFRESH_INTERVAL = Duration.ofSeconds(60);
    public static final double DEFAULT_CIRCUIT_BREAKER_FAILURE_RATE = 50.0;
    public static final int DEFAULT_CIRCUIT_BREAKER_MINIMUM_CALLS = 5;
    public static final int DEFAULT_CIRCUIT_BREAKER_WINDOW = 20;
    public static final Duration DEFAULT_CIRCUIT_BREAKER_WAIT = Duration.ofSeconds(15);
    public static final int DEFAULT_CIRCUIT_BREAKER_HALF_OPEN_CALLS = 2;
    /** Default {@code session_header}. */
    public static final String DEFAULT_SESSION_HEADER = "X-Session-Id";
    /** Default {@code responses_affinity_max}: Responses API ids whose server the router remembers. */
    public static final int DEFAULT_RESPONSES_AFFINITY_MAX = 100_000;
    /** Default {@code responses_affinity_ttl}: how long one is remembered. */
    public static final Duration DEFAULT_RESPONSES_AFFINITY_TTL = Duration.ofHours(24);
    /** Default {@code retry_on_status}: the statuses retried on another backend before the first byte. */
    public static final List<Integer> DEFAULT_RETRY_ON_STATUS = List.of(500, 502, 503, 504, 429);
    /** Default {@code first_token_timeout} (capped by {@code request_timeout}). */
    public static final Duration DEFAULT_FIRST_BYTE_TIMEOUT = Duration.ofSeconds(30);
    /** Default {@code stream_failover_max}: continuations tried for one streamed answer. */
    public static final int DEFAULT_STREAM_FAILOVER_MAX = 2;
    /** Default {@code queue_timeout}: the longest a request waits for a saturated fleet. */
    public static final Duration DEFAULT_QUEUE_TIMEOUT = Duration.ofSeconds(5);
    /** Default {@code speed_half_life}: how fast old samples of a backend's speed lose weight. */
    public static final Duration DEFAULT_SPEED_HALF_LIFE = Duration.ofSeconds(10);

    private final List<ServerConfig> servers;
    private final Duration healthCheckInterval;
    private final Duration healthCheckTimeout;
    private final double healthCheckMinSuccessRate;
    private final Duration healthCheckMaxResponseTime;
    private final int healthCheckFailureThreshold;
    private final int healthCheckSuccessThreshold;
    private final int healthCheckWindow;
    private final Duration configReloadInterval;
    private final boolean enableActiveHealthCheck;
    private final Duration requestTimeout;
    private final Duration connectTimeout;
    private final int maxRetries;
    private final Duration retryDelay;
    private final String strategy;
    private final Duration metricsInterval;
    private final Duration metricsTimeout;
    private final int metricsStaleAfter;
    private final Duration modelsRefreshInterval;
    private final double circuitBreakerFailureRate;
    private final int circuitBreakerMinimumCalls;
    private final int circuitBreakerWindow;
    private final Duration circuitBreakerWait;
    private final int circuitBreakerHalfOpenCalls;
    private final String sessionHeader;
    private final int responsesAffinityMax;
    private final Duration responsesAffinityTtl;
    private final List<Integer> retryOnStatus;
    private final Duration firstByteTimeout;
    final boolean firstByteTimeoutSet;
    private final boolean streamFailover;
    private final int streamFailoverMax;
    private final double maxInFlightFactor;
    private final int maxQueue;
    private final Duration queueTimeout;
    private final Map<String, Map<String, String>> strategySettings;
    /** Settings of {@link ConfigExtension}s, by extension name; package-private for the builder's copy. */
    final Map<String, Object> extensions;
    private final Duration speedHalfLife;
    private final TtftSlo ttftSlo;

    RouterConfig(RouterConfigBuilder b) {
        this.extensions = Map.copyOf(b.extensions);
        this.servers = List.copyOf(b.servers);
        this.healthCheckInterval = b.healthCheckInterval;
        this.healthCheckTimeout = b.healthCheckTimeout;
        this.healthCheckMinSuccessRate = b.healthCheckMinSuccessRate;
        this.healthCheckMaxResponseTime = b.healthCheckMaxResponseTime;
        this.healthCheckFailureThreshold = b.healthCheckFailureThreshold;
        this.healthCheckSuccessThreshold = b.healthCheckSuccessThreshold;
        this.healthCheckWindow = b.healthCheckWindow;
        this.configReloadInterval = b.configReloadInterval;
        this.enableActiveHealthCheck = b.enableActiveHealthCheck;
        this.requestTimeout = b.requestTimeout;
        this.connectTimeout = b.connectTimeout;
        this.maxRetries = b.maxRetries;
        this.retryDelay = b.retryDelay;
        this.strategy = b.strategy;
        this.metricsInterval = b.metricsInterval;
        this.metricsTimeout = b.metricsTimeout;
        this.metricsStaleAfter = b.metricsStaleAfter;
        this.modelsRefreshInterval = b.modelsRefreshInterval;
        this.circuitBreakerFailureRate = b.circuitBreakerFailureRate;
        this.circuitBreakerMinimumCalls = b.circuitBreakerMinimumCalls;
        this.circuitBreakerWindow = b.circuitBreakerWindow;
        this.circuitBreakerWait = b.circuitBreakerWait;
        this.circuitBreakerHalfOpenCalls = b.circuitBreakerHalfOpenCalls;
        this.sessionHeader = b.sessionHeader;
        this.responsesAffinityMax = b.responsesAffinityMax;
        this.responsesAffinityTtl = b.responsesAffinityTtl;
        this.retryOnStatus = List.copyOf(b.retryOnStatus);
        this.firstByteTimeout = b.firstByteTimeout;
        this.firstByteTimeoutSet = b.firstByteTimeoutSet;
        this.streamFailover = b.streamFailover;
        this.streamFailoverMax = b.streamFailoverMax;
        this.maxInFlightFactor = b.maxInFlightFactor;
        this.maxQueue = b.maxQueue;
        this.queueTimeout = b.queueTimeout;
        this.speedHalfLife = b.speedHalfLife;
        this.ttftSlo = b.ttftSlo;
        Map<String, Map<String, String>> ss = new TreeMap<>();
        b.strategySettings.forEach((k, v) -> ss.put(k, Collections.unmodifiableMap(new TreeMap<>(v))));
        this.strategySettings = Collections.unmodifiableMap(ss);
    }

    /** A builder with every setting at its default and no servers. */
    public static RouterConfigBuilder builder() {
        return new RouterConfigBuilder();
    }

    /** A builder holding this config's values, to change a few. */
    public RouterConfigBuilder toBuilder() {
        return new RouterConfigBuilder(this);
    }

    /** {@code [servers] servers}: the backends, in order; unique URLs; may be empty. */
    @Override
    public List<ServerConfig> servers() { return servers; }
    /** {@code health_check_interval} (s): time between active checks of each backend. */
    @Override
    public Duration healthCheckInterval() { return healthCheckInterval; }
    /** {@code health_check_timeout} (s): a check that takes longer fails. */
    public Duration healthCheckTimeout() { return healthCheckTimeout; }
    /** {@code health_check_min_success_rate} (0..1) over the last {@link #healthCheckWindow()} checks. */
    public double healthCheckMinSuccessRate() { return healthCheckMinSuccessRate; }
    /** {@code health_check_max_response_time} (s): a slower successful check counts as a failure. */
    public Duration healthCheckMaxResponseTime() { return healthCheckMaxResponseTime; }
    /** {@code health_check_failure_threshold}: consecutive failed checks that eject a backend. */
    public int healthCheckFailureThreshold() { return healthCheckFailureThreshold; }
    /** {@code health_check_success_threshold}: consecutive good checks that re-admit it. */
    public int healthCheckSuccessThreshold() { return healthCheckSuccessThreshold; }
    /** {@code health_check_window}: how many recent checks the success rate covers. */
    public int healthCheckWindow() { return healthCheckWindow; }
    /** {@code config_reload_interval} (s): how often the file is checked for changes. */
    @Override
    public Duration configReloadInterval() { return configReloadInterval; }
    /** {@code enable_active_health_check}: false leaves health to the circuit breakers alone. */
    public boolean enableActiveHealthCheck() { return enableActiveHealthCheck; }
    /** {@code request_timeout} (s): bound on a whole forwarded request, stream included. */
    @Override
    public Duration requestTimeout() { return requestTimeout; }
    /** {@code connect_timeout} (s): bound on opening a connection to a backend. */
    public Duration connectTimeout() { return connectTimeout; }
    /** {@code max_retries}: further backends tried after a failure before any byte reached the caller. */
    @Override
    public int maxRetries() { return maxRetries; }
    /** {@code retry_delay} (s): pause before each retry. */
    public Duration retryDelay() { return retryDelay; }
    /** {@code strategy}: the balancing strategy's name. */
    @Override
    public String strategy() { return strategy; }
    /** {@code metrics_interval} (s): time between /metrics scrapes of each backend. */
    public Duration metricsInterval() { return metricsInterval; }
    /** {@code metrics_timeout} (s): bound on one scrape. */
    public Duration metricsTimeout() { return metricsTimeout; }
    /** {@code metrics_stale_after}: intervals without a good scrape after which figures stop steering. */
    public int metricsStaleAfter() { return metricsStaleAfter; }
    /** {@code models_refresh_interval} (s): how often each backend's /v1/models is re-read. */
    public Duration modelsRefreshInterval() { return modelsRefreshInterval; }
    /** {@code circuit_breaker_failure_rate} (percent) that opens a breaker. */
    public double circuitBreakerFailureRate() { return circuitBreakerFailureRate; }
    /** {@code circuit_breaker_minimum_calls} before the failure rate is judged. */
    public int circuitBreakerMinimumCalls() { return circuitBreakerMinimumCalls; }
    /** {@code circuit_breaker_window}: calls in the breaker's sliding window. */
    public int circuitBreakerWindow() { return circuitBreakerWindow; }
    /** {@code circuit_breaker_wait} (s): time OPEN before HALF_OPEN. */
    public Duration circuitBreakerWait() { return circuitBreakerWait; }
    /** {@code circuit_breaker_half_open_calls}: trial calls in HALF_OPEN. */
    public int circuitBreakerHalfOpenCalls() { return circuitBreakerHalfOpenCalls; }
    /** {@code session_header}: the request header whose value is the affinity key when the body has no {@code user}. */
    public String sessionHeader() { return sessionHeader; }
    /**
     * {@code responses_affinity_max}: Responses API ids ({@code resp_...}) whose server the router
     * remembers, from the answers that created them; the oldest go first.
     */
    public int responsesAffinityMax() { return responsesAffinityMax; }
    /** {@code responses_affinity_ttl} (s): how long a Responses API id's server is remembered. */
    public Duration responsesAffinityTtl() { return responsesAffinityTtl; }
    /** {@code [strategies.NAME]} tables: settings per strategy name, values as text. */
    public Map<String, Map<String, String>> strategySettings() { return strategySettings; }
    /** {@code retry_on_status}: statuses retried on another backend while nothing reached the caller. */
    public List<Integer> retryOnStatus() { return retryOnStatus; }
    /**
     * {@code first_token_timeout} (s; formerly {@code first_byte_timeout}): time a streamed request's
     * backend has to send its first SSE data event (vLLM sends a stream's headers at once) before the
     * request is cancelled there and tried elsewhere; never more than {@link #requestTimeout()}.
     * Non-streaming requests are bounded by {@code request_timeout} alone: vLLM sends their headers
     * only once the whole answer is generated.
     */
    public Duration firstTokenTimeout() {
        return firstByteTimeout.compareTo(requestTimeout) > 0 ? requestTimeout : firstByteTimeout;
    }
    /** {@link #firstTokenTimeout()} under its former name, {@code first_byte_timeout}. */
    public Duration firstByteTimeout() {
        return firstTokenTimeout();
    }
    /** {@code stream_failover}: a streamed completion cut mid-answer is continued on another backend. */
    public boolean streamFailover() { return streamFailover; }
    /** {@code stream_failover_max}: continuation attempts for one streamed answer. */
    public int streamFailoverMax() { return streamFailoverMax; }
    /**
     * {@code max_in_flight_factor}: a backend with this router's in-flight requests at
     * {@code max_concurrent_requests} times this is saturated and gets no more; 0 (default) is off.
     */
    public double maxInFlightFactor() { return maxInFlightFactor; }
    /** {@code max_queue}: requests that may wait while every backend is saturated; 0 answers 429 at once. */
    public int maxQueue() { return maxQueue; }
    /** {@code queue_timeout} (s): the longest a request waits in that queue before its 429. */
    public Duration queueTimeout() { return queueTimeout; }
    /** {@code speed_half_life} (s): the age at which a sample of a backend's speed counts half. */
    public Duration speedHalfLife() { return speedHalfLife; }
    /** {@code [slo]}: the optional time-to-first-token objective. */
    public TtftSlo ttftSlo() { return ttftSlo; }
    /** The configured {@code first_token_timeout}, uncapped (for the builder). */
    Duration firstByteTimeoutSetting() { return firstByteTimeout; }
    /**
     * The settings of {@code extension} (a host's own part of the file), or its defaults when the
     * configuration has none.
     */
    @SuppressWarnings("unchecked")
    public <T> T extension(ConfigExtension<T> extension) {
        Object v = extensions.get(extension.name());
        return v == null ? extension.defaults() : (T) v;
    }
    /** The settings of strategy {@code name}; empty when it has none. */
    public Map<String, String> strategySettings(String name) {
        return strategySettings.getOrDefault(name, Map.of());
    }

    /**
     * Value equality over every setting, secrets included: {@link #toString()} masks API keys, so
     * comparing it would hide a rotated key from the reload watcher.
     */
    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        return o instanceof RouterConfig c
                && servers.equals(c.servers)
                && healthCheckInterval.equals(c.healthCheckInterval)
                && healthCheckTimeout.equals(c.healthCheckTimeout)
                && Double.compare(healthCheckMinSuccessRate, c.healthCheckMinSuccessRate) == 0
                && healthCheckMaxResponseTime.equals(c.healthCheckMaxResponseTime)
                && healthCheckFailureThreshold == c.healthCheckFailureThreshold
                && healthCheckSuccessThreshold == c.healthCheckSuccessThreshold
                && healthCheckWindow == c.healthCheckWindow
                && configReloadInterval.equals(c.configReloadInterval)
                && enableActiveHealthCheck == c.enableActiveHealthCheck
                && requestTimeout.equals(c.requestTimeout)
                && connectTimeout.equals(c.connectTimeout)
                && maxRetries == c.maxRetries
                && retryDelay.equals(c.retryDelay)
                && strategy.equals(c.strategy)
                && metricsInterval.equals(c.metricsInterval)
                && metricsTimeout.equals(c.metricsTimeout)
                && metricsStaleAfter == c.metricsStaleAfter
                && modelsRefreshInterval.equals(c.modelsRefreshInterval)
                && Double.compare(circuitBreakerFailureRate, c.circuitBreakerFailureRate) == 0
                && circuitBreakerMinimumCalls == c.circuitBreakerMinimumCalls
                && circuitBreakerWindow == c.circuitBreakerWindow
                && circuitBreakerWait.equals(c.circuitBreakerWait)
                && circuitBreakerHalfOpenCalls == c.circuitBreakerHalfOpenCalls
                && sessionHeader.equals(c.sessionHeader)
                && responsesAffinityMax == c.responsesAffinityMax
                && responsesAffinityTtl.equals(c.responsesAffinityTtl)
                && retryOnStatus.equals(c.retryOnStatus)
                && firstByteTimeout.equals(c.firstByteTimeout)
                && streamFailover == c.streamFailover
                && streamFailoverMax == c.streamFailoverMax
                && Double.compare(maxInFlightFactor, c.maxInFlightFactor) == 0
                && maxQueue == c.maxQueue
                && queueTimeout.equals(c.queueTimeout)
                && strategySettings.equals(c.strategySettings)
                && extensions.equals(c.extensions)
                && speedHalfLife.equals(c.speedHalfLife)
                && ttftSlo.equals(c.ttftSlo);
    }

    @Override
    public int hashCode() {
        return Objects.hash(servers, healthCheckInterval, healthCheckTimeout, healthCheckMinSuccessRate,
                healthCheckMaxResponseTime, healthCheckFailureThreshold, healthCheckSuccessThreshold,
                healthCheckWindow, configReloadInterval, enableActiveHealthCheck, requestTimeout, connectTimeout,
                maxRetries, retryDelay, strategy, metricsInterval, metricsTimeout, metricsStaleAfter,
                modelsRefreshInterval, circuitBreakerFailureRate, circuitBreakerMinimumCalls, circuitBreakerWindow,
                circuitBreakerWait, circuitBreakerHalfOpenCalls, sessionHeader, strategySettings,
                retryOnStatus, firstByteTimeout, streamFailover, streamFailoverMax, maxInFlightFactor, maxQueue,
                queueTimeout, extensions, responsesAffinityMax, responsesAffinityTtl, speedHalfLife, ttftSlo);
    }

    @Override
    public String toString() {
        return "RouterConfig[servers=" + servers + ", healthCheckInterval=" + healthCheckInterval
                + ", healthCheckTimeout=" + healthCheckTimeout + ", healthCheckMinSuccessRate=" + healthCheckMinSuccessRate
                + ", healthCheckMaxResponseTime=" + healthCheckMaxResponseTime
                + ", healthCheckFailureThreshold=" + healthCheckFailureThreshold
                + ", healthCheckSuccessThreshold=" + healthCheckSuccessThreshold + ", healthCheckWindow=" + healthCheckWindow
                + ", configReloadInterval=" + configReloadInterval + ", enableActiveHealthCheck=" + enableActiveHealthCheck
                + ", requestTimeout=" + requestTimeout + ", connectTimeout=" + connectTimeout + ", maxRetries=" + maxRetries
                + ", retryDelay=" + retryDelay + ", strategy=" + strategy + ", metricsInterval=" + metricsInterval
                + ", metricsTimeout=" + metricsTimeout + ", metricsStaleAfter=" + metricsStaleAfter
                + ", modelsRefreshInterval=" + modelsRefreshInterval
                + ", circuitBreakerFailureRate=" + circuitBreakerFailureRate
                + ", circuitBreakerMinimumCalls=" + circuitBreakerMinimumCalls + ", circuitBreakerWindow=" + circuitBreakerWindow
                + ", circuitBreakerWait=" + circuitBreakerWait + ", circuitBreakerHalfOpenCalls=" + circuitBreakerHalfOpenCalls
                + ", sessionHeader=" + sessionHeader
                + ", responsesAffinityMax=" + responsesAffinityMax + ", responsesAffinityTtl=" + responsesAffinityTtl
                + ", retryOnStatus=" + retryOnStatus + ", firstByteTimeout=" + firstByteTimeout
                + ", streamFailover=" + streamFailover + ", streamFailoverMax=" + streamFailoverMax
                + ", maxInFlightFactor=" + maxInFlightFactor + ", maxQueue=" + maxQueue + ", queueTimeout=" + queueTimeout
                + ", strategySettings=" + strategySettings + ", extensions=" + extensions
                + ", speedHalfLife=" + speedHalfLife + ", ttftSlo=" + ttftSlo + "]";
    }
}
