package io.vllmrouter.api.spi;

import java.net.URI;
import java.util.List;

/**
 * What a {@link BalancingStrategy} may know of one candidate backend. Values are read live (each
 * call may see a newer figure) and cheaply: no I/O, no locks, no allocation.
 *
 * <p>The load estimate is the last scrape's figures plus the requests this router has sent since
 * minus those it finished; when the scrape is stale the router's own in-flight count stands in for
 * {@link #running()} and {@link #waiting()} is 0.
 */
public interface BackendView {

    /** Stable id: the URL as configured. */
    String id();

    /** Base URL. */
    URI url();

    /** {@code max_concurrent_requests}, at least 1. */
    int capacity();

    /** Requests this router has on the backend now (exact). */
    int inFlight();

    /** Estimated requests running on the backend (all clients, not only this router). */
    double running();

    /** Estimated requests waiting in the backend's queue. */
    double waiting();

    /** Estimated outstanding requests: {@code running() + waiting()}. */
    default double outstanding() {
        return running() + waiting();
    }

    /** KV-cache usage 0..1, or NaN when unknown or stale. */
    double kvCacheUsage();

    /** Whether the scraped figures are recent enough to trust. */
    boolean metricsFresh();

    /** Models served; empty when not known (the backend is then a candidate for every model). */
    List<String> models();

    /** Position of the backend in the configuration, for strategies that keep per-backend arrays. */
    int index();
}
