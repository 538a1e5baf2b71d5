package io.vllmrouter.testing;

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
 * @param kvCacheUsage {@code NaN} when unknown
 */
public record TestBackend(String id, int index, int capacity, double running, double waiting, double kvCacheUsage,
                          boolean metricsFresh, int inFlight, List<String> models) implements BackendView {

    public TestBackend {
        models = List.copyOf(models);
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
        return new TestBackend(id, index, capacity, running, waiting, kvCacheUsage, fresh, inFlight, models);
    }

    /** {@code http://127.0.0.1:(8000 + index)}. */
    @Override
    public URI url() {
        return URI.create("http://127.0.0.1:" + (8000 + index));
    }
}
