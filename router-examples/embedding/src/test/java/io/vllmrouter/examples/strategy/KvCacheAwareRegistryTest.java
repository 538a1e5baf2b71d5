package io.vllmrouter.examples.strategy;

import static org.assertj.core.api.Assertions.assertThat;

import io.vllmrouter.core.strategy.StrategyRegistry;
import org.junit.jupiter.api.Test;

/** The provider is found through META-INF/services on router-examples' class path. */
class KvCacheAwareRegistryTest {

    @Test
    void defaultRegistryListsAndCreatesIt() {
        StrategyRegistry registry = StrategyRegistry.defaultRegistry();
        // contains, not containsExactly: router-core's test-jar on this class path registers test strategies too.
        assertThat(registry.names()).contains("kv-cache-aware", "least-loaded", "round-robin", "weighted-score");
        assertThat(registry.create("kv-cache-aware"))
                .isInstanceOf(KvCacheAwareStrategy.class)
                .isNotSameAs(registry.create("kv-cache-aware"));
    }
}
