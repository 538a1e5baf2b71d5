package io.vllmrouter.core;

import io.vllmrouter.api.RequestOutcome;
import io.vllmrouter.api.RouterListener;
import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.absent;
import static com.github.tomakehurst.wiremock.client.WireMock.binaryEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.extension.Parameters;
import com.github.tomakehurst.wiremock.extension.ServeEventListener;
import com.github.tomakehurst.wiremock.stubbing.ServeEvent;
import static com.github.tomakehurst.wiremock.stubbing.Scenario.STARTED;
import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.CircuitState;
import io.vllmrouter.api.InvalidRequestException;
import io.vllmrouter.api.NoBackendForModelException;
import io.vllmrouter.api.NoHealthyBackendException;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.api.UpstreamException;
import io.vllmrouter.api.UpstreamTimeoutException;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.RouterConfigBuilder;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.testing.FakeClock;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ForwardingTest {

    private static final byte[] CHAT = "{\"model\":\"llama\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":false}"
            .getBytes(StandardCharsets.UTF_8);

    private WireMockServer a;
    private WireMockServer b;
    private DefaultVllmRouter router;
    private final FakeClock clock = new FakeClock();
    private final List<String> retries = new CopyOnWriteArrayList<>();
    private final List<RouterListener.RequestRecord> records = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() {
        a = new WireMockServer(wireMockConfig().dynamicPort().bindAddress("127.0.0.1"));
        b = new WireMockServer(wireMockConfig().dynamicPort().bindAddress("127.0.0.1"));
        a.start();
        b.start();
    }

    @AfterEach
    void stop() {
        if (router != null) {
            router.close();
        }
        a.stop();
        b.stop();
    }

    private DefaultVllmRouter router(RouterConfigBuilder config) {
        router = VllmRouters.builder()
                .config(config.enableActiveHealthCheck(false).retryDelay(Duration.ZERO).build())
                .ticker(clock)
                .scheduler(clock)
                .strategy(new TestSupport.FirstStrategy())
                .probe(new TestSupport.FakeProbe())
                .listener(new RouterListener() {
                    @Override
                    public void onRetry(String requestId, String failedBackend, String reason) {
                        retries.add(failedBackend + " " + reason);
                    }

                    @Override
                    public void onRequestComplete(RequestRecord record) {
                        records.add(record);
                    }
                })
                .buildRouter();
        return router;
    }

    private static ServerConfig server(String url) {
        return new ServerConfig(URI.create(url), 4, List.of(), null);
    }

    private static String body(RouterResponse r) throws Exception {
        return new String(r.body().readAllBytes(), StandardCharsets.UTF_8);
    }

    @Test
    void refusedConnectionIsRetriedOnAnotherBackend() throws Exception {
        String dead = "http://127.0.0.1:" + TestSupport.unusedPort();
        b.stubFor(post("/v1/chat/completions").willReturn(aResponse().withStatus(200).withBody("{\"ok\":true}")));
        router(RouterConfig.builder().server(server(dead)).server(server(b.baseUrl())));

        try (RouterResponse r = router.route(RouterRequest.post("/v1/chat/completions", CHAT).build())) {
            assertThat(r.status()).isEqualTo(200);
            assertThat(body(r)).isEqualTo("{\"ok\":true}");
            assertThat(r.backendId()).isEqualTo(b.baseUrl());
            assertThat(r.attempts()).isEqualTo(2);
        }
        assertThat(retries).hasSize(1);
        assertThat(retries.get(0)).startsWith(dead).containsIgnoringCase("connect").doesNotContain("Exception");
        assertThat(records).singleElement().satisfies(rec -> {
            assertThat(rec.status()).isEqualTo(200);
            assertThat(rec.outcome()).isEqualTo(RequestOutcome.SUCCESS);
            assertThat(rec.retries()).isEqualTo(1);
            assertThat(rec.bytes()).isEqualTo(11);
        });
        BackendStats deadStats = router.stats().servers().get(0);
        assertThat(deadStats.requests().failed()).isEqualTo(1);
        assertThat(deadStats.inFlight()).isZero();
    }

    @Test
    void answer503IsRetriedOnAnotherBackendAndTheCallerSees200() throws Exception {
        a.stubFor(post("/v1/chat/completions").willReturn(aResponse().withStatus(503).withBody("overloaded")));
        b.stubFor(post("/v1/chat/completions").willReturn(aResponse().withStatus(200).withBody("fine")));
        router(RouterConfig.builder().server(server(a.baseUrl())).server(server(b.baseUrl())));

        try (RouterResponse r = router.route(RouterRequest.post("/v1/chat/completions", CHAT).build())) {
            assertThat(r.status()).isEqualTo(200);
            assertThat(body(r)).isEqualTo("fine");
            assertThat(r.attempts()).isEqualTo(2);
        }
        a.verify(1, postRequestedFor(urlEqualTo("/v1/chat/completions")));
        assertThat(retries).containsExactly(a.baseUrl() + " status 503");
    }

    @Test
    void clientErrorReachesTheCallerUnchangedAndDoesNotCountAgainstTheBackend() throws Exception {
        a.stubFor(post("/v1/chat/completions").willReturn(aResponse().withStatus(400)
                .withHeader("Content-Type", "application/json").withHeader("X-Backend", "a")
                .withBody("{\"error\":{\"message\":\"bad\"}}")));
        router(RouterConfig.builder().server(server(a.baseUrl())).server(server(b.baseUrl()))
                .circuitBreakerMinimumCalls(1).circuitBreakerWindow(1));

        for (int i = 0; i < 3; i++) {
            try (RouterResponse r = router.route(RouterRequest.post("/v1/chat/completions", CHAT).build())) {
                assertThat(r.status()).isEqualTo(400);
                assertThat(r.header("x-backend")).isEqualTo("a");
                assertThat(r.header("content-type")).isEqualTo("application/json");
                assertThat(body(r)).isEqualTo("{\"error\":{\"message\":\"bad\"}}");
                assertThat(r.attempts()).isEqualTo(1);
            }
        }
        BackendStats s = router.stats().servers().get(0);
        assertThat(s.status()).isTrue();
        assertThat(s.circuitState()).isEqualTo(CircuitState.CLOSED);
        assertThat(s.requests().succeeded()).isEqualTo(3);
        assertThat(s.requests().failed()).isZero();
        assertThat(retries).isEmpty();
        assertThat(records).extracting(RouterListener.RequestRecord::outcome).containsOnly(RequestOutcome.CLIENT_ERROR);
    }

    @Test
    void allAttemptsFailingGives502NamingTheAttemptsAndNoBackendRunsTheRequestTwice() {
        a.stubFor(post("/v1/chat/completions").willReturn(aResponse().withStatus(502)));
        b.stubFor(post("/v1/chat/completions").willReturn(aResponse().withStatus(504)));
        router(RouterConfig.builder().server(server(a.baseUrl())).server(server(b.baseUrl())).maxRetries(3));

        assertThatThrownBy(() -> router.route(RouterRequest.post("/v1/chat/completions", CHAT).build()))
                .isInstanceOfSatisfying(UpstreamException.class, e -> {
                    assertThat(e.httpStatus()).isEqualTo(502);
                    assertThat(e.attempts()).isEqualTo(2);
                    assertThat(e.getMessage()).startsWith("all 2 attempts failed (backends tried: 2; last: status 504 from "
                            + b.baseUrl() + ")");
                });
        // a, then b; a 502 or 504 may have run the request, so neither gets it again though retries are left
        a.verify(1, postRequestedFor(urlEqualTo("/v1/chat/completions")));
        b.verify(1, postRequestedFor(urlEqualTo("/v1/chat/completions")));
        assertThat(records).singleElement().satisfies(rec -> {
            assertThat(rec.status()).isEqualTo(502);
            assertThat(rec.outcome()).isEqualTo(RequestOutcome.UPSTREAM_ERROR);
            assertThat(rec.retries()).isEqualTo(1);
        });
    }

    @Test
    void aBackendThatRefusedTheRequestMayTakeItAgain() throws Exception {
        a.stubFor(post("/v1/chat/completions").inScenario("busy").whenScenarioStateIs(STARTED)
                .willReturn(aResponse().withStatus(503)).willSetStateTo("free"));
        a.stubFor(post("/v1/chat/completions").inScenario("busy").whenScenarioStateIs("free")
                .willReturn(aResponse().withStatus(200).withBody("ok")));
        router(RouterConfig.builder().server(server(a.baseUrl())).maxRetries(1));

        try (RouterResponse r = router.route(RouterRequest.post("/v1/chat/completions", CHAT).build())) {
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.attempts()).isEqualTo(2);
        }
        a.verify(2, postRequestedFor(urlEqualTo("/v1/chat/completions")));
    }

    @Test
    void timeoutAfterTheBackendAcceptedIs504AndNotRetried() throws Exception {
        CountDownLatch received = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger arrivals = new java.util.concurrent.atomic.AtomicInteger();
        WireMockServer slow = new WireMockServer(wireMockConfig().dynamicPort().bindAddress("127.0.0.1")
                .extensions(new ServeEventListener() {
                    @Override
                    public String getName() {
                        return "received";
                    }

                    @Override
                    public void beforeMatch(ServeEvent serveEvent, Parameters parameters) {
                        arrivals.incrementAndGet();
                        received.countDown();
                    }
                }));
        slow.start();
        try {
            slow.stubFor(post("/v1/chat/completions").willReturn(aResponse().withStatus(200).withFixedDelay(10_000)));
            b.stubFor(post("/v1/chat/completions").willReturn(aResponse().withStatus(200)));
            router(RouterConfig.builder().server(server(slow.baseUrl())).server(server(b.baseUrl())));

            RouterRequest req = RouterRequest.post("/v1/chat/completions", CHAT).timeout(Duration.ofMillis(200)).build();
            CompletableFuture<RouterResponse> f = router.routeAsync(req);
            assertThat(received.await(20, TimeUnit.SECONDS)).as("the backend got the request").isTrue();
            clock.advance(Duration.ofMillis(199));
            assertThat(f).isNotDone();
            clock.advance(Duration.ofMillis(1));
            assertThatThrownBy(() -> f.get(20, TimeUnit.SECONDS)).cause()
                    .isInstanceOfSatisfying(UpstreamTimeoutException.class, e -> assertThat(e.httpStatus()).isEqualTo(504));
            assertThat(arrivals).hasValue(1); // (the journal lists a request only once it was answered)
            b.verify(0, postRequestedFor(urlEqualTo("/v1/chat/completions")));
            assertThat(retries).isEmpty();
            assertThat(router.stats().servers().get(0).inFlight()).isZero();
            assertThat(records).singleElement().extracting(RouterListener.RequestRecord::outcome)
                    .isEqualTo(RequestOutcome.TIMEOUT);
        } finally {
            slow.stop();
        }
    }

    @Test
    void bodyIsForwardedByteForByteWithHopByHopHeadersDroppedAndTheApiKeyApplied() throws Exception {
        a.stubFor(post("/v1/chat/completions").willReturn(aResponse().withStatus(200).withBody("ok")
                .withHeader("X-Upstream", "yes")));
        router(RouterConfig.builder().server(new ServerConfig(URI.create(a.baseUrl()), 4, List.of(), "sk-backend")));
        byte[] odd = "{ \"model\" : \"llama\",\n  \"x\": 1.50e0 }".getBytes(StandardCharsets.UTF_8);

        RouterRequest req = RouterRequest.post("/v1/chat/completions", odd)
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer client-key")
                .header("Connection", "keep-alive, X-Hop")
                .header("X-Hop", "drop me")
                .header("Proxy-Authorization", "secret")
                .header("Keep-Alive", "timeout=5")
                .header("X-Custom", "kept")
                .build();
        try (RouterResponse r = router.route(req)) {
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("x-upstream")).isEqualTo("yes");
            assertThat(r.headers().keySet()).noneMatch(k -> k.equalsIgnoreCase("transfer-encoding")
                    || k.equalsIgnoreCase("content-length") || k.equalsIgnoreCase("connection"));
            assertThat(body(r)).isEqualTo("ok");
        }
        a.verify(postRequestedFor(urlEqualTo("/v1/chat/completions"))
                .withRequestBody(binaryEqualTo(odd))
                .withHeader("Authorization", equalTo("Bearer sk-backend"))
                .withHeader("X-Custom", equalTo("kept"))
                .withHeader("X-Hop", absent())
                .withHeader("Proxy-Authorization", absent())
                .withHeader("Keep-Alive", absent()));
    }

    @Test
    void invalidJsonIs400AndNeverReachesABackend() {
        router(RouterConfig.builder().server(server(a.baseUrl())));
        byte[] bad = "{\"model\": \"llama\", ".getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> router.route(RouterRequest.post("/v1/chat/completions", bad).build()))
                .isInstanceOfSatisfying(InvalidRequestException.class, e -> assertThat(e.httpStatus()).isEqualTo(400));
        assertThatThrownBy(() -> router.route(RouterRequest.post("/v1/chat/completions",
                "{\"model\": 5}".getBytes(StandardCharsets.UTF_8)).build()))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("model");
        assertThatThrownBy(() -> router.route(RouterRequest.post("/v1/chat/completions",
                "{\"model\":\"x\",\"messages\":[".getBytes(StandardCharsets.UTF_8)).build()))
                .isInstanceOf(InvalidRequestException.class)
                .hasMessage("Request body is not valid JSON: Unexpected end-of-input: expected close marker for Array"
                        + " (opened at line 1, column 25)");
        assertThat(a.getAllServeEvents()).isEmpty();
    }

    @Test
    void modelNoBackendServesIs404ListingTheModelsServed() {
        router(RouterConfig.builder()
                .server(new ServerConfig(URI.create(a.baseUrl()), 4, List.of("llama", "qwen"), null)));
        byte[] req = "{\"model\":\"gpt-9\"}".getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> router.route(RouterRequest.post("/v1/chat/completions", req).build()))
                .isInstanceOfSatisfying(NoBackendForModelException.class, e -> {
                    assertThat(e.httpStatus()).isEqualTo(404);
                    assertThat(e.getMessage()).contains("gpt-9").contains("[llama, qwen]");
                });
    }

    @Test
    void requestsGoOnlyToBackendsServingTheModel() throws Exception {
        a.stubFor(post("/v1/chat/completions").willReturn(aResponse().withStatus(200).withBody("a")));
        b.stubFor(post("/v1/chat/completions").willReturn(aResponse().withStatus(200).withBody("b")));
        router(RouterConfig.builder()
                .server(new ServerConfig(URI.create(a.baseUrl()), 4, List.of("qwen"), null))
                .server(new ServerConfig(URI.create(b.baseUrl()), 4, List.of("llama"), null)));
        try (RouterResponse r = router.route(RouterRequest.post("/v1/chat/completions", CHAT).build())) {
            assertThat(body(r)).isEqualTo("b");
        }
        assertThat(router.models()).extracting(m -> m.id()).containsExactly("qwen", "llama");
    }

    @Test
    void noAdmittedBackendIs503WithRetryAfter() {
        router(RouterConfig.builder().healthCheckInterval(Duration.ofSeconds(7)));
        assertThatThrownBy(() -> router.route(RouterRequest.post("/v1/chat/completions", CHAT).build()))
                .isInstanceOfSatisfying(NoBackendForModelException.class, e -> assertThat(e.httpStatus()).isEqualTo(404));
        assertThatThrownBy(() -> router.route(RouterRequest.get("/v1/models").build()))
                .isInstanceOfSatisfying(NoHealthyBackendException.class, e -> {
                    assertThat(e.httpStatus()).isEqualTo(503);
                    assertThat(e.retryAfterSeconds()).isEqualTo(7);
                });
    }

    @Test
    void cancellingRouteAsyncBeforeTheHeadersCancelsTheAttempt() throws Exception {
        a.stubFor(post("/v1/chat/completions").willReturn(aResponse().withStatus(200).withFixedDelay(1_500)));
        router(RouterConfig.builder().server(server(a.baseUrl())));
        var f = router.routeAsync(RouterRequest.post("/v1/chat/completions", CHAT).build());
        assertThat(f.cancel(true)).isTrue();
        assertThat(records).singleElement().satisfies(rec -> {
            assertThat(rec.outcome()).isEqualTo(RequestOutcome.CANCELLED);
            assertThat(rec.status()).isEqualTo(499);
        });
        BackendStats s = router.stats().servers().get(0);
        assertThat(s.inFlight()).isZero();
        assertThat(s.requests().failed()).isZero();
    }

    @Test
    void aLeaseClosedWithoutOutcomeCountsAsCancelled() {
        router(RouterConfig.builder().server(server(a.baseUrl())));
        try (var lease = router.choose(RouterRequest.post("/v1/chat/completions", CHAT).build())) {
            assertThat(lease.backendId()).isEqualTo(a.baseUrl());
            assertThat(router.stats().servers().get(0).inFlight()).isEqualTo(1);
        }
        BackendStats s = router.stats().servers().get(0);
        assertThat(s.inFlight()).isZero();
        assertThat(s.requests().total()).isEqualTo(1);
        assertThat(s.requests().failed()).isZero();
        assertThat(records).singleElement().extracting(RouterListener.RequestRecord::outcome).isEqualTo(RequestOutcome.CANCELLED);
    }
}
