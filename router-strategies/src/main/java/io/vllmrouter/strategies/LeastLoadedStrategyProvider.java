package io.vllmrouter.strategies;

import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.BalancingStrategyProvider;

/** Makes {@link LeastLoadedStrategy} known as {@value LeastLoadedStrategy#NAME}, at priority 5. */
public final class LeastLoadedStrategyProvider implements BalancingStrategyProvider {

    /** Found by {@link java.util.ServiceLoader}; does nothing. */
    public LeastLoadedStrategyProvider() {
    }

    @Override
    public String name() {
        return LeastLoadedStrategy.NAME;
    }

    @Override
    public int priority() {
        return 5;
    }

    @Override
    public BalancingStrategy create() {
        return new LeastLoadedStrategy();
    }
}
