package io.vllmrouter.core.strategy;

import io.vllmrouter.api.spi.BackendView;
import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.BalancingStrategyProvider;
import io.vllmrouter.api.spi.RouteContext;
import java.util.List;

/** Providers listed in {@code strategy-registry-test/META-INF/services}, good and broken. */
final class TestProviders {

    private TestProviders() {
    }

    /** Always the first candidate: recognisable in assertions. */
    static final class FirstCandidate implements BalancingStrategy {
        @Override
        public BackendView pick(List<? extends BackendView> candidates, RouteContext context) {
            return candidates.get(0);
        }
    }

    public static final class ThrowingInConstructor implements BalancingStrategyProvider {
        public ThrowingInConstructor() {
            throw new IllegalStateException("broken provider");
        }

        @Override
        public String name() {
            return "throwing";
        }

        @Override
        public BalancingStrategy create() {
            return new FirstCandidate();
        }
    }

    /** Overrides the built-in round-robin (priority 5). */
    public static final class HighPriorityRoundRobin implements BalancingStrategyProvider {
        @Override
        public String name() {
            return "round-robin";
        }

        @Override
        public int priority() {
            return 7;
        }

        @Override
        public BalancingStrategy create() {
            return new FirstCandidate();
        }
    }

    /** Loses to the built-in weighted-score (priority 5). */
    public static final class LowPriorityWeightedScore implements BalancingStrategyProvider {
        @Override
        public String name() {
            return "weighted-score";
        }

        @Override
        public int priority() {
            return 1;
        }

        @Override
        public BalancingStrategy create() {
            return new FirstCandidate();
        }
    }

    public static final class BadName implements BalancingStrategyProvider {
        @Override
        public String name() {
            return "Bad Name";
        }

        @Override
        public BalancingStrategy create() {
            return new FirstCandidate();
        }
    }

    public static final class TestOnly implements BalancingStrategyProvider {
        @Override
        public String name() {
            return "test-only";
        }

        @Override
        public BalancingStrategy create() {
            return new FirstCandidate();
        }
    }

    public static final class FailsToCreate implements BalancingStrategyProvider {
        @Override
        public String name() {
            return "fails-to-create";
        }

        @Override
        public BalancingStrategy create() {
            throw new UnsupportedOperationException("no GPU today");
        }
    }
}
