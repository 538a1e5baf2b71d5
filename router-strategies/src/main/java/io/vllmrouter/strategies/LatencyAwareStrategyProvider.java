package io.vllmrouter.strategies;

import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.BalancingStrategyProvider;
import java.util.Map;

/**
 * Makes {@link LatencyAwareStrategy} known as {@value LatencyAwareStrategy#NAME}, at priority 5; its
 * settings are the keys of {@link LatencyAwareSettings} ({@code [strategies.latency-aware]}).
 */
public final class LatencyAwareStrategyProvider implements BalancingStrategyProvider {

    /** Found by {@link java.util.ServiceLoader}; does nothing. */
    public LatencyAwareStrategyProvider() {
    }

    @Override
    public String name() {
        return LatencyAwareStrategy.NAME;
    }

    @Override
    public BalancingStrategy create() {
        return new LatencyAwareStrategy();
    }

    @Override
    public BalancingStrategy create(Map<String, String> settings) {
        return new LatencyAwareStrategy(LatencyAwareSettings.parse(settings));
    }
}
