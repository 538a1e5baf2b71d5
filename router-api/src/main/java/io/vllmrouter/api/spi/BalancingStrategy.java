package io.vllmrouter.api.spi;

import java.util.List;

/**
 * Chooses one backend per request. Called on the request path by many threads at once: do no I/O,
 * take no lock, allocate little. Keep mutable state in atomics.
 *
 * <pre>{@code
 * public final class FewestInFlight implements BalancingStrategy {
 *     public BackendView pick(List<? extends BackendView> candidates, RouteContext ctx) {
 *         BackendView best = null;
 *         for (BackendView b : candidates) {
 *             if (best == null || b.inFlight() < best.inFlight()) best = b;
 *         }
 *         return best;
 *     }
 * }
 * }</pre>
 */
public interface BalancingStrategy {

    /**
     * Picks one of {@code candidates} (never empty; all admitted and serving the request's model;
     * in configuration order; an immutable list the router reuses). Returns one of its elements,
     * or {@code null} to refuse the request (the caller gets 503).
     *
     * <p>Break ties with {@link RouteContext#random()} so that equal backends share the load.
     */
    BackendView pick(List<? extends BackendView> candidates, RouteContext context);
}
