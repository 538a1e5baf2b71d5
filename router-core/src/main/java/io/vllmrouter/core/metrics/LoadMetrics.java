package io.vllmrouter.core.metrics;

/**
 * The load figures read from one {@code /metrics} page. A figure the page does not carry is NaN
 * (or -1 for the cache geometry).
 *
 * @param running            requests running, summed over engines (and SGLang ranks)
 * @param waiting            requests queued, summed the same way
 * @param kvCacheUsage       KV-cache usage 0..1, averaged over engines
 * @param maxFds             {@code process_max_fds}
 * @param cacheBlocks        {@code num_gpu_blocks} of {@code vllm:cache_config_info}, summed over engines; -1 when absent
 * @param cacheBlockSize     {@code block_size} of {@code vllm:cache_config_info} (tokens per block); -1 when absent
 * @param prefixCacheQueries {@code vllm:prefix_cache_queries_total}, summed over engines: a counter
 *                           that goes back only when the server restarted; NaN when absent
 * @param latency            the latency histograms' sums and counts ({@link LatencyCounters#NONE} when absent)
 */
public record LoadMetrics(double running, double waiting, double kvCacheUsage, double maxFds, long cacheBlocks,
                          int cacheBlockSize, double prefixCacheQueries, LatencyCounters latency) {

    public LoadMetrics {
        latency = latency == null ? LatencyCounters.NONE : latency;
    }

    /** Without latency histograms. */
    public LoadMetrics(double running, double waiting, double kvCacheUsage, double maxFds, long cacheBlocks,
                       int cacheBlockSize, double prefixCacheQueries) {
        this(running, waiting, kvCacheUsage, maxFds, cacheBlocks, cacheBlockSize, prefixCacheQueries, LatencyCounters.NONE);
    }

    /** A page that carried none of the figures. */
    public static final LoadMetrics EMPTY = new LoadMetrics(Double.NaN, Double.NaN, Double.NaN, Double.NaN);

    /** The load figures alone, cache geometry and counters unknown. */
    public LoadMetrics(double running, double waiting, double kvCacheUsage, double maxFds) {
        this(running, waiting, kvCacheUsage, maxFds, -1, -1, Double.NaN);
    }

    /** Whether the page named running or waiting requests: the figures that steer. */
    public boolean hasLoad() {
        return !Double.isNaN(running) || !Double.isNaN(waiting);
    }
}
