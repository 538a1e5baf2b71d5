package io.vllmrouter.strategies;

import io.vllmrouter.api.spi.BackendView;
import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.RouteContext;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * A strategy that picks the candidate with the lowest {@link #score score}, breaking ties at random.
 *
 * <p>Ties: scores are compared exactly ({@code ==}), with no epsilon. The built-in scores are a
 * single correctly rounded division of integer-valued figures, so two backends whose loads are
 * mathematically equal ({@code 2/4} and {@code 3/6}) get the same double; an epsilon would instead
 * make "equal" non-transitive and lump nearly-equal backends together. Among the candidates with the
 * best score, each is chosen with equal probability (reservoir sampling over one pass: the k-th tie
 * replaces the current choice with probability 1/k, drawn from {@link RouteContext#random()}), so
 * equal backends share the load instead of the first in the list taking all of it. A NaN score
 * ranks after every number.
 *
 * <p>A pick is one indexed pass over the list: no allocation, no lock.
 */
abstract class ScoredStrategy implements BalancingStrategy {

    /** The backend's load figure; lower is better. Must not do I/O or allocate. */
    abstract double score(BackendView backend);

    @Override
    public final BackendView pick(List<? extends BackendView> candidates, RouteContext context) {
        int n = candidates.size();
        if (n == 0) {
            return null;
        }
        BackendView chosen = candidates.get(0);
        if (n == 1) {
            return chosen;
        }
        double best = rank(chosen);
        int ties = 1;
        RandomGenerator random = null;
        for (int i = 1; i < n; i++) {
            BackendView b = candidates.get(i);
            double s = rank(b);
            if (s < best) {
                best = s;
                chosen = b;
                ties = 1;
            } else if (s == best) {
                if (random == null) {
                    random = context.random();
                }
                if (random.nextInt(++ties) == 0) {
                    chosen = b;
                }
            }
        }
        return chosen;
    }

    private double rank(BackendView b) {
        double s = score(b);
        return Double.isNaN(s) ? Double.POSITIVE_INFINITY : s;
    }
}
