package io.vllmrouter.examples.sim;

import java.util.function.ToLongFunction;

/**
 * One {@code /metrics} page as vLLM's {@code PrometheusStatLogger} prints it for a server with
 * {@code engines} data-parallel engines: every family has one series per {@code engine} label, the
 * labels sorted by name as {@code prometheus_client} prints them. The simulator has one batch, so
 * its counts are spread over the engines (the first ones get the remainders) and its usage is the
 * same on each; the sums and means a router computes are the simulator's own figures.
 *
 * <p>{@code vllm:cache_config_info} is as vLLM's front end writes it after start-up: the same
 * series under every engine, {@code num_gpu_blocks} being the server's total (the front end adds up
 * its engines' blocks) and {@code kv_cache_size_tokens} one engine's capacity.
 */
final class SimMetrics {

    private final StringBuilder b = new StringBuilder(4096);
    private final String quotedModel;
    private final int engines;

    SimMetrics(String quotedModel, int engines) {
        this.quotedModel = quotedModel;
        this.engines = engines;
    }

    /** Engine {@code i}'s share of {@code total}: the remainder goes to the first engines. */
    static long share(long total, int engines, int i) {
        return total / engines + (i < total % engines ? 1 : 0);
    }

    private void head(String name, String help, String type) {
        b.append("# HELP ").append(name).append(' ').append(help).append('\n')
                .append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private String labels(int engine) {
        return "{engine=\"" + engine + "\",model_name=" + quotedModel + "}";
    }

    /** A gauge without labels. */
    void untyped(String name, String help, double value) {
        head(name, help, "gauge");
        b.append(name).append(' ').append(value).append('\n');
    }

    /** A count gauge, spread over the engines. */
    void gauge(String name, String help, long total) {
        head(name, help, "gauge");
        for (int i = 0; i < engines; i++) {
            b.append(name).append(labels(i)).append(' ').append((double) share(total, engines, i)).append('\n');
        }
    }

    /** A usage gauge (0..1), the same on each engine. */
    void usage(String name, String help, double value) {
        head(name, help, "gauge");
        for (int i = 0; i < engines; i++) {
            b.append(name).append(labels(i)).append(' ').append(value).append('\n');
        }
    }

    /** A counter, spread over the engines. */
    void counter(String name, String help, long total) {
        head(name, help, "counter");
        for (int i = 0; i < engines; i++) {
            b.append(name).append(labels(i)).append(' ').append((double) share(total, engines, i)).append('\n');
        }
    }

    /** {@code vllm:engine_sleep_state}: level 0 is awake, 1 weights offloaded, 2 everything discarded. */
    void sleepState(int level) {
        head("vllm:engine_sleep_state", "Engine sleep state; awake = 0 means engine is sleeping; awake = 1 means "
                + "engine is awake; weights_offloaded = 1 means sleep level 1; discard_all = 1 means sleep level 2.", "gauge");
        String[] states = {"awake", "weights_offloaded", "discard_all"};
        double[] values = {level == 0 ? 1 : 0, level == 1 ? 1 : 0, level == 2 ? 1 : 0};
        for (int s = 0; s < states.length; s++) {
            for (int i = 0; i < engines; i++) {
                b.append("vllm:engine_sleep_state{engine=\"").append(i).append("\",model_name=").append(quotedModel)
                        .append(",sleep_state=\"").append(states[s]).append("\"} ").append(values[s]).append('\n');
            }
        }
    }

    /** {@code vllm:cache_config_info}: {@code blocks} is the server's total. */
    void cacheConfig(int blockSize, long blocks, boolean prefixCaching) {
        head("vllm:cache_config_info", "Information of the LLMEngine CacheConfig", "gauge");
        long engineTokens = blocks / engines * blockSize;
        for (int i = 0; i < engines; i++) {
            b.append("vllm:cache_config_info{block_size=\"").append(blockSize)
                    .append("\",cache_dtype=\"auto\",enable_prefix_caching=\"").append(prefixCaching ? "True" : "False")
                    .append("\",engine=\"").append(i)
                    .append("\",kv_cache_size_tokens=\"").append(engineTokens)
                    .append("\",num_cpu_blocks=\"None\",num_gpu_blocks=\"").append(blocks)
                    .append("\"} 1.0\n");
        }
    }

    /** {@code vllm:request_success_total} by finish reason, spread over the engines. */
    void requestSuccess(String[] reasons, ToLongFunction<String> total) {
        head("vllm:request_success_total", "Count of successfully processed requests.", "counter");
        for (String reason : reasons) {
            long t = total.applyAsLong(reason);
            for (int i = 0; i < engines; i++) {
                b.append("vllm:request_success_total{engine=\"").append(i).append("\",finished_reason=\"").append(reason)
                        .append("\",model_name=").append(quotedModel).append("} ").append((double) share(t, engines, i))
                        .append('\n');
            }
        }
    }

    /**
     * vLLM's latency histograms, all under the first engine: the simulator times one batch, and the
     * sums over engines a router computes are the same.
     */
    void histograms(LatencyHistograms h) {
        h.appendTo(b, "\"0\"", quotedModel);
    }

    String text() {
        return b.toString();
    }
}
