package io.vllmrouter.core;

import io.vllmrouter.api.RouterListener;
import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.tomakehurst.wiremock.WireMockServer;
import io.vllmrouter.api.CircuitState;
import io.vllmrouter.api.NoHealthyBackendException;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.testing.FakeClock;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class CircuitBreakerTest {

    private static final byte[] REQ = "{\"model\":\"llama\"}".getBytes(StandardCharsets.UTF_8);

    private final FakeClock clock = new FakeClock();
    private final List<String> transitions = new CopyOnWriteArrayList<>();
    private WireMockServer a;
    private DefaultVllmRouter router;

    @BeforeEach
    void start() {
        a = new WireMockServer(wireMockConfig().dynamicPort().bindAddress("127.0.0.1"));
        a.start();
        router = VllmRouters.builder()
                .config(RouterConfig.builder()
                        .server(new ServerConfig(URI.create(a.baseUrl()), 4, List.of(), null))
                        .enableActiveHealthCheck(false)
                        .maxRetries(0)
                        .retryOnStatus(List.of())       // 500s reach the caller: the breaker alone judges
                        .circuitBreakerWindow(4)
                        .circuitBreakerMinimumCalls(4)
                        .circuitBreakerFailureRate(50)
                        .circuitBreakerWait(Duration.ofSeconds(15))
                        .circuitBreakerHalfOpenCalls(2)
                        .build())
                .ticker(clock).scheduler(clock)
                .strategy(new TestSupport.FirstStrategy())
                .probe(new TestSupport.FakeProbe())
                .listener(new RouterListener() {
                    @Override
                    public void onCircuitStateChange(String backend, CircuitState from, CircuitState to) {
                        transitions.add(from + "->" + to);
                    }
                })
                .buildRouter();
    }

    @AfterEach
    void stop() {
        router.close();
        a.stop();
    }

    private int send() throws Exception {
        try (RouterResponse r = router.route(RouterRequest.post("/v1/completions", REQ).build())) {
            r.body().readAllBytes();
            return r.status();
        }
    }

    private CircuitState state() {
        return router.stats().servers().get(0).circuitState();
    }

    @Test
    void opensAfterFailuresHalfOpensAfterItsWaitAndClosesOnSuccess() throws Exception {
        a.stubFor(post("/v1/completions").willReturn(aResponse().withStatus(500).withBody("boom")));
        for (int i = 0; i < 4; i++) {
            assertThat(send()).as("a 500 goes back to the caller").isEqualTo(500);
        }
        assertThat(state()).isEqualTo(CircuitState.OPEN);
        assertThat(router.stats().servers().get(0).status()).isFalse();
        assertThatThrownBy(this::send).isInstanceOf(NoHealthyBackendException.class);

        clock.advance(Duration.ofSeconds(14));
        assertThat(state()).isEqualTo(CircuitState.OPEN);
        clock.advance(Duration.ofSeconds(1));
        assertThat(state()).isEqualTo(CircuitState.HALF_OPEN);
        assertThat(router.stats().servers().get(0).status()).isTrue();

        a.stubFor(post("/v1/completions").willReturn(aResponse().withStatus(200).withBody("ok")));
        assertThat(send()).isEqualTo(200);
        assertThat(state()).isEqualTo(CircuitState.HALF_OPEN);
        assertThat(send()).isEqualTo(200);
        assertThat(state()).isEqualTo(CircuitState.CLOSED);
        clock.runDueTasks(); // breaker events reach the fleet (and the listener) on the scheduler
        assertThat(transitions).containsExactly("CLOSED->OPEN", "OPEN->HALF_OPEN", "HALF_OPEN->CLOSED");
    }

    @Test
    void aTransitionIsAppliedOnTheSchedulerNeverOnTheRequestThread() throws Exception {
        a.stubFor(post("/v1/completions").willReturn(aResponse().withStatus(500)));
        for (int i = 0; i < 4; i++) {
            send();
        }
        assertThat(state()).as("the breaker itself moved at once").isEqualTo(CircuitState.OPEN);
        assertThat(router.toString()).as("no snapshot rebuilt on the request thread").contains("admitted=1");
        assertThat(transitions).isEmpty();
        clock.runDueTasks();
        assertThat(router.toString()).contains("admitted=0");
        assertThat(transitions).containsExactly("CLOSED->OPEN");
    }

    @Test
    void failedTrialsInHalfOpenOpenItAgain() throws Exception {
        a.stubFor(post("/v1/completions").willReturn(aResponse().withStatus(500)));
        for (int i = 0; i < 4; i++) {
            send();
        }
        clock.advance(Duration.ofSeconds(15));
        assertThat(state()).isEqualTo(CircuitState.HALF_OPEN);
        send();
        send();
        assertThat(state()).isEqualTo(CircuitState.OPEN);
        clock.advance(Duration.ofSeconds(15));
        assertThat(state()).isEqualTo(CircuitState.HALF_OPEN);
        clock.runDueTasks(); // breaker events reach the fleet (and the listener) on the scheduler
        assertThat(transitions).containsExactly("CLOSED->OPEN", "OPEN->HALF_OPEN", "HALF_OPEN->OPEN", "OPEN->HALF_OPEN");
    }

    @Test
    void clientErrorsNeverOpenTheBreaker() throws Exception {
        a.stubFor(post("/v1/completions").willReturn(aResponse().withStatus(422)));
        for (int i = 0; i < 10; i++) {
            assertThat(send()).isEqualTo(422);
        }
        assertThat(state()).isEqualTo(CircuitState.CLOSED);
        assertThat(transitions).isEmpty();
    }

    @Test
    void leasesFeedTheBreakerToo() {
        for (int i = 0; i < 4; i++) {
            try (var lease = router.choose(RouterRequest.post("/v1/completions", REQ).build())) {
                assertThat(lease.baseUrl().toString()).isEqualTo(a.baseUrl());
                assertThat(router.stats().servers().get(0).inFlight()).isEqualTo(1);
                lease.failure(new java.io.IOException("reset"));
            }
        }
        assertThat(state()).isEqualTo(CircuitState.OPEN);
        assertThat(router.stats().servers().get(0).inFlight()).isZero();
        assertThatThrownBy(() -> router.choose(RouterRequest.post("/v1/completions", REQ).build()))
                .isInstanceOf(NoHealthyBackendException.class);
    }
}
