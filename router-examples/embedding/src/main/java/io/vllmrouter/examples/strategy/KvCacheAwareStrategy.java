package io.vllmrouter.examples.strategy;

import io.vllmrouter.api.spi.BackendView;
import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.RouteContext;
import io.vllmrouter.strategies.WeightedScoreStrategy;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * A custom strategy written the way a host application would write one: {@code kv-cache-aware}.
 *
 * <pre>{@code
 * # router.toml
 * [config]
 * strategy = "kv-cache-aware"
 * }</pre>
 *
 * <p>The idea: vLLM keeps each running sequence's attention keys and values in a fixed KV cache;
 * when it fills up, vLLM preempts sequences and recomputes them later, so a backend with a nearly
 * full cache gets slow for everyone on it even when its request counts look moderate (a few long
 * prompts fill the cache as much as many short ones). Among the backends that still have room by
 * the weighted score ({@code (running * 3 + waiting) / capacity} below {@link #maxScore()}), this
 * strategy sends the request to the one with the lowest {@link BackendView#kvCacheUsage()}, ties
 * broken at random. Backends whose usage is unknown (NaN: the server does not export it, or the
 * scrape is stale) or whose figures are not {@link BackendView#metricsFresh() fresh} take no part
 * in that choice. When no backend qualifies, the pick is plain {@link WeightedScoreStrategy}'s, so
 * under heavy load or without KV figures it behaves like the default.
 *
 * <p>The threshold keeps the KV preference from piling requests on one backend: once a backend's
 * weighted score reaches {@code maxScore} it competes on load only. The default 3.0 is "full":
 * as many running as its {@code max_concurrent_requests}, or the equivalent in queued requests.
 *
 * <p>Thread-safe and stateless apart from its fallback (also stateless); one indexed pass, no
 * allocation per pick.
 */
public final class KvCacheAwareStrategy implements BalancingStrategy {

    /** The name config uses: {@value}. */
    public static final String NAME = "kv-cache-aware";

    /** Weighted score at and above which a backend is too busy to be chosen for its KV cache. */
    public static final double DEFAULT_MAX_SCORE = 3.0;

    private final double maxScore;
    private final WeightedScoreStrategy fallback = new WeightedScoreStrategy();

    /** With {@link #DEFAULT_MAX_SCORE}. */
    public KvCacheAwareStrategy() {
        this(DEFAULT_MAX_SCORE);
    }

    /**
     * @param maxScore weighted score below which a backend competes on KV-cache usage
     * @throws IllegalArgumentException unless {@code maxScore} is finite and &gt; 0
     */
    public KvCacheAwareStrategy(double maxScore) {
        if (!(maxScore > 0) || Double.isInfinite(maxScore)) {
            throw new IllegalArgumentException("maxScore: " + maxScore + " (expected: finite and > 0)");
        }
        this.maxScore = maxScore;
    }

    /** The weighted-score threshold. */
    public double maxScore() {
        return maxScore;
    }

    @Override
    public BackendView pick(List<? extends BackendView> candidates, RouteContext context) {
        BackendView chosen = null;
        double lowestUsage = Double.POSITIVE_INFINITY;
        int ties = 0;
        RandomGenerator random = null;
        for (int i = 0, n = candidates.size(); i < n; i++) {
            BackendView b = candidates.get(i);
            double usage = b.kvCacheUsage();
            if (Double.isNaN(usage) || !b.metricsFresh() || !(WeightedScoreStrategy.weightedScore(b) < maxScore)) {
                continue;
            }
            if (usage < lowestUsage) {
                lowestUsage = usage;
                chosen = b;
                ties = 1;
            } else if (usage == lowestUsage) {
                if (random == null) {
                    random = context.random();
                }
                if (random.nextInt(++ties) == 0) {
                    chosen = b;
                }
            }
        }
        return chosen != null ? chosen : fallback.pick(candidates, context);
    }

    @Override
    public String toString() {
        return NAME + "(maxScore=" + maxScore + ")";
    }
}
