package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vllmrouter.api.NoBackendForModelException;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.core.metrics.LoadMetrics;
import io.vllmrouter.core.metrics.MetricsFormatException;
import io.vllmrouter.testing.FakeClock;
import io.vllmrouter.testing.RouterEvents;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ScrapeAndModelsTest {

    private static final String A = "http://gpu-a:8000";
    private static final String B = "http://gpu-b:8000";

    private final FakeClock clock = new FakeClock();
    private final TestSupport.FakeProbe probe = new TestSupport.FakeProbe();
    private final RouterEvents events = new RouterEvents();
    private DefaultVllmRouter router;

    @AfterEach
    void stop() {
        router.close();
    }

    private void router(ServerConfig... servers) {
        router = VllmRouters.builder()
                .config(RouterConfig.builder().servers(List.of(servers)).enableActiveHealthCheck(false)
                        .metricsInterval(Duration.ofSeconds(2)).metricsStaleAfter(3)
                        .modelsRefreshInterval(Duration.ofSeconds(60)).build())
                .ticker(clock).scheduler(clock).strategy(new TestSupport.FirstStrategy()).probe(probe).listener(events).buildRouter();
    }

    @Test
    void scrapesPublishFiguresAndFailuresMarkThemStaleAtOnce() {
        probe.metrics.put(A, u -> CompletableFuture.completedFuture(new LoadMetrics(2, 1, 0.785, 65535)));
        router(new ServerConfig(A, 3));
        clock.runDueTasks();
        var s = router.stats().servers().get(0);
        assertThat(s.currentLoad()).isEqualTo(3);
        assertThat(s.availableCapacity()).isZero();
        assertThat(s.utilizationPercent()).isEqualTo(100.0);
        assertThat(s.detailedMetrics().gpuCacheUsagePerc()).isEqualTo(78.5);
        assertThat(s.detailedMetrics().processMaxFds()).isEqualTo(65535);
        assertThat(s.detailedMetrics().stale()).isFalse();

        probe.metrics.put(A, u -> CompletableFuture.failedFuture(
                new MetricsFormatException(3, "bad sample")));
        clock.advance(Duration.ofSeconds(2));
        s = router.stats().servers().get(0);
        assertThat(s.detailedMetrics().stale()).isTrue();
        assertThat(s.currentLoad()).as("stale figures no longer steer").isZero();
    }

    @Test
    void theListenerHearsEachAppliedScrapeAndModelList() {
        probe.metrics.put(A, u -> CompletableFuture.completedFuture(new LoadMetrics(1, 0, 0.5, 1)));
        probe.models.put(A, u -> CompletableFuture.completedFuture(List.of(TestSupport.model("llama"))));
        router(new ServerConfig(A, 3));
        clock.runDueTasks();
        assertThat(events.events(RouterEvents.ModelsRefreshed.class))
                .containsExactly(new RouterEvents.ModelsRefreshed(A, List.of("llama")));
        assertThat(events.events(RouterEvents.MetricsScraped.class))
                .containsExactly(new RouterEvents.MetricsScraped(A, true));

        probe.metrics.put(A, u -> CompletableFuture.failedFuture(new MetricsFormatException(3, "bad sample")));
        clock.advance(Duration.ofSeconds(2));
        assertThat(events.events(RouterEvents.MetricsScraped.class))
                .containsExactly(new RouterEvents.MetricsScraped(A, true), new RouterEvents.MetricsScraped(A, false));
    }

    @Test
    void aHungScrapeIsNotStartedTwiceAndItsFiguresAgeOut() {
        List<CompletableFuture<LoadMetrics>> pending = new CopyOnWriteArrayList<>();
        probe.metrics.put(A, u -> {
            CompletableFuture<LoadMetrics> f = new CompletableFuture<>();
            pending.add(f);
            return f;
        });
        router(new ServerConfig(A, 3));
        clock.advance(Duration.ofSeconds(9));
        assertThat(pending).hasSize(1);
        pending.get(0).complete(new LoadMetrics(1, 0, 0.1, 1));
        clock.advance(Duration.ofSeconds(1));
        assertThat(pending).hasSize(2);
    }

    @Test
    void modelsAreLearnedAndSteerRequests() throws Exception {
        probe.models.put(A, u -> CompletableFuture.completedFuture(List.of(TestSupport.model("llama"))));
        probe.models.put(B, u -> CompletableFuture.completedFuture(List.of(TestSupport.model("qwen"),
                TestSupport.model("llama"))));
        router(new ServerConfig(A, 3), new ServerConfig(B, 3));
        assertThat(router.stats().servers().get(0).models()).containsExactly("llama");
        assertThat(router.models()).extracting(m -> m.id()).containsExactly("llama", "qwen");
        assertThat(json(router.models().get(0)).get("object").asText()).isEqualTo("model");

        byte[] qwen = "{\"model\":\"qwen\"}".getBytes(StandardCharsets.UTF_8);
        try (var lease = router.choose(RouterRequest.post("/v1/completions", qwen).build())) {
            assertThat(lease.backendId()).isEqualTo(B);
        }
        byte[] other = "{\"model\":\"mistral\"}".getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> router.choose(RouterRequest.post("/v1/completions", other).build()))
                .isInstanceOf(NoBackendForModelException.class).hasMessageContaining("[llama, qwen]");

        probe.models.put(A, u -> CompletableFuture.completedFuture(List.of(TestSupport.model("mistral"))));
        clock.advance(Duration.ofSeconds(60));
        try (var lease = router.choose(RouterRequest.post("/v1/completions", other).build())) {
            assertThat(lease.backendId()).isEqualTo(A);
        }
    }

    @Test
    void aBackendWhoseModelsAreUnknownServesAnyModel() {
        router(new ServerConfig(URI.create(A), 3, List.of("llama"), null), new ServerConfig(B, 3));
        byte[] other = "{\"model\":\"mistral\"}".getBytes(StandardCharsets.UTF_8);
        try (var lease = router.choose(RouterRequest.post("/v1/completions", other).build())) {
            assertThat(lease.backendId()).isEqualTo(B);
        }
        assertThat(probe.calls).contains("models " + B).doesNotContain("models " + A);
    }

    /** A model entry's JSON, parsed. */
    private static com.fasterxml.jackson.databind.JsonNode json(io.vllmrouter.api.ModelInfo m) throws Exception {
        return new com.fasterxml.jackson.databind.ObjectMapper().readTree(m.json());
    }

    @Test
    void aServerThatComesUpAfterTheRouterIsAskedForItsModelsAtOnce() {
        probe.healthFails(A);
        probe.models.put(A, u -> CompletableFuture.failedFuture(new java.net.ConnectException("Connection refused")));
        router = VllmRouters.builder()
                .config(RouterConfig.builder().server(new ServerConfig(A, 3)).healthCheckInterval(Duration.ofSeconds(5))
                        .healthCheckSuccessThreshold(1).modelsRefreshInterval(Duration.ofSeconds(60)).build())
                .ticker(clock).scheduler(clock).strategy(new TestSupport.FirstStrategy()).probe(probe).listener(events)
                .buildRouter();
        clock.runDueTasks();
        assertThat(router.stats().servers().get(0).models()).as("down at start: nothing known").isEmpty();

        probe.healthStatus(A, 200);
        probe.models.put(A, u -> CompletableFuture.completedFuture(List.of(TestSupport.model("llama"))));
        clock.advance(Duration.ofSeconds(5));   // the next health check passes; the models round is 55 s away

        assertThat(router.stats().servers().get(0).status()).isTrue();
        assertThat(router.stats().servers().get(0).models()).containsExactly("llama");
    }
}
