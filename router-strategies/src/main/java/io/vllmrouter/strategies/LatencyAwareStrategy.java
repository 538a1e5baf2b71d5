package io.vllmrouter.strategies;

import io.vllmrouter.api.spi.BackendView;
import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.ExpectedTime;
import io.vllmrouter.api.spi.PromptBlocks;
import io.vllmrouter.api.spi.RouteContext;
import java.util.List;

/**
 * The backend where this request is expected to finish soonest, on a fleet of unequal servers.
 *
 * <pre>{@code
 * BalancingStrategy s = new LatencyAwareStrategy();
 * BackendView b = s.pick(candidates, RouteContext.ofSize("llama", null, new RequestSize(300, 64), random));
 * }</pre>
 *
 * <p>For each candidate, {@link ExpectedTime#completionSeconds}: the work outstanding there in that
 * backend's own time shared by its slots, plus this request's service time at its speed (prefill
 * of its prompt, then its expected answer length at the backend's time per output token). Speeds
 * are the router's estimates ({@link BackendView#speed()}); the size is the request's
 * ({@link RouteContext#size()}). So a request goes where it would finish sooner, and a slow card
 * still gets the short requests it serves well when the fast ones are busy. On equally fast
 * backends it ranks as {@code least-loaded}.
 *
 * <p>Against herding: router replicas that see the same figures would send every request to the
 * same backend. Each expected time is multiplied by {@code 1 + spread * u}, where {@code u} in
 * [0, 1) is the rendezvous weight of the request's key and the backend (the affinity key when the
 * request has one, else a draw from {@link RouteContext#random()}), so backends within about
 * {@code spread} of each other share the requests, and a conversation tends to stay where it is.
 * Ties (equal products) go to the higher rendezvous weight: deterministic for a given key.
 *
 * <p>A pick is one pass over the candidates and allocates one small object; stateless and
 * thread-safe.
 */
public final class LatencyAwareStrategy implements BalancingStrategy {

    /** The name config uses: {@value}. */
    public static final String NAME = "latency-aware";

    private final LatencyAwareSettings settings;

    /** With the default settings. */
    public LatencyAwareStrategy() {
        this(LatencyAwareSettings.DEFAULTS);
    }

    public LatencyAwareStrategy(LatencyAwareSettings settings) {
        this.settings = java.util.Objects.requireNonNull(settings, "settings");
    }

    public LatencyAwareSettings settings() {
        return settings;
    }

    @Override
    public BackendView pick(List<? extends BackendView> candidates, RouteContext context) {
        int n = candidates.size();
        if (n <= 1) {
            return n == 0 ? null : candidates.get(0);
        }
        ExpectedTime time = ExpectedTime.of(context.size(), candidates);
        String affinity = context.affinityKey();
        long key = affinity != null ? BlockIndex.hash64(affinity) : context.random().nextLong();
        double spread = settings.spread();
        BackendView best = null;
        double bestScore = Double.POSITIVE_INFINITY;
        long bestRank = 0;
        for (int i = 0; i < n; i++) {
            BackendView b = candidates.get(i);
            long rank = rank(key, b);
            double seconds = time.completionSeconds(b);
            double score = Double.isNaN(seconds) ? Double.POSITIVE_INFINITY : seconds * (1 + spread * unit(rank));
            if (best == null || score < bestScore
                    || (score == bestScore && Long.compareUnsigned(rank, bestRank) > 0)) {
                best = b;
                bestScore = score;
                bestRank = rank;
            }
        }
        return best;
    }

    /** Rendezvous weight of {@code b} for {@code key}, compared as unsigned. */
    static long rank(long key, BackendView b) {
        return PromptBlocks.mix(key ^ PromptBlocks.mix(b.id().hashCode() + 0x9E3779B97F4A7C15L));
    }

    /** {@code rank} as a fraction in [0, 1). */
    static double unit(long rank) {
        return (rank >>> 11) * 0x1.0p-53;
    }

    @Override
    public String toString() {
        return NAME;
    }
}
