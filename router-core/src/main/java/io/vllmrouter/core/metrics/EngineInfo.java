package io.vllmrouter.core.metrics;

/**
 * What a vLLM server says of its engines as a whole, gathered from one page by
 * {@link PrometheusParser}: its KV-cache geometry from {@code vllm:cache_config_info} and its sleep
 * state from {@code vllm:engine_sleep_state}.
 *
 * <p>vLLM's front end adds up its data-parallel engines' {@code num_gpu_blocks} at start-up and then
 * writes the same total under every {@code engine} label, so one series gives the server's blocks
 * and a sum would count them once per engine. {@code kv_cache_size_tokens}, where printed, is one
 * engine's capacity (group-aware, right for hybrid models), so it is multiplied by the series.
 *
 * <p>One page, one thread.
 */
final class EngineInfo {

    /** Values of the {@code sleep_state} label. */
    static final int AWAKE = 1;
    static final int WEIGHTS_OFFLOADED = 2;
    static final int DISCARD_ALL = 3;

    private long cacheBlocks = -1;
    private long cacheBlockSize = -1;
    private long kvTokens = -1;
    private int cacheSeries;
    private boolean awakeSeen;
    private boolean notAwake;
    private boolean level1;
    private boolean level2;

    /** One {@code vllm:cache_config_info} series: its labels as numbers, -1 where absent or not a number. */
    void cacheConfig(long gpuBlocks, long blockSize, long kvCacheSizeTokens) {
        cacheSeries++;
        if (cacheBlocks < 0 && gpuBlocks >= 0) {
            cacheBlocks = gpuBlocks;
        }
        if (cacheBlockSize < 0 && blockSize > 0) {
            cacheBlockSize = blockSize;
        }
        if (kvTokens < 0 && kvCacheSizeTokens >= 0) {
            kvTokens = kvCacheSizeTokens;
        }
    }

    /** One {@code vllm:engine_sleep_state} sample; {@code label} is one of the constants, 0 for another value. */
    void sleepSample(int label, double value) {
        switch (label) {
            case AWAKE -> {
                awakeSeen = true;
                notAwake |= value == 0;
            }
            case WEIGHTS_OFFLOADED -> level1 |= value == 1;
            case DISCARD_ALL -> level2 |= value == 1;
            default -> {
            }
        }
    }

    long cacheBlocks() {
        return cacheBlocks;
    }

    int cacheBlockSize() {
        return (int) Math.min(Integer.MAX_VALUE, cacheBlockSize);
    }

    /** The server's capacity in tokens, -1 when the page does not say. */
    long cacheTokens() {
        if (kvTokens >= 0) {
            return kvTokens > Long.MAX_VALUE / cacheSeries ? Long.MAX_VALUE : kvTokens * cacheSeries;
        }
        if (cacheBlocks > 0 && cacheBlockSize > 0) {
            return cacheBlocks > Long.MAX_VALUE / cacheBlockSize ? Long.MAX_VALUE : cacheBlocks * cacheBlockSize;
        }
        return -1;
    }

    /** Asleep as soon as one engine's {@code awake} is 0: vLLM puts every engine to sleep at once. */
    SleepState sleepState() {
        if (!awakeSeen) {
            return SleepState.UNKNOWN;
        }
        if (!notAwake) {
            return SleepState.AWAKE;
        }
        return level2 ? SleepState.DISCARD_ALL : level1 ? SleepState.WEIGHTS_OFFLOADED : SleepState.ASLEEP;
    }
}
