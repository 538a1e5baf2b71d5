package io.vllmrouter.examples.bench;

import io.vllmrouter.api.spi.BackendView;
import java.net.URI;
import java.util.List;

/**
 * A {@link BackendView} shaped like the router's: figures in volatile fields written by other
 * threads (scrapes, request completions), so every read in a pick is a volatile read.
 */
final class LiveBackend implements BackendView {

    private final String id;
    private final URI url;
    private final int capacity;
    private final int index;
    volatile int inFlight;
    volatile double running;
    volatile double waiting;
    volatile double kvCacheUsage;
    volatile boolean metricsFresh = true;

    LiveBackend(int index, int capacity) {
        this.index = index;
        this.capacity = capacity;
        this.url = URI.create("http://10.0.0." + (index % 250) + ":" + (8000 + index));
        this.id = url.toString();
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public URI url() {
        return url;
    }

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public int inFlight() {
        return inFlight;
    }

    @Override
    public double running() {
        return running;
    }

    @Override
    public double waiting() {
        return waiting;
    }

    @Override
    public double kvCacheUsage() {
        return kvCacheUsage;
    }

    @Override
    public boolean metricsFresh() {
        return metricsFresh;
    }

    @Override
    public List<String> models() {
        return List.of();
    }

    @Override
    public int index() {
        return index;
    }
}
