package io.vllmrouter.api;

import java.time.Instant;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * An immutable snapshot of the fleet. With snake_case property names (core's {@code RouterJson})
 * it serialises to the seed's {@code /load-stats} JSON: {@code servers[]} and {@code summary}, plus
 * {@code strategy}, {@code config_loaded_at} and {@code generated_at}.
 *
 * @param servers        one entry per configured backend, in configuration order, then backends
 *                       removed by a reload that still have requests in flight
 * @param summary        fleet totals
 * @param strategy       the balancing strategy's name
 * @param configLoadedAt when the running configuration was loaded (start or last good reload)
 * @param generatedAt    when this snapshot was taken
 * @param strategyStats  the strategy's own figures ({@link io.vllmrouter.api.spi.BalancingStrategy#stats()}),
 *                       e.g. {@code index_bytes} of cache-aware; empty for most strategies
 */
public record RouterStats(List<BackendStats> servers, Summary summary, String strategy,
                          Instant configLoadedAt, Instant generatedAt, Map<String, Long> strategyStats) {

    public RouterStats {
        servers = List.copyOf(servers);
        strategyStats = strategyStats == null ? Map.of() : Collections.unmodifiableMap(new TreeMap<>(strategyStats));
    }

    /** A snapshot without strategy figures. */
    public RouterStats(List<BackendStats> servers, Summary summary, String strategy, Instant configLoadedAt,
                       Instant generatedAt) {
        this(servers, summary, strategy, configLoadedAt, generatedAt, Map.of());
    }

    /**
     * Fleet totals, as in the seed.
     *
     * @param totalServers               backends configured
     * @param healthyServers             backends admitted (health checks pass, breaker not OPEN)
     * @param totalActiveLoad            sum of {@link BackendStats#currentLoad()}
     * @param totalCapacity              sum of {@link BackendStats#maxCapacity()}
     * @param overallUtilizationPercent  100 * active load / capacity, one decimal
     */
    public record Summary(int totalServers, int healthyServers, long totalActiveLoad, long totalCapacity,
                          double overallUtilizationPercent) {
    }
}
