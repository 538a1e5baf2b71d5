package io.vllmrouter.core.strategy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.BalancingStrategyProvider;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import org.junit.jupiter.api.Test;

class StrategyRegistryTest {

    private static final String SERVICES = "META-INF/services/" + BalancingStrategyProvider.class.getName();

    private static final ClassLoader TEST_LOADER = StrategyRegistryTest.class.getClassLoader();

    @Test
    void defaultRegistryHasTheBuiltIns() {
        StrategyRegistry registry = StrategyRegistry.defaultRegistry();
        // router-core's test resources also register the engine tests' "test-fewest" and "test-first".
        assertThat(registry.names())
                .containsExactly("cache-aware", "latency-aware", "least-loaded", "round-robin", "test-fewest", "test-first", "weighted-score");
        assertThat(registry.create("weighted-score").getClass().getName())
                .isEqualTo("io.vllmrouter.strategies.WeightedScoreStrategy");
        assertThat(registry.create("least-loaded").getClass().getName())
                .isEqualTo("io.vllmrouter.strategies.LeastLoadedStrategy");
        assertThat(registry.create("round-robin").getClass().getName())
                .isEqualTo("io.vllmrouter.strategies.RoundRobinStrategy");
        assertThat(registry.create("round-robin")).as("one instance per router").isNotSameAs(registry.create("round-robin"));
        assertThat(StrategyRegistry.defaultRegistry()).isSameAs(registry);
    }

    @Test
    void unknownNameListsTheNamesFound() {
        assertThatThrownBy(() -> StrategyRegistry.defaultRegistry().create("foo"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("strategy: \"foo\" (expected: one of [cache-aware, latency-aware, least-loaded, round-robin, test-fewest, test-first, weighted-score]; a strategy from a plugin jar is loaded when the router starts: put the jar in plugins/ and restart)");
        assertThatThrownBy(() -> StrategyRegistry.defaultRegistry().create(null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("strategy: null (expected: one of [cache-aware, latency-aware, least-loaded, round-robin, test-fewest, test-first, weighted-score]; a strategy from a plugin jar is loaded when the router starts: put the jar in plugins/ and restart)");
    }

    @Test
    void higherPriorityWinsAndBrokenProvidersAreSkipped() throws IOException {
        try (URLClassLoader loader = withTestServices()) {
            StrategyRegistry registry = StrategyRegistry.load(loader);
            // "throwing" (constructor throws), NoSuchProvider (class missing) and "Bad Name" are skipped.
            assertThat(registry.names())
                    .containsExactly("cache-aware", "fails-to-create", "latency-aware", "least-loaded", "round-robin", "test-fewest", "test-first", "test-only",
                            "weighted-score");
            assertThat(registry.create("round-robin")).as("priority 7 beats the built-in's 5")
                    .isInstanceOf(TestProviders.FirstCandidate.class);
            assertThat(registry.create("weighted-score").getClass().getName()).as("priority 1 loses to 5")
                    .isEqualTo("io.vllmrouter.strategies.WeightedScoreStrategy");
            assertThat(registry.create("test-only")).isInstanceOf(TestProviders.FirstCandidate.class);
            assertThatThrownBy(() -> registry.create("throwing"))
                    .hasMessageStartingWith("strategy: \"throwing\" (expected: one of [cache-aware, fails-to-create, ");
        }
    }

    @Test
    void failingCreateNamesTheProvider() throws IOException {
        try (URLClassLoader loader = withTestServices()) {
            StrategyRegistry registry = StrategyRegistry.load(loader);
            assertThatThrownBy(() -> registry.create("fails-to-create"))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("TestProviders$FailsToCreate.create() failed")
                    .hasMessageContaining("no GPU today");
        }
    }

    @Test
    void builtInsAreFoundByClassNameWhenServicesFilesAreLost() {
        StrategyRegistry registry = StrategyRegistry.load(new HidingLoader(false));
        assertThat(registry.names()).containsExactly("cache-aware", "latency-aware", "least-loaded", "round-robin", "weighted-score");
        assertThat(registry.create("weighted-score").getClass().getName())
                .isEqualTo("io.vllmrouter.strategies.WeightedScoreStrategy");
    }

    @Test
    void withoutRouterStrategiesTheRegistryIsEmptyAndSaysSo() {
        StrategyRegistry registry = StrategyRegistry.load(new HidingLoader(true));
        assertThat(registry.names()).isEmpty();
        assertThatThrownBy(() -> registry.create("weighted-score"))
                .hasMessage("strategy: \"weighted-score\" (expected: one of []; a strategy from a plugin jar is loaded when the router starts: put the jar in plugins/ and restart)");
    }

    @Test
    void ofRegistersProvidersInCode() {
        StrategyRegistry registry = StrategyRegistry.of(List.of(
                new TestProviders.TestOnly(), new TestProviders.LowPriorityWeightedScore()));
        assertThat(registry.names()).containsExactly("test-only", "weighted-score");
        BalancingStrategy s = registry.create("weighted-score");
        assertThat(s).isInstanceOf(TestProviders.FirstCandidate.class);
        assertThatThrownBy(() -> StrategyRegistry.of(List.of(new TestProviders.BadName())))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("name: \"Bad Name\" (expected: lower case letters, digits and '-'");
    }

    private static URLClassLoader withTestServices() {
        URL dir = TEST_LOADER.getResource("strategy-registry-test/");
        assertThat(dir).isNotNull();
        return new URLClassLoader(new URL[] {dir}, TEST_LOADER);
    }

    /**
     * The test class path minus every {@code META-INF/services} file for strategies (a shaded jar that
     * lost them), and optionally minus router-strategies' classes too.
     */
    private static final class HidingLoader extends ClassLoader {
        private final boolean hideBuiltInClasses;

        HidingLoader(boolean hideBuiltInClasses) {
            super(TEST_LOADER);
            this.hideBuiltInClasses = hideBuiltInClasses;
        }

        @Override
        public Enumeration<URL> getResources(String name) throws IOException {
            return SERVICES.equals(name) ? Collections.emptyEnumeration() : super.getResources(name);
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            if (hideBuiltInClasses && name.startsWith("io.vllmrouter.strategies.")) {
                throw new ClassNotFoundException(name);
            }
            return super.loadClass(name, resolve);
        }
    }

    @Test
    void theDefaultLoaderIsTheContextLoaderOnlyWhenItSeesRouterCore() throws Exception {
        ClassLoader own = StrategyRegistry.class.getClassLoader();
        Thread t = Thread.currentThread();
        ClassLoader before = t.getContextClassLoader();
        try (URLClassLoader child = new URLClassLoader(new URL[0], own);
             URLClassLoader unrelated = new URLClassLoader(new URL[0], ClassLoader.getPlatformClassLoader())) {
            t.setContextClassLoader(child); // e.g. the proxy's plugin jars
            assertThat(StrategyRegistry.defaultLoader()).isSameAs(child);
            t.setContextClassLoader(unrelated); // cannot see the SPI: router-core's own loader
            assertThat(StrategyRegistry.defaultLoader()).isSameAs(own);
            t.setContextClassLoader(null);
            assertThat(StrategyRegistry.defaultLoader()).isSameAs(own);
        } finally {
            t.setContextClassLoader(before);
        }
    }
}
