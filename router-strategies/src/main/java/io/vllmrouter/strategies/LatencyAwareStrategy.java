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
 * <p>For each candidate, with {@link ExpectedTime} (speeds are the router's estimates,
 * {@link BackendView#speed()}; the size is the request's, {@link RouteContext#size()}):
 * <pre>
 *   score = service + queue_weight * queue wait + load_weight * work ahead
 * </pre>
 * where <b>service</b> is this request's own time there (prefill of its prompt, then its expected
 * answer at the backend's time per output token), the <b>queue wait</b> the time until a slot
 * frees there, and the <b>work ahead</b> the outstanding requests' work in that backend's own time
 * shared by its slots. {@code service + queue wait} is the expected completion time; the wait counts
 * {@code queue_weight} (3) times because a request that joins a queue also delays every request that
 * arrives there after it, and ranking by each request's own earliest finish alone fills the fastest
 * backend's queue until it is as slow as the next one, which later requests then pay. The work-ahead
 * term ({@code load_weight}, 0.25) makes a fuller batch count as busier, so equally fast backends share
 * requests as {@code least-loaded} shares them. So a request goes where it would finish soonest
 * without making the next ones wait, and a slow card still gets the short requests it serves well
 * while the fast ones are busy.
 *
 * <p>Against herding: router replicas that see the same figures would send every request to the
 * same backend. Each score is multiplied by {@code 1 + spread * u}, where {@code u} in [0, 1) is the
 * rendezvous weight of the request's key and the backend (the affinity key when the request has
 * one, else a draw from {@link RouteContext#random()}), so backends within about {@code spread} of
 * each other share the requests, and a conversation tends to stay where it is. Ties (equal
 * products) go to the higher rendezvous weight: deterministic for a given key.
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
        double queueWeight = settings.queueWeight();
        double loadWeight = settings.loadWeight();
        BackendView best = null;
        double bestScore = Double.POSITIVE_INFINITY;
        long bestRank = 0;
        for (int i = 0; i < n; i++) {
            BackendView b = candidates.get(i);
            long rank = rank(key, b);
            double seconds = time.cost(b, queueWeight, loadWeight);
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

    /** Rendezvous weight of {@code b} for {@code key}, compared as unsigned (the id's hash is cached by String). */
    static long rank(long key, BackendView b) {
        return PromptBlocks.mix(key ^ (b.id().hashCode() * 0x9E3779B97F4A7C15L));
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
