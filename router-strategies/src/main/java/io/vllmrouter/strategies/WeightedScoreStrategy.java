package io.vllmrouter.strategies;

import io.vllmrouter.api.spi.BackendView;

/**
 * The default strategy, the original vLLM router's formula: the lowest
 * {@code (running * 3 + waiting) / capacity}.
 *
 * <pre>{@code
 * BalancingStrategy s = new WeightedScoreStrategy();
 * BackendView b = s.pick(candidates, RouteContext.of("llama", false, null, 1, random));
 * }</pre>
 *
 * <p>A running request weighs three times a waiting one: it holds a batch slot and KV cache now,
 * while a waiting one costs only queue time. Dividing by {@code max_concurrent_requests} lets a
 * bigger GPU take a proportionally bigger share. {@code running} and {@code waiting} are the
 * router's live estimates (last scrape plus what this router sent or finished since), so the
 * score moves between scrapes.
 *
 * <p>Ties are broken at random with {@link io.vllmrouter.api.spi.RouteContext#random()}: among the
 * backends with the best score each is equally likely (reservoir sampling in the single pass), so
 * equal backends share the load rather than the first in the list taking it all. Scores compare
 * exactly, with no epsilon: each is one correctly rounded division of integer-valued figures, so
 * mathematically equal loads ({@code 6/4} and {@code 9/6}) give the same double, and an epsilon
 * would only make "equal" non-transitive. A NaN score ranks after every number.
 *
 * <p>Stateless and thread-safe.
 */
public final class WeightedScoreStrategy extends ScoredStrategy {

    /** The name config uses: {@value}. */
    public static final String NAME = "weighted-score";

    /** How much more a running request counts than a waiting one. */
    public static final double RUNNING_WEIGHT = 3.0;

    /** Creates the strategy; it holds no state. */
    public WeightedScoreStrategy() {
    }

    /**
     * {@code (running * 3 + waiting) / capacity} of one backend: the figure this strategy
     * minimizes, public so that custom strategies can reuse it (for a threshold or a fallback).
     */
    public static double weightedScore(BackendView backend) {
        return (backend.running() * RUNNING_WEIGHT + backend.waiting()) / backend.capacity();
    }

    @Override
    double score(BackendView backend) {
        return weightedScore(backend);
    }

    @Override
    public String toString() {
        return NAME;
    }
}
