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

    /**
     * The configured backends changed (start, reload): {@code backends} is every one of them, in
     * configuration order. Called on the router's state path, never concurrently with itself; picks
     * may run at the same time. A strategy that keeps per-backend state drops what it holds for
     * backends no longer listed. The default does nothing.
     */
    default void backendsChanged(List<? extends BackendView> backends) {
    }

    /**
     * What the router prepares before each pick: the prompt's tokens, a KV-event index. Read once when
     * the strategy is created or reconfigured. The default is {@link PickInputs#NONE}.
     */
    default PickInputs pickInputs() {
        return PickInputs.NONE;
    }

    /**
     * Figures the strategy publishes about itself (for example the size of an index), by
     * snake_case name; shown in {@link io.vllmrouter.api.RouterStats#strategyStats()}, hence
     * {@code /load-stats} and {@code /metrics}. Called now and then, not on the request path. The
     * default is empty.
     */
    default java.util.Map<String, Long> stats() {
        return java.util.Map.of();
    }
}
