package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.CircuitState;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.RouterConfigBuilder;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.testing.FakeClock;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ReconfigureTest {

    private static final byte[] REQ = "{\"model\":\"llama\",\"stream\":true}".getBytes(StandardCharsets.UTF_8);

    private final FakeClock clock = new FakeClock();
    private final TestSupport.FakeProbe probe = new TestSupport.FakeProbe();
    private DefaultVllmRouter router;
    private HttpServer server;

    @AfterEach
    void stop() {
        if (router != null) {
            router.close();
        }
        if (server != null) {
            server.stop(0);
        }
    }

    private static RouterConfigBuilder base() {
        return RouterConfig.builder().enableActiveHealthCheck(false).strategy("test-first");
    }

    private DefaultVllmRouter router(RouterConfig c) {
        router = VllmRouters.builder().config(c).ticker(clock).scheduler(clock).probe(probe).buildRouter();
        return router;
    }

    @Test
    void addedServersJoinRemovedOnesFinishTheirInFlightRequests() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.createContext("/", ex -> {
            ex.getRequestBody().readAllBytes();
            ex.getResponseHeaders().add("Content-Type", "text/event-stream");
            ex.sendResponseHeaders(200, 0);
            try (OutputStream out = ex.getResponseBody()) {
                out.write("data: one\n\n".getBytes(StandardCharsets.UTF_8));
                out.flush();
                release.await(10, TimeUnit.SECONDS);
                out.write("data: two\n\ndata: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        server.start();
        String old = "http://127.0.0.1:" + server.getAddress().getPort();
        String added = "http://gpu-new:8000";
        router(base().server(new ServerConfig(old, 4)).build());
        var loadedAt = router.stats().configLoadedAt();

        RouterResponse r = router.route(RouterRequest.post("/v1/chat/completions", REQ).build());
        BufferedReader reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8));
        assertThat(reader.readLine()).isEqualTo("data: one");

        clock.advance(Duration.ofSeconds(1));
        router.reconfigure(base().server(new ServerConfig(URI.create(added), 8, List.of("llama"), null)).build());

        List<BackendStats> servers = router.stats().servers();
        assertThat(servers).extracting(BackendStats::url).containsExactly(added, old);
        assertThat(servers.get(1).draining()).isTrue();
        assertThat(servers.get(1).inFlight()).isEqualTo(1);
        assertThat(router.stats().summary().totalServers()).isEqualTo(1);
        assertThat(router.stats().configLoadedAt()).isAfter(loadedAt);
        try (var lease = router.choose(RouterRequest.post("/v1/chat/completions", REQ).build())) {
            assertThat(lease.backendId()).as("new requests go to the remaining server").isEqualTo(added);
        }

        release.countDown();
        assertThat(reader.readLine()).isEmpty();
        assertThat(reader.readLine()).isEqualTo("data: two");
        assertThat(reader.readLine()).isEmpty();
        assertThat(reader.readLine()).isEqualTo("data: [DONE]");
        assertThat(reader.readLine()).isEmpty();
        assertThat(reader.readLine()).isNull();
        r.close();
        assertThat(router.stats().servers()).extracting(BackendStats::url).containsExactly(added);
    }

    @Test
    void changedCapacityAndBreakerSettingsApplyAndAnUnknownStrategyIsRefused() {
        String a = "http://gpu-a:8000";
        router(base().server(new ServerConfig(a, 4)).circuitBreakerMinimumCalls(2).circuitBreakerWindow(2).build());
        for (int i = 0; i < 2; i++) {
            try (var lease = router.choose(RouterRequest.get("/v1/models").build())) {
                lease.failure(null);
            }
        }
        assertThat(router.stats().servers().get(0).circuitState()).isEqualTo(CircuitState.OPEN);

        router.reconfigure(base().server(new ServerConfig(a, 16)).circuitBreakerMinimumCalls(3)
                .circuitBreakerWindow(3).build());
        BackendStats s = router.stats().servers().get(0);
        assertThat(s.maxCapacity()).isEqualTo(16);
        assertThat(s.circuitState()).as("new breaker settings build new breakers").isEqualTo(CircuitState.CLOSED);
        assertThat(s.status()).isTrue();

        RouterConfig before = router.config();
        assertThatThrownBy(() -> router.reconfigure(base().strategy("no-such").server(new ServerConfig(a, 1)).build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no-such").hasMessageContaining("test-first");
        assertThat(router.config()).isSameAs(before);
        assertThat(router.stats().servers().get(0).maxCapacity()).isEqualTo(16);

        router.reconfigure(base().strategy("test-fewest").server(new ServerConfig(a, 16)).build());
        assertThat(router.stats().strategy()).isEqualTo("test-fewest");
    }

    @Test
    void changedIntervalsReschedule() {
        String a = "http://gpu-a:8000";
        router(base().server(new ServerConfig(a, 4)).metricsInterval(Duration.ofSeconds(10)).build());
        clock.runDueTasks();
        probe.calls.clear();
        router.reconfigure(base().server(new ServerConfig(a, 4)).metricsInterval(Duration.ofSeconds(1)).build());
        clock.advance(Duration.ofSeconds(5));
        assertThat(probe.calls.stream().filter(c -> c.startsWith("metrics"))).hasSize(6);
    }

    @Test
    void unknownStrategyFailsAtBuildListingTheNames() {
        assertThatThrownBy(() -> router(base().strategy("nope").build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("strategy: \"nope\"").hasMessageContaining("test-fewest");
    }

    @Test
    void theApiTakesTomlTextAndRefusesAnUnknownStrategyWithTheKnownNames() {
        router(base().server(new ServerConfig("http://gpu-a:8000", 4)).build());
        io.vllmrouter.api.VllmRouter api = router;
        api.reconfigure("[servers]\nservers = [ { url = \"http://gpu-b:8000\", max_concurrent_requests = 8,"
                + " models = [\"llama\"] } ]\n[config]\nenable_active_health_check = false\n");
        assertThat(api.config().servers()).extracting(io.vllmrouter.api.BackendSettings::id)
                .containsExactly("http://gpu-b:8000");
        assertThat(api.models()).extracting(io.vllmrouter.api.ModelInfo::id).containsExactly("llama");
        assertThat(api.models().get(0).json()).contains("\"id\":\"llama\"");

        assertThatThrownBy(() -> api.reconfigure("[config]\nstrategy = \"fastest\"\n"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("config.strategy").hasMessageContaining("fastest")
                .hasMessageContaining("test-fewest");
        assertThat(api.config().servers()).hasSize(1);
    }
}
