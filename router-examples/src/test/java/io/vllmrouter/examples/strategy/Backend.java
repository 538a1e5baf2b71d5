package io.vllmrouter.examples.strategy;

import io.vllmrouter.api.spi.BackendView;
import java.net.URI;
import java.util.List;

/** A fixed {@link BackendView} for tests. */
record Backend(int index, int capacity, double running, double waiting, double kvCacheUsage, boolean metricsFresh)
        implements BackendView {

    static Backend of(int index, int capacity, double running, double waiting, double kvCacheUsage) {
        return new Backend(index, capacity, running, waiting, kvCacheUsage, true);
    }

    @Override
    public String id() {
        return url().toString();
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
    public List<String> models() {
        return List.of();
    }
}
