package io.vllmrouter.strategies;

import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.BalancingStrategyProvider;

/** Makes {@link WeightedScoreStrategy} known as {@value WeightedScoreStrategy#NAME}, at priority 5. */
public final class WeightedScoreStrategyProvider implements BalancingStrategyProvider {

    /** Found by {@link java.util.ServiceLoader}; does nothing. */
    public WeightedScoreStrategyProvider() {
    }

    @Override
    public String name() {
        return WeightedScoreStrategy.NAME;
    }

    @Override
    public int priority() {
        return 5;
    }

    @Override
    public BalancingStrategy create() {
        return new WeightedScoreStrategy();
    }
}
