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
    public static final long DEFAULT_MAX_BODY_BYTES = 32L * 1024 * 1024;
    /** Default {@code session_header}. */
    public static final String DEFAULT_SESSION_HEADER = "X-Session-Id";
    /** Default {@code retry_on_status}: the statuses retried on another backend before the first byte. */
    public static final List<Integer> DEFAULT_RETRY_ON_STATUS = List.of(500, 502, 503, 504, 429);
    /** Default {@code first_byte_timeout} (capped by {@code request_timeout}). */
    public static final Duration DEFAULT_FIRST_BYTE_TIMEOUT = Duration.ofSeconds(30);
    /** Default {@code stream_failover_max}: continuations tried for one streamed answer. */
    public static final int DEFAULT_STREAM_FAILOVER_MAX = 2;
    /** Default {@code queue_timeout}: the longest a request waits for a saturated fleet. */
    public static final Duration DEFAULT_QUEUE_TIMEOUT = Duration.ofSeconds(5);
    private static final Pattern SESSION_HEADER_NAME = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");

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
    private final long maxBodyBytes;
    private final String sessionHeader;
    private final List<Integer> retryOnStatus;
    private final Duration firstByteTimeout;
    private final boolean firstByteTimeoutSet;
    private final boolean streamFailover;
    private final int streamFailoverMax;
    private final double maxInFlightFactor;
    private final int maxQueue;
    private final Duration queueTimeout;
    private final Map<String, Map<String, String>> strategySettings;

    private RouterConfig(Builder b) {
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
        this.maxBodyBytes = b.maxBodyBytes;
        this.sessionHeader = b.sessionHeader;
        this.retryOnStatus = List.copyOf(b.retryOnStatus);
        this.firstByteTimeout = b.firstByteTimeout;
        this.firstByteTimeoutSet = b.firstByteTimeoutSet;
        this.streamFailover = b.streamFailover;
        this.streamFailoverMax = b.streamFailoverMax;
        this.maxInFlightFactor = b.maxInFlightFactor;
        this.maxQueue = b.maxQueue;
        this.queueTimeout = b.queueTimeout;
        Map<String, Map<String, String>> ss = new TreeMap<>();
        b.strategySettings.forEach((k, v) -> ss.put(k, Collections.unmodifiableMap(new TreeMap<>(v))));
        this.strategySettings = Collections.unmodifiableMap(ss);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this config's values, to change a few. */
    public Builder toBuilder() {
        return new Builder(this);
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
    /** {@code max_body_bytes}: the proxy answers 413 for larger request bodies. */
    @Override
    public long maxBodyBytes() { return maxBodyBytes; }
    /** {@code session_header}: the request header whose value is the affinity key when the body has no {@code user}. */
    public String sessionHeader() { return sessionHeader; }
    /** {@code retry_on_status}: statuses retried on another backend while nothing reached the caller. */
    public List<Integer> retryOnStatus() { return retryOnStatus; }
    /**
     * {@code first_byte_timeout} (s): time a backend has to send its response headers before the
     * request is cancelled there and tried elsewhere; never more than {@link #requestTimeout()}.
     */
    public Duration firstByteTimeout() {
        return firstByteTimeout.compareTo(requestTimeout) > 0 ? requestTimeout : firstByteTimeout;
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
    /** {@code [strategies.NAME]} tables: settings per strategy name, values as text. */
    public Map<String, Map<String, String>> strategySettings() { return strategySettings; }
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
                && maxBodyBytes == c.maxBodyBytes
                && sessionHeader.equals(c.sessionHeader)
                && retryOnStatus.equals(c.retryOnStatus)
                && firstByteTimeout.equals(c.firstByteTimeout)
                && streamFailover == c.streamFailover
                && streamFailoverMax == c.streamFailoverMax
                && Double.compare(maxInFlightFactor, c.maxInFlightFactor) == 0
                && maxQueue == c.maxQueue
                && queueTimeout.equals(c.queueTimeout)
                && strategySettings.equals(c.strategySettings);
    }

    @Override
    public int hashCode() {
        return Objects.hash(servers, healthCheckInterval, healthCheckTimeout, healthCheckMinSuccessRate,
                healthCheckMaxResponseTime, healthCheckFailureThreshold, healthCheckSuccessThreshold,
                healthCheckWindow, configReloadInterval, enableActiveHealthCheck, requestTimeout, connectTimeout,
                maxRetries, retryDelay, strategy, metricsInterval, metricsTimeout, metricsStaleAfter,
                modelsRefreshInterval, circuitBreakerFailureRate, circuitBreakerMinimumCalls, circuitBreakerWindow,
                circuitBreakerWait, circuitBreakerHalfOpenCalls, maxBodyBytes, sessionHeader, strategySettings,
                retryOnStatus, firstByteTimeout, streamFailover, streamFailoverMax, maxInFlightFactor, maxQueue,
                queueTimeout);
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
                + ", maxBodyBytes=" + maxBodyBytes + ", sessionHeader=" + sessionHeader
                + ", retryOnStatus=" + retryOnStatus + ", firstByteTimeout=" + firstByteTimeout
                + ", streamFailover=" + streamFailover + ", streamFailoverMax=" + streamFailoverMax
                + ", maxInFlightFactor=" + maxInFlightFactor + ", maxQueue=" + maxQueue + ", queueTimeout=" + queueTimeout
                + ", strategySettings=" + strategySettings + "]";
    }

    /** Builds a {@link RouterConfig}; every setter validates. Not thread-safe. */
    public static final class Builder {
        private final List<ServerConfig> servers = new ArrayList<>();
        private Duration healthCheckInterval = DEFAULT_HEALTH_CHECK_INTERVAL;
        private Duration healthCheckTimeout = DEFAULT_HEALTH_CHECK_TIMEOUT;
        private double healthCheckMinSuccessRate = DEFAULT_HEALTH_CHECK_MIN_SUCCESS_RATE;
        private Duration healthCheckMaxResponseTime = DEFAULT_HEALTH_CHECK_MAX_RESPONSE_TIME;
        private int healthCheckFailureThreshold = DEFAULT_HEALTH_CHECK_FAILURE_THRESHOLD;
        private int healthCheckSuccessThreshold = DEFAULT_HEALTH_CHECK_SUCCESS_THRESHOLD;
        private int healthCheckWindow = DEFAULT_HEALTH_CHECK_WINDOW;
        private Duration configReloadInterval = DEFAULT_CONFIG_RELOAD_INTERVAL;
        private boolean enableActiveHealthCheck = DEFAULT_ENABLE_ACTIVE_HEALTH_CHECK;
        private Duration requestTimeout = DEFAULT_REQUEST_TIMEOUT;
        private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
        private int maxRetries = DEFAULT_MAX_RETRIES;
        private Duration retryDelay = DEFAULT_RETRY_DELAY;
        private String strategy = DEFAULT_STRATEGY;
        private Duration metricsInterval = DEFAULT_METRICS_INTERVAL;
        private Duration metricsTimeout = DEFAULT_METRICS_TIMEOUT;
        private int metricsStaleAfter = DEFAULT_METRICS_STALE_AFTER;
        private Duration modelsRefreshInterval = DEFAULT_MODELS_REFRESH_INTERVAL;
        private double circuitBreakerFailureRate = DEFAULT_CIRCUIT_BREAKER_FAILURE_RATE;
        private int circuitBreakerMinimumCalls = DEFAULT_CIRCUIT_BREAKER_MINIMUM_CALLS;
        private int circuitBreakerWindow = DEFAULT_CIRCUIT_BREAKER_WINDOW;
        private Duration circuitBreakerWait = DEFAULT_CIRCUIT_BREAKER_WAIT;
        private int circuitBreakerHalfOpenCalls = DEFAULT_CIRCUIT_BREAKER_HALF_OPEN_CALLS;
        private long maxBodyBytes = DEFAULT_MAX_BODY_BYTES;
        private String sessionHeader = DEFAULT_SESSION_HEADER;
        private List<Integer> retryOnStatus = DEFAULT_RETRY_ON_STATUS;
        private Duration firstByteTimeout = DEFAULT_FIRST_BYTE_TIMEOUT;
        private boolean firstByteTimeoutSet;
        private boolean streamFailover;
        private int streamFailoverMax = DEFAULT_STREAM_FAILOVER_MAX;
        private double maxInFlightFactor;
        private int maxQueue;
        private Duration queueTimeout = DEFAULT_QUEUE_TIMEOUT;
        private final Map<String, Map<String, String>> strategySettings = new TreeMap<>();

        private Builder() {
        }

        private Builder(RouterConfig c) {
            servers.addAll(c.servers);
            healthCheckInterval = c.healthCheckInterval;
            healthCheckTimeout = c.healthCheckTimeout;
            healthCheckMinSuccessRate = c.healthCheckMinSuccessRate;
            healthCheckMaxResponseTime = c.healthCheckMaxResponseTime;
            healthCheckFailureThreshold = c.healthCheckFailureThreshold;
            healthCheckSuccessThreshold = c.healthCheckSuccessThreshold;
            healthCheckWindow = c.healthCheckWindow;
            configReloadInterval = c.configReloadInterval;
            enableActiveHealthCheck = c.enableActiveHealthCheck;
            requestTimeout = c.requestTimeout;
            connectTimeout = c.connectTimeout;
            maxRetries = c.maxRetries;
            retryDelay = c.retryDelay;
            strategy = c.strategy;
            metricsInterval = c.metricsInterval;
            metricsTimeout = c.metricsTimeout;
            metricsStaleAfter = c.metricsStaleAfter;
            modelsRefreshInterval = c.modelsRefreshInterval;
            circuitBreakerFailureRate = c.circuitBreakerFailureRate;
            circuitBreakerMinimumCalls = c.circuitBreakerMinimumCalls;
            circuitBreakerWindow = c.circuitBreakerWindow;
            circuitBreakerWait = c.circuitBreakerWait;
            circuitBreakerHalfOpenCalls = c.circuitBreakerHalfOpenCalls;
            maxBodyBytes = c.maxBodyBytes;
            sessionHeader = c.sessionHeader;
            retryOnStatus = c.retryOnStatus;
            firstByteTimeout = c.firstByteTimeout;
            firstByteTimeoutSet = c.firstByteTimeoutSet;
            streamFailover = c.streamFailover;
            streamFailoverMax = c.streamFailoverMax;
            maxInFlightFactor = c.maxInFlightFactor;
            maxQueue = c.maxQueue;
            queueTimeout = c.queueTimeout;
            strategySettings.putAll(c.strategySettings);
        }

        public Builder server(ServerConfig server) {
            servers.add(Objects.requireNonNull(server, "server"));
            return this;
        }

        public Builder servers(List<ServerConfig> all) {
            servers.clear();
            all.forEach(this::server);
            return this;
        }

        public Builder healthCheckInterval(Duration d) { healthCheckInterval = positive("health_check_interval", d); return this; }
        public Builder healthCheckTimeout(Duration d) { healthCheckTimeout = positive("health_check_timeout", d); return this; }
        public Builder healthCheckMinSuccessRate(double r) {
            if (!(r >= 0.0 && r <= 1.0)) {
                throw new IllegalArgumentException("health_check_min_success_rate: " + r + " (expected: number between 0 and 1)");
            }
            healthCheckMinSuccessRate = r;
            return this;
        }
        public Builder healthCheckMaxResponseTime(Duration d) { healthCheckMaxResponseTime = positive("health_check_max_response_time", d); return this; }
        public Builder healthCheckFailureThreshold(int n) { healthCheckFailureThreshold = atLeast("health_check_failure_threshold", n, 1); return this; }
        public Builder healthCheckSuccessThreshold(int n) { healthCheckSuccessThreshold = atLeast("health_check_success_threshold", n, 1); return this; }
        public Builder healthCheckWindow(int n) { healthCheckWindow = atLeast("health_check_window", n, 1); return this; }
        public Builder configReloadInterval(Duration d) { configReloadInterval = positive("config_reload_interval", d); return this; }
        public Builder enableActiveHealthCheck(boolean b) { enableActiveHealthCheck = b; return this; }
        public Builder requestTimeout(Duration d) { requestTimeout = positive("request_timeout", d); return this; }
        public Builder connectTimeout(Duration d) { connectTimeout = positive("connect_timeout", d); return this; }
        public Builder maxRetries(int n) { maxRetries = atLeast("max_retries", n, 0); return this; }
        public Builder retryDelay(Duration d) {
            Objects.requireNonNull(d, "retry_delay");
            if (d.isNegative()) {
                throw new IllegalArgumentException("retry_delay: " + seconds(d) + " (expected: seconds >= 0)");
            }
            retryDelay = d;
            return this;
        }
        public Builder strategy(String name) {
            if (name == null || !name.matches("[a-z0-9][a-z0-9-]*")) {
                throw new IllegalArgumentException("strategy: " + (name == null ? "null" : "\"" + name + "\"")
                        + " (expected: a strategy name such as \"weighted-score\", lower case letters, digits and -)");
            }
            strategy = name;
            return this;
        }
        public Builder metricsInterval(Duration d) { metricsInterval = positive("metrics_interval", d); return this; }
        public Builder metricsTimeout(Duration d) { metricsTimeout = positive("metrics_timeout", d); return this; }
        public Builder metricsStaleAfter(int n) { metricsStaleAfter = atLeast("metrics_stale_after", n, 1); return this; }
        public Builder modelsRefreshInterval(Duration d) { modelsRefreshInterval = positive("models_refresh_interval", d); return this; }
        public Builder circuitBreakerFailureRate(double pct) {
            if (!(pct > 0.0 && pct <= 100.0)) {
                throw new IllegalArgumentException("circuit_breaker_failure_rate: " + pct + " (expected: percent > 0 and <= 100)");
            }
            circuitBreakerFailureRate = pct;
            return this;
        }
        public Builder circuitBreakerMinimumCalls(int n) { circuitBreakerMinimumCalls = atLeast("circuit_breaker_minimum_calls", n, 1); return this; }
        public Builder circuitBreakerWindow(int n) { circuitBreakerWindow = atLeast("circuit_breaker_window", n, 1); return this; }
        public Builder circuitBreakerWait(Duration d) { circuitBreakerWait = positive("circuit_breaker_wait", d); return this; }
        public Builder circuitBreakerHalfOpenCalls(int n) { circuitBreakerHalfOpenCalls = atLeast("circuit_breaker_half_open_calls", n, 1); return this; }
        public Builder sessionHeader(String name) {
            if (name == null || !SESSION_HEADER_NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("session_header: " + (name == null ? "null" : "\"" + name + "\"")
                        + " (expected: an HTTP header name such as \"X-Session-Id\")");
            }
            sessionHeader = name;
            return this;
        }

        /** {@code retry_on_status}: HTTP statuses from 400 to 599; empty retries none. */
        public Builder retryOnStatus(List<Integer> statuses) {
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

        /** {@code first_byte_timeout} (s); when set, it must not exceed {@code request_timeout}. */
        public Builder firstByteTimeout(Duration d) {
            firstByteTimeout = positive("first_byte_timeout", d);
            firstByteTimeoutSet = true;
            return this;
        }

        public Builder streamFailover(boolean on) { streamFailover = on; return this; }
        public Builder streamFailoverMax(int n) { streamFailoverMax = atLeast("stream_failover_max", n, 1); return this; }
        public Builder maxInFlightFactor(double f) {
            if (!(f >= 0.0 && f <= 1000.0)) {
                throw new IllegalArgumentException("max_in_flight_factor: " + f + " (expected: number >= 0 and <= 1000, 0 for off)");
            }
            maxInFlightFactor = f;
            return this;
        }
        public Builder maxQueue(int n) { maxQueue = atLeast("max_queue", n, 0); return this; }
        public Builder queueTimeout(Duration d) { queueTimeout = positive("queue_timeout", d); return this; }

        /** Settings of strategy {@code name} (its {@code [strategies.NAME]} table); replaces earlier ones. */
        public Builder strategySettings(String name, Map<String, String> settings) {
            Objects.requireNonNull(name, "name");
            if (settings == null || settings.isEmpty()) {
                strategySettings.remove(name);
            } else {
                strategySettings.put(name, Map.copyOf(settings));
            }
            return this;
        }

        public Builder maxBodyBytes(long n) {
            if (n < 1) {
                throw new IllegalArgumentException("max_body_bytes: " + n + " (expected: integer >= 1)");
            }
            maxBodyBytes = n;
            return this;
        }

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
                throw new IllegalArgumentException("first_byte_timeout: " + seconds(firstByteTimeout)
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
}
