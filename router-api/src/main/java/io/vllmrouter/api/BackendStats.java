package io.vllmrouter.api;

import java.util.List;

/**
 * One backend in a {@link RouterStats} snapshot. The first seven fields are the seed's
 * {@code /load-stats} entries; the rest are ours.
 *
 * @param url                 the backend's base URL as configured
 * @param currentLoad         estimated requests on the backend: running + waiting from the last
 *                            scrape, plus requests this router sent since minus those it finished
 *                            (this router's own in-flight count when metrics are stale)
 * @param maxCapacity         {@code max_concurrent_requests}
 * @param availableCapacity   {@code max(0, maxCapacity - currentLoad)}
 * @param utilizationPercent  100 * currentLoad / maxCapacity, one decimal
 * @param status              eligible ({@link BackendState}): healthy by the health checks, breaker not
 *                            open, not asleep
 * @param detailedMetrics     the figures of the last good scrape
 * @param models              models the backend serves (from its {@code /v1/models} or config);
 *                            empty when not known yet, meaning it is tried for any model
 * @param inFlight            requests this router has on the backend now
 * @param circuitState        the passive circuit breaker's state
 * @param draining            removed from the configuration, finishing its in-flight requests
 * @param health              the active health checks' view
 * @param requests            request counters and latency
 * @param cacheTokens         KV-cache capacity in tokens the router uses for the backend: its
 *                            {@code cache_tokens} setting, else what it publishes; -1 when unknown
 * @param ineligibleReason    why the backend gets no new requests ("ejected by the health checks:
 *                            ...", "circuit breaker open", "asleep (sleep level 1: weights
 *                            offloaded)", "draining: ..."), or null when {@code status} is true
 * @param speed               how fast the backend has been lately ({@link io.vllmrouter.api.spi.BackendSpeed})
 */
public record BackendStats(String url, long currentLoad, int maxCapacity, long availableCapacity,
                           double utilizationPercent, boolean status, DetailedMetrics detailedMetrics,
                           List<String> models, int inFlight, CircuitState circuitState, boolean draining,
                           HealthStats health, RequestStats requests, long cacheTokens, String ineligibleReason,
                           SpeedStats speed) {

    public BackendStats {
        models = List.copyOf(models);
        speed = speed == null ? SpeedStats.UNKNOWN : speed;
    }

    /** Without speed figures ({@link SpeedStats#UNKNOWN}). */
    public BackendStats(String url, long currentLoad, int maxCapacity, long availableCapacity,
                        double utilizationPercent, boolean status, DetailedMetrics detailedMetrics,
                        List<String> models, int inFlight, CircuitState circuitState, boolean draining,
                        HealthStats health, RequestStats requests, long cacheTokens, String ineligibleReason) {
        this(url, currentLoad, maxCapacity, availableCapacity, utilizationPercent, status, detailedMetrics, models,
                inFlight, circuitState, draining, health, requests, cacheTokens, ineligibleReason, SpeedStats.UNKNOWN);
    }

    /**
     * Without a cache size (unknown), speed figures, and, as {@code status} says, eligible or not
     * for no stated reason.
     */
    public BackendStats(String url, long currentLoad, int maxCapacity, long availableCapacity,
                        double utilizationPercent, boolean status, DetailedMetrics detailedMetrics,
                        List<String> models, int inFlight, CircuitState circuitState, boolean draining,
                        HealthStats health, RequestStats requests) {
        this(url, currentLoad, maxCapacity, availableCapacity, utilizationPercent, status, detailedMetrics, models,
                inFlight, circuitState, draining, health, requests, -1, null, SpeedStats.UNKNOWN);
    }

    /** Where the backend stands for new requests; see {@link BackendState} for the words. */
    public BackendState state() {
        if (draining) {
            return BackendState.DRAINING;
        }
        if (health != null && !health.healthy()) {
            return health.everPassed() ? BackendState.EJECTED : BackendState.NOT_READY;
        }
        if (circuitState == CircuitState.OPEN) {
            return BackendState.BREAKER_OPEN;
        }
        if (!status && ineligibleReason != null && ineligibleReason.startsWith("asleep")) {
            return BackendState.ASLEEP;
        }
        return status ? BackendState.ELIGIBLE : BackendState.NOT_READY;
    }

    /** {@link #state()}'s {@linkplain BackendState#label() label}, e.g. {@code "breaker_open"}. */
    public String stateLabel() {
        return state().label();
    }

    /**
     * Why the backend gets no new requests, in words for people, or null when it is
     * {@linkplain BackendState#ELIGIBLE eligible}; e.g. {@code "not ready: health check failed:
     * connection refused"}, {@code "ejected: 3 consecutive failed health checks (last: status 503)"}.
     */
    public String stateReason() {
        BackendState s = state();
        String why = switch (s) {
            case ELIGIBLE -> null;
            case DRAINING -> "removed from the configuration, finishing " + inFlight + " request(s) in flight";
            case BREAKER_OPEN -> "too many recent requests failed; trial requests follow after a wait";
            case ASLEEP -> null;
            case NOT_READY, EJECTED -> health == null || health.reason() == null ? "no health check has passed"
                    : health.reason();
        };
        if (s == BackendState.ASLEEP) {
            return ineligibleReason; // "asleep (sleep level 1: weights offloaded)"
        }
        return why == null ? null : s.words() + ": " + why;
    }

    /**
     * What the last good {@code /metrics} scrape said. Numbers are -1 (fds) or NaN (usage) when
     * the backend does not report them.
     *
     * @param numRequestsRunning  {@code vllm:num_requests_running} summed over engines
     * @param numRequestsWaiting  {@code vllm:num_requests_waiting} summed over engines
     * @param gpuCacheUsagePerc   KV-cache usage in percent (0..100), averaged over engines
     * @param processMaxFds       {@code process_max_fds}
     * @param ageMillis           age of the scrape, -1 when there has been none
     * @param stale               no good scrape for several intervals: the figures no longer steer
     */
    public record DetailedMetrics(long numRequestsRunning, long numRequestsWaiting, double gpuCacheUsagePerc,
                                  long processMaxFds, long ageMillis, boolean stale) {
    }

    /**
     * The active health checks' view of a backend.
     *
     * @param healthy              admitted by the health checks ({@linkplain BackendState healthy})
     * @param lastCheckEpochMillis when the last check finished, -1 when none has
     * @param consecutiveFailures  failed checks in a row
     * @param recentSuccessRate    success rate over the recent window (0..1), 1 when empty
     * @param responseTimeMillis   the last check's response time, -1 when none
     * @param reason               why the backend is not healthy (ejected, or no check passed yet), or null when healthy
     * @param everPassed           a check has passed since the backend joined (false: not ready yet)
     */
    public record HealthStats(boolean healthy, long lastCheckEpochMillis, int consecutiveFailures,
                              double recentSuccessRate, double responseTimeMillis, String reason, boolean everPassed) {

        /** Health figures of a backend that has passed a check when it is healthy, and not otherwise. */
        public HealthStats(boolean healthy, long lastCheckEpochMillis, int consecutiveFailures,
                           double recentSuccessRate, double responseTimeMillis, String reason) {
            this(healthy, lastCheckEpochMillis, consecutiveFailures, recentSuccessRate, responseTimeMillis, reason,
                    healthy);
        }
    }

    /**
     * Request counters for one backend since it joined.
     *
     * @param total              requests sent (each attempt counts)
     * @param succeeded          answered without a server-side failure (4xx included)
     * @param failed             connect errors, resets, 5xx, timeouts
     * @param requestsPerSecond  completions per second over the last few seconds
     * @param meanLatencyMillis  recent mean time from send to last byte (exponentially weighted)
     * @param meanTtfbMillis     recent mean time from send to response headers
     */
    public record RequestStats(long total, long succeeded, long failed, double requestsPerSecond,
                               double meanLatencyMillis, double meanTtfbMillis) {
    }

    /**
     * The router's speed estimate of a backend ({@link io.vllmrouter.api.spi.BackendSpeed}) in
     * milliseconds, and what it predicts for a new request now. NaN when not known.
     *
     * @param timePerOutputTokenMillis time between two output tokens of one answer
     * @param timeToFirstTokenMillis   time to the first token of a request that finds a free slot (no queueing)
     * @param prefillMillisPerToken    prefill time per prompt token; NaN when the backend does not publish it
     * @param typicalOutputTokens      typical answer length of recent requests, in tokens
     * @param expectedWaitMillis       how long a request sent now would wait for a batch slot
     * @param confidence               0..1, how much of the estimate is measured (0: the fleet's or the default figures)
     */
    public record SpeedStats(double timePerOutputTokenMillis, double timeToFirstTokenMillis,
                             double prefillMillisPerToken, double typicalOutputTokens, double expectedWaitMillis,
                             double confidence) {

        /** Nothing known. */
        public static final SpeedStats UNKNOWN =
                new SpeedStats(Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, 0);
    }
}
