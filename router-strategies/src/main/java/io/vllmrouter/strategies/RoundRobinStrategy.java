package io.vllmrouter.strategies;

import io.vllmrouter.api.spi.BackendView;
import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.RouteContext;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Each candidate in turn, ignoring load: one shared counter, {@code getAndIncrement() &
 * Integer.MAX_VALUE} modulo the number of candidates (as grpc-java's {@code RoundRobinLoadBalancer}).
 * The mask keeps the index non-negative when the counter overflows; at that moment one step of the
 * rotation may repeat or skip a backend, once every 2<sup>31</sup> requests.
 *
 * <p>Use it when backends are identical and load figures are not available or not trusted.
 * The candidate list differs per model, so with several models the turn is shared between lists:
 * fair over time, not strictly alternating within one model.
 *
 * <p>Thread-safe: the counter is the only state and is atomic.
 */
public final class RoundRobinStrategy implements BalancingStrategy {

    /** The name config uses: {@value}. */
    public static final String NAME = "round-robin";

    private final AtomicInteger index;

    /** Starts the rotation at the first candidate. */
    public RoundRobinStrategy() {
        this(0);
    }

    /** Starts the counter at {@code initialIndex}; tests use it to reach the overflow. */
    RoundRobinStrategy(int initialIndex) {
        this.index = new AtomicInteger(initialIndex);
    }

    @Override
    public BackendView pick(List<? extends BackendView> candidates, RouteContext context) {
        int n = candidates.size();
        if (n == 0) {
            return null;
        }
        return candidates.get((index.getAndIncrement() & Integer.MAX_VALUE) % n);
    }

    @Override
    public String toString() {
        return NAME;
    }
}
