package io.vllmrouter.examples.sim;

import java.util.function.IntSupplier;

/**
 * What the simulator's {@code GET /metrics} says: vLLM's families, one series per data-parallel
 * engine ({@link SimConfig#dataParallelSize()}) as {@link SimMetrics} writes them — this server's
 * counts spread over its engines, and, as vLLM's front end writes it, {@code vllm:cache_config_info}
 * under every engine with the server's total {@code num_gpu_blocks} and one engine's
 * {@code kv_cache_size_tokens} — from the engine's figures, the latency histograms and the sleep
 * state. Any handler thread; the engine's figures are read as they are at that moment.
 */
final class MetricsPage {

    private final SimConfig config;
    private final BatchEngine engine;
    private final LatencyHistograms histograms;
    private final IntSupplier sleepLevel;
    private final String quotedModel;

    /** @param sleepLevel 0 when awake, else the level of vLLM's sleep mode */
    MetricsPage(SimConfig config, BatchEngine engine, LatencyHistograms histograms, IntSupplier sleepLevel) {
        this.config = config;
        this.engine = engine;
        this.histograms = histograms;
        this.sleepLevel = sleepLevel;
        this.quotedModel = Json.quote(config.models().get(0));
    }

    /** The page now, in Prometheus text format 0.0.4. */
    String text() {
        SimMetrics m = new SimMetrics(quotedModel, config.dataParallelSize());
        m.untyped("process_max_fds", "Maximum number of open file descriptors.", 65536);
        m.gauge("vllm:num_requests_running", "Number of requests in model execution batches.", engine.running());
        m.gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", engine.waiting());
        m.sleepState(sleepLevel.getAsInt());
        m.usage("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", engine.kvCacheUsage());
        m.counter("vllm:prompt_tokens_total", "Number of prefill tokens processed.", engine.promptTokensTotal());
        m.counter("vllm:generation_tokens_total", "Number of generation tokens processed.", engine.generationTokensTotal());
        m.counter("vllm:prefix_cache_queries_total", "Prefix cache queries, in terms of number of queried tokens.", engine.prefixCacheQueries());
        m.counter("vllm:prefix_cache_hits_total", "Prefix cache hits, in terms of number of cached tokens.", engine.prefixCacheHits());
        m.cacheConfig(BatchEngine.BLOCK_SIZE, config.prefixCache() ? config.prefixCacheBlocks() : config.kvCacheBlocks(),
                config.prefixCache());
        m.histograms(histograms);
        m.requestSuccess(new String[] {"stop", "length", "abort"}, engine::successTotal);
        return m.text();
    }
}
