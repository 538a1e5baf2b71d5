package io.vllmrouter.examples.bench;

import io.vllmrouter.api.spi.BackendView;
import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.RouteContext;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToDoubleFunction;

/**
 * Stand-ins for the built-in strategies, written from DESIGN.md's formulas, so that the benchmark
 * is tested without depending on router-strategies' code.
 */
final class TestStrategies {

    private TestStrategies() {
    }

    static BalancingStrategy lowest(ToDoubleFunction<BackendView> score) {
        return (candidates, ctx) -> {
            BackendView best = null;
            double bestScore = Double.MAX_VALUE;
            int ties = 0;
            for (BackendView b : candidates) {
                double s = score.applyAsDouble(b);
                if (s < bestScore) {
                    best = b;
                    bestScore = s;
                    ties = 1;
                } else if (s == bestScore && ctx.random().nextInt(++ties) == 0) {
                    best = b;
                }
            }
            return best;
        };
    }

    static BalancingStrategy leastLoaded() {
        return lowest(b -> b.outstanding() / b.capacity());
    }

    static BalancingStrategy weightedScore() {
        return lowest(b -> (b.running() * 3 + b.waiting()) / b.capacity());
    }

    static BalancingStrategy roundRobin() {
        AtomicInteger next = new AtomicInteger();
        return (List<? extends BackendView> candidates, RouteContext ctx) ->
                candidates.get((next.getAndIncrement() & Integer.MAX_VALUE) % candidates.size());
    }
}
