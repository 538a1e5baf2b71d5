package io.vllmrouter.examples.bench;

import java.util.Locale;

/**
 * What one strategy did at one load. Latencies are in simulated milliseconds over the requests that
 * arrived after the warm-up; throughput counts requests finished inside the arrival window.
 *
 * @param strategy       strategy name
 * @param load           offered load as a share of fleet capacity (0.8 = 80 %)
 * @param offeredRps     arrival rate, requests per simulated second
 * @param requests       requests measured (arrived after warm-up)
 * @param unfinished     measured requests not finished when the simulation stopped draining
 * @param meanMs         mean end-to-end latency
 * @param p50Ms          median end-to-end latency
 * @param p99Ms          99th percentile end-to-end latency
 * @param ttftMeanMs     mean time to first token
 * @param ttftP99Ms      99th percentile time to first token
 * @param throughputRps  requests finished per simulated second inside the arrival window
 * @param share          share of all requests sent to each server, in fleet order
 * @param ttftP50Ms      median time to first token
 * @param ttftP90Ms      90th percentile time to first token
 * @param cacheHitRate   prompt tokens found in the servers' prefix caches over prompt tokens queried,
 *                       fleet-wide (vLLM's prefix_cache_hits / prefix_cache_queries); NaN with no cache
 */
public record RunResult(String strategy, double load, double offeredRps, int requests, int unfinished,
                        double meanMs, double p50Ms, double p99Ms, double ttftMeanMs, double ttftP99Ms,
                        double throughputRps, double[] share, double ttftP50Ms, double ttftP90Ms, double cacheHitRate) {

    /** Without the median and 90th percentile time to first token and the cache hit rate (NaN). */
    public RunResult(String strategy, double load, double offeredRps, int requests, int unfinished, double meanMs,
                     double p50Ms, double p99Ms, double ttftMeanMs, double ttftP99Ms, double throughputRps, double[] share) {
        this(strategy, load, offeredRps, requests, unfinished, meanMs, p50Ms, p99Ms, ttftMeanMs, ttftP99Ms, throughputRps,
                share, Double.NaN, Double.NaN, Double.NaN);
    }

    static final String CSV_HEADER = "strategy,load,offered_rps,requests,unfinished,mean_ms,p50_ms,p99_ms,"
            + "ttft_mean_ms,ttft_p99_ms,throughput_rps";

    String csvRow() {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%s,%.2f,%.4f,%d,%d,%.1f,%.1f,%.1f,%.1f,%.1f,%.4f",
                strategy, load, offeredRps, requests, unfinished, meanMs, p50Ms, p99Ms, ttftMeanMs, ttftP99Ms, throughputRps));
        for (double s : share) {
            b.append(String.format(Locale.ROOT, ",%.4f", s));
        }
        return b.toString();
    }
}
