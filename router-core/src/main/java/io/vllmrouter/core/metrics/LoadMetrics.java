package io.vllmrouter.core.metrics;

import java.util.Objects;

/**
 * The load figures read from one {@code /metrics} page. A figure the page does not carry is NaN
 * (or -1 for the cache geometry).
 *
 * @param running            requests running, summed over engines (and SGLang ranks)
 * @param waiting            requests queued, summed the same way
 * @param kvCacheUsage       KV-cache usage 0..1, averaged over engines
 * @param maxFds             {@code process_max_fds}
 * @param cacheBlocks        {@code num_gpu_blocks} of one {@code vllm:cache_config_info} series: vLLM's
 *                           front end adds up its data-parallel engines' blocks at start-up and writes
 *                           that total under every {@code engine} label; -1 when absent
 * @param cacheBlockSize     {@code block_size} of {@code vllm:cache_config_info} (tokens per block); -1 when absent
 * @param prefixCacheQueries {@code vllm:prefix_cache_queries_total}, summed over engines: a counter
 *                           that goes back only when the server restarted; NaN when absent
 * @param cacheTokens        the server's KV-cache capacity in tokens as it publishes it: the label
 *                           {@code kv_cache_size_tokens} (one engine's group-aware capacity, right for
 *                           hybrid models too) times the engines, where vLLM prints it, else
 *                           {@code cacheBlocks * cacheBlockSize}; -1 when unknown
 * @param sleepState         what {@code vllm:engine_sleep_state} says, {@link SleepState#UNKNOWN} when absent
 * @param latency            the latency histograms' sums and counts ({@link LatencyCounters#NONE} when absent)
 */
public record LoadMetrics(double running, double waiting, double kvCacheUsage, double maxFds, long cacheBlocks,
                          int cacheBlockSize, double prefixCacheQueries, long cacheTokens, SleepState sleepState,
                          LatencyCounters latency) {

    /** A page that carried none of the figures. */
    public static final LoadMetrics EMPTY = new LoadMetrics(Double.NaN, Double.NaN, Double.NaN, Double.NaN);

    public LoadMetrics {
        Objects.requireNonNull(sleepState, "sleepState");
        latency = latency == null ? LatencyCounters.NONE : latency;
    }

    /** The load figures alone, cache geometry, counters and sleep state unknown. */
    public LoadMetrics(double running, double waiting, double kvCacheUsage, double maxFds) {
        this(running, waiting, kvCacheUsage, maxFds, -1, -1, Double.NaN);
    }

    /** Figures of a page without {@code kv_cache_size_tokens}, {@code vllm:engine_sleep_state} or latency histograms. */
    public LoadMetrics(double running, double waiting, double kvCacheUsage, double maxFds, long cacheBlocks,
                       int cacheBlockSize, double prefixCacheQueries) {
        this(running, waiting, kvCacheUsage, maxFds, cacheBlocks, cacheBlockSize, prefixCacheQueries,
                cacheBlocks > 0 && cacheBlockSize > 0 ? cacheBlocks * cacheBlockSize : -1, SleepState.UNKNOWN,
                LatencyCounters.NONE);
    }

    /** Whether the page named running or waiting requests: the figures that steer. */
    public boolean hasLoad() {
        return !Double.isNaN(running) || !Double.isNaN(waiting);
    }
}
