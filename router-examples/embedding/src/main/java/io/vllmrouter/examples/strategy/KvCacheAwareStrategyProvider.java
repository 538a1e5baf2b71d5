package io.vllmrouter.examples.strategy;

import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.BalancingStrategyProvider;

/**
 * Makes {@link KvCacheAwareStrategy} known as {@value KvCacheAwareStrategy#NAME}. Registered in
 * {@code META-INF/services/io.vllmrouter.api.spi.BalancingStrategyProvider}.
 */
public final class KvCacheAwareStrategyProvider implements BalancingStrategyProvider {

    /** Found by {@link java.util.ServiceLoader}: public, no arguments, does nothing. */
    public KvCacheAwareStrategyProvider() {
    }

    @Override
    public String name() {
        return KvCacheAwareStrategy.NAME;
    }

    @Override
    public BalancingStrategy create() {
        return new KvCacheAwareStrategy();
    }
}
