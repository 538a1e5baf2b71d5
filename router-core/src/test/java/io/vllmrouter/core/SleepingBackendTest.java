package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.NoHealthyBackendException;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.core.metrics.LoadMetrics;
import io.vllmrouter.core.metrics.PrometheusParser;
import io.vllmrouter.api.transport.UpstreamResponse;
import io.vllmrouter.testing.FakeClock;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A server whose {@code vllm:engine_sleep_state} says its engines are asleep gets no requests, and
 * says why in the stats, until a scrape finds it awake or its figures go stale.
 */
class SleepingBackendTest {

    private static final String A = "http://gpu-a:8000";
    private static final String B = "http://gpu-b:8000";
    private static final byte[] CHAT = "{\"model\":\"m\",\"messages\":[]}".getBytes(StandardCharsets.UTF_8);

    private final FakeClock clock = new FakeClock();
    private final TestSupport.FakeProbe probe = new TestSupport.FakeProbe();
    private final ScriptedTransport transport = new ScriptedTransport();
    /** The first candidate, remembering the cache epoch of the backend it picked last. */
    private final io.vllmrouter.api.spi.BalancingStrategy first = new io.vllmrouter.api.spi.BalancingStrategy() {
        @Override
        public io.vllmrouter.api.spi.BackendView pick(List<? extends io.vllmrouter.api.spi.BackendView> candidates,
                                                      io.vllmrouter.api.spi.RouteContext context) {
            lastEpoch = candidates.get(0).cacheEpoch();
            return candidates.get(0);
        }
    };
    private volatile long lastEpoch;
    private DefaultVllmRouter router;

    @AfterEach
    void stop() {
        router.close();
    }

    private static LoadMetrics page(String fixture) throws Exception {
        try (InputStream in = SleepingBackendTest.class.getResourceAsStream("/fixtures/metrics/" + fixture)) {
            return PrometheusParser.parseLoad(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    private void router(String... servers) {
        io.vllmrouter.core.config.RouterConfigBuilder c = RouterConfig.builder().enableActiveHealthCheck(false)
                .metricsInterval(Duration.ofSeconds(2)).metricsStaleAfter(3);
        for (String s : servers) {
            c.server(new ServerConfig(s, 4));
        }
        for (String s : servers) {
            transport.answer(s, r -> CompletableFuture.completedFuture(
                    UpstreamResponse.of(200, Map.of("content-type", List.of("application/json")), Chunks.of("{}"))));
        }
        router = VllmRouters.builder().config(c.build()).ticker(clock).scheduler(clock)
                .strategy(first).probe(probe).transport(transport).buildRouter();
    }

    private String routed() throws IOException {
        try (RouterResponse r = router.route(RouterRequest.post("/v1/chat/completions", CHAT)
                .header("Content-Type", "application/json").build())) {
            r.body().readAllBytes();
            return r.backendId();
        }
    }

    private BackendStats stats(String id) {
        return router.stats().servers().stream().filter(s -> s.url().equals(id)).findFirst().orElseThrow();
    }

    @Test
    void aSleepingServerGetsNothingUntilAScrapeFindsItAwake() throws Exception {
        LoadMetrics asleep = page("vllm-v1-sleeping.txt");
        LoadMetrics awake = page("vllm-v1-dp4.txt");
        probe.metrics.put(A, u -> CompletableFuture.completedFuture(asleep));
        probe.metrics.put(B, u -> CompletableFuture.completedFuture(awake));
        router(A, B);
        clock.runDueTasks();

        for (int i = 0; i < 5; i++) {
            assertThat(routed()).as("the first candidate would be A, which is asleep").isEqualTo(B);
        }
        BackendStats a = stats(A);
        assertThat(a.status()).isFalse();
        assertThat(a.ineligibleReason()).isEqualTo("asleep (sleep level 1: weights offloaded)");
        assertThat(a.health().healthy()).as("the health checks have nothing against it").isTrue();
        assertThat(a.requests().total()).isZero();
        assertThat(stats(B).ineligibleReason()).isNull();
        assertThat(router.stats().summary().healthyServers()).isEqualTo(1);

        probe.metrics.put(A, u -> CompletableFuture.completedFuture(awake));
        clock.advance(Duration.ofSeconds(2));
        assertThat(routed()).isEqualTo(A);
        assertThat(stats(A).status()).isTrue();
        assertThat(stats(A).ineligibleReason()).isNull();
    }

    @Test
    void goingToSleepEmptiesTheCacheAwareIndexAndStaleFiguresStopKeepingItOut() throws Exception {
        LoadMetrics awake = page("vllm-v1-dp4.txt");
        probe.metrics.put(A, u -> CompletableFuture.completedFuture(awake));
        router(A);
        clock.runDueTasks();
        routed();
        long epoch = lastEpoch;

        LoadMetrics asleep = page("vllm-v1-sleeping.txt");
        probe.metrics.put(A, u -> CompletableFuture.completedFuture(asleep));
        clock.advance(Duration.ofSeconds(2));
        Assertions.assertThatThrownBy(this::routed).isInstanceOf(NoHealthyBackendException.class);

        probe.metrics.put(A, u -> new CompletableFuture<>());      // scrapes hang from now on
        clock.advance(Duration.ofSeconds(2 * 4));
        assertThat(stats(A).detailedMetrics().stale()).isTrue();
        assertThat(stats(A).ineligibleReason()).as("a stale page no longer says it sleeps").isNull();
        assertThat(routed()).isEqualTo(A);
        assertThat(lastEpoch).as("vLLM resets its prefix cache when it sleeps").isNotEqualTo(epoch);
    }

    @Test
    void theSleepModeEndpointsStillReachASleepingServer() throws Exception {
        LoadMetrics asleep = page("vllm-v1-sleeping.txt");
        probe.metrics.put(A, u -> CompletableFuture.completedFuture(asleep));
        router(A);
        clock.runDueTasks();
        Assertions.assertThatThrownBy(this::routed).as("no generation for a sleeping server")
                .isInstanceOf(NoHealthyBackendException.class);

        for (RouterRequest r : List.of(RouterRequest.get("/is_sleeping").build(),
                RouterRequest.post("/wake_up", new byte[0]).build(),
                RouterRequest.post("/sleep?level=1", new byte[0]).build())) {
            try (RouterResponse response = router.route(r)) {
                response.body().readAllBytes();
                assertThat(response.backendId()).as(r.path()).isEqualTo(A);
            }
        }
        assertThat(transport.sent).extracting(q -> q.target()).contains("/is_sleeping", "/wake_up", "/sleep?level=1");
    }
}
