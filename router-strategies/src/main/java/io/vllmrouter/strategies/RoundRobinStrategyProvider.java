package io.vllmrouter.strategies;

import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.BalancingStrategyProvider;

/** Makes {@link RoundRobinStrategy} known as {@value RoundRobinStrategy#NAME}, at priority 5. */
public final class RoundRobinStrategyProvider implements BalancingStrategyProvider {

    /** Found by {@link java.util.ServiceLoader}; does nothing. */
    public RoundRobinStrategyProvider() {
    }

    @Override
    public String name() {
        return RoundRobinStrategy.NAME;
    }

    @Override
    public int priority() {
        return 5;
    }

    @Override
    public BalancingStrategy create() {
        return new RoundRobinStrategy();
    }
}
