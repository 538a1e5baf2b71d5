package io.vllmrouter.strategies;

import io.vllmrouter.api.spi.BackendView;
import java.net.URI;
import java.util.List;

/** A fixed {@link BackendView} for tests. */
record TestBackend(String id, int capacity, double running, double waiting, double kvCacheUsage, int index)
        implements BackendView {

    static TestBackend of(int index, int capacity, double running, double waiting) {
        return new TestBackend("b" + index, capacity, running, waiting, Double.NaN, index);
    }

    @Override
    public URI url() {
        return URI.create("http://127.0.0.1:" + (8000 + index));
    }

    @Override
    public int inFlight() {
        return 0;
    }

    @Override
    public boolean metricsFresh() {
        return true;
    }

    @Override
    public List<String> models() {
        return List.of();
    }
}
