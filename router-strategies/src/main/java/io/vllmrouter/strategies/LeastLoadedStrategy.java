package io.vllmrouter.strategies;

import io.vllmrouter.api.spi.BackendView;

/**
 * The lowest estimated outstanding requests per unit of capacity:
 * {@code (running + waiting) / capacity}, from {@link BackendView#outstanding()}.
 *
 * <p>Unlike {@link WeightedScoreStrategy} a queued request counts as much as a running one, so this
 * strategy evens out queue lengths: it suits fleets where requests are short and similar, and
 * where time spent waiting is what callers feel. Ties are broken at random, scores compared exactly
 * (the rule of {@link WeightedScoreStrategy}).
 *
 * <p>Stateless and thread-safe.
 */
public final class LeastLoadedStrategy extends ScoredStrategy {

    /** The name config uses: {@value}. */
    public static final String NAME = "least-loaded";

    /** Creates the strategy; it holds no state. */
    public LeastLoadedStrategy() {
    }

    @Override
    double score(BackendView backend) {
        return backend.outstanding() / backend.capacity();
    }

    @Override
    public String toString() {
        return NAME;
    }
}
