package io.vllmrouter.strategies;

import static org.assertj.core.api.Assertions.assertThat;

import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.BalancingStrategyProvider;
import java.util.HashMap;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

class ProvidersTest {

    @Test
    void serviceLoaderFindsTheFiveBuiltIns() {
        Map<String, BalancingStrategyProvider> byName = new HashMap<>();
        for (BalancingStrategyProvider p : ServiceLoader.load(BalancingStrategyProvider.class)) {
            assertThat(byName.put(p.name(), p)).as("duplicate %s", p.name()).isNull();
        }
        assertThat(byName).containsOnlyKeys(WeightedScoreStrategy.NAME, LeastLoadedStrategy.NAME, RoundRobinStrategy.NAME,
                CacheAwareStrategy.NAME, LatencyAwareStrategy.NAME);
        assertThat(byName.values()).allSatisfy(p -> assertThat(p.priority()).isEqualTo(5));
        assertCreates(byName.get("weighted-score"), WeightedScoreStrategy.class);
        assertCreates(byName.get("least-loaded"), LeastLoadedStrategy.class);
        assertCreates(byName.get("round-robin"), RoundRobinStrategy.class);
        assertCreates(byName.get("cache-aware"), CacheAwareStrategy.class);
        assertCreates(byName.get("latency-aware"), LatencyAwareStrategy.class);
    }

    private static void assertCreates(BalancingStrategyProvider provider, Class<? extends BalancingStrategy> type) {
        BalancingStrategy a = provider.create();
        assertThat(a).isInstanceOf(type);
        assertThat(provider.create()).as("a new instance per router").isNotSameAs(a);
        assertThat(a.toString()).isEqualTo(provider.name());
    }
}
