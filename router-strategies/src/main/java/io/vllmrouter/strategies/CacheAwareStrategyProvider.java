package io.vllmrouter.strategies;

import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.BalancingStrategyProvider;
import java.util.Map;

/**
 * Makes {@link CacheAwareStrategy} known as {@value CacheAwareStrategy#NAME}, at priority 5; its
 * settings are the keys of {@link CacheAwareSettings} and {@link KvIndexSettings}
 * ({@code [strategies.cache-aware]}).
 */
public final class CacheAwareStrategyProvider implements BalancingStrategyProvider {

    /** Found by {@link java.util.ServiceLoader}; does nothing. */
    public CacheAwareStrategyProvider() {
    }

    @Override
    public String name() {
        return CacheAwareStrategy.NAME;
    }

    @Override
    public int priority() {
        return 5;
    }

    @Override
    public BalancingStrategy create() {
        return new CacheAwareStrategy();
    }

    @Override
    public BalancingStrategy create(Map<String, String> settings) {
        return new CacheAwareStrategy(CacheAwareSettings.parse(settings), KvIndexSettings.parse(settings));
    }
}
