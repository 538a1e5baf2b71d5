package io.vllmrouter.testing;

import io.vllmrouter.api.spi.BackendSpeed;
import io.vllmrouter.api.spi.BackendView;
import java.net.URI;
import java.util.List;

/**
 * A fixed {@link BackendView} for strategy tests: every figure is given, nothing moves.
 *
 * <pre>{@code
 * List<TestBackend> fleet = List.of(
 *         TestBackend.of(0, 10, 3, 4),    // capacity 10, 3 running, 4 waiting
 *         TestBackend.of(1, 4, 1, 1));
 * assertThat(strategy.pick(fleet, context)).isSameAs(fleet.get(1));
 * }</pre>
 *
 * @param id           {@code "b" + index}, unless built with another
 * @param index        the position the strategy sees (also picks the port of {@link #url()})
 * @param kvCacheUsage   {@code NaN} when unknown
 * @param cacheBlocks    KV-cache blocks ({@code num_gpu_blocks}), -1 when unknown
 * @param cacheBlockSize tokens per block, -1 when unknown
 * @param cacheEpoch     changes when the backend's cache was lost (restart, ejection)
 * @param speed          its speed estimate ({@link BackendSpeed#DEFAULT} unless built with one)
 */
public record TestBackend(String id, int index, int capacity, double running, double waiting, double kvCacheUsage,
                          boolean metricsFresh, int inFlight, List<String> models, long cacheBlocks,
                          int cacheBlockSize, long cacheEpoch, BackendSpeed speed) implements BackendView {

    public TestBackend {
        models = List.copyOf(models);
        speed = speed == null ? BackendSpeed.DEFAULT : speed;
    }

    /** At the default speed. */
    public TestBackend(String id, int index, int capacity, double running, double waiting, double kvCacheUsage,
                       boolean metricsFresh, int inFlight, List<String> models, long cacheBlocks,
                       int cacheBlockSize, long cacheEpoch) {
        this(id, index, capacity, running, waiting, kvCacheUsage, metricsFresh, inFlight, models, cacheBlocks,
                cacheBlockSize, cacheEpoch, BackendSpeed.DEFAULT);
    }

    /** Without cache geometry (unknown) and at epoch 0. */
    public TestBackend(String id, int index, int capacity, double running, double waiting, double kvCacheUsage,
                       boolean metricsFresh, int inFlight, List<String> models) {
        this(id, index, capacity, running, waiting, kvCacheUsage, metricsFresh, inFlight, models, -1, -1, 0);
    }

    /** Fresh metrics, unknown KV-cache usage, nothing in flight, serves every model. */
    public static TestBackend of(int index, int capacity, double running, double waiting) {
        return of(index, capacity, running, waiting, Double.NaN);
    }

    /** Fresh metrics with a KV-cache usage, nothing in flight, serves every model. */
    public static TestBackend of(int index, int capacity, double running, double waiting, double kvCacheUsage) {
        return new TestBackend("b" + index, index, capacity, running, waiting, kvCacheUsage, true, 0, List.of());
    }

    /** The same backend with stale (or fresh again) metrics. */
    public TestBackend withMetricsFresh(boolean fresh) {
        return new TestBackend(id, index, capacity, running, waiting, kvCacheUsage, fresh, inFlight, models,
                cacheBlocks, cacheBlockSize, cacheEpoch, speed);
    }

    /** The same backend with other running and waiting figures. */
    public TestBackend withLoad(double running, double waiting) {
        return new TestBackend(id, index, capacity, running, waiting, kvCacheUsage, metricsFresh, inFlight, models,
                cacheBlocks, cacheBlockSize, cacheEpoch, speed);
    }

    /** The same backend publishing a KV cache of {@code blocks} blocks of {@code blockSize} tokens. */
    public TestBackend withCache(long blocks, int blockSize) {
        return new TestBackend(id, index, capacity, running, waiting, kvCacheUsage, metricsFresh, inFlight, models,
                blocks, blockSize, cacheEpoch, speed);
    }

    /** The same backend after a restart or an ejection: another cache epoch. */
    public TestBackend withCacheEpoch(long epoch) {
        return new TestBackend(id, index, capacity, running, waiting, kvCacheUsage, metricsFresh, inFlight, models,
                cacheBlocks, cacheBlockSize, epoch, speed);
    }

    /** The same backend under another id (a replica's view of the same fleet keeps ids). */
    public TestBackend withId(String newId) {
        return new TestBackend(newId, index, capacity, running, waiting, kvCacheUsage, metricsFresh, inFlight, models,
                cacheBlocks, cacheBlockSize, cacheEpoch, speed);
    }

    /** The same backend at another speed. */
    public TestBackend withSpeed(BackendSpeed s) {
        return new TestBackend(id, index, capacity, running, waiting, kvCacheUsage, metricsFresh, inFlight, models,
                cacheBlocks, cacheBlockSize, cacheEpoch, s);
    }

    /**
     * The same backend at a speed given in milliseconds per output token and to the first token,
     * answers of {@code outputTokens}, fully measured (confidence 1), prefill rate unknown.
     */
    public TestBackend withSpeed(double tpotMillis, double ttftMillis, double outputTokens) {
        return withSpeed(new BackendSpeed(tpotMillis / 1000, ttftMillis / 1000, Double.NaN, outputTokens, 1));
    }

    /** {@code http://127.0.0.1:(8000 + index)}. */
    @Override
    public URI url() {
        return URI.create("http://127.0.0.1:" + (8000 + index));
    }
}
