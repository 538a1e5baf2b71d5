package io.vllmrouter.core;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.tomakehurst.wiremock.WireMockServer;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.core.metrics.BackendClient;
import io.vllmrouter.testing.FakeClock;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The router with its production probe ({@link BackendClient}) against WireMock: scrapes, model
 * lists and health checks over real HTTP. Time is a fake clock; each round is awaited directly.
 * Skipped while BackendClient is still the contract stub.
 */
class BackendClientIntegrationTest {

    private final FakeClock clock = new FakeClock();
    private WireMockServer vllm;
    private DefaultVllmRouter router;

    @BeforeEach
    void start() {
        Assumptions.assumeTrue(backendClientImplemented(), "BackendClient is still the contract stub");
        vllm = new WireMockServer(wireMockConfig().dynamicPort().bindAddress("127.0.0.1"));
        vllm.start();
    }

    @AfterEach
    void stop() {
        if (router != null) {
            router.close();
        }
        if (vllm != null) {
            vllm.stop();
        }
    }

    private static boolean backendClientImplemented() {
        try {
            new BackendClient(HttpClient.newHttpClient())
                    .checkHealth(URI.create("http://127.0.0.1:1"), null, Duration.ofMillis(100));
            return true;
        } catch (UnsupportedOperationException e) {
            return false;
        }
    }

    private static String fixture(String name) throws Exception {
        try (InputStream in = BackendClientIntegrationTest.class.getResourceAsStream("/fixtures/metrics/" + name)) {
            assertThat(in).as("fixtures/metrics/%s on the test class path", name).isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private void router() {
        router = VllmRouters.builder()
                .config(RouterConfig.builder().server(new ServerConfig(vllm.baseUrl(), 8))
                        .healthCheckFailureThreshold(2).healthCheckSuccessThreshold(1).build())
                .ticker(clock).scheduler(clock).strategy(new TestSupport.FirstStrategy()).buildRouter();
    }

    @Test
    void scrapesModelsAndHealthOverHttp() throws Exception {
        vllm.stubFor(get("/metrics").willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "text/plain; version=0.0.4").withBody(fixture("vllm-v1-dp2.txt"))));
        vllm.stubFor(get("/v1/models").willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json")
                .withBody("{\"object\":\"list\",\"data\":[{\"id\":\"llama\",\"object\":\"model\",\"max_model_len\":8192}]}")));
        vllm.stubFor(get("/health").willReturn(aResponse().withStatus(200)));
        router();

        router.runHealthChecks().get(10, TimeUnit.SECONDS);
        router.runScrapes().get(10, TimeUnit.SECONDS);
        router.runModelRefresh().get(10, TimeUnit.SECONDS);
        var s = router.stats().servers().get(0);
        assertThat(s.detailedMetrics().stale()).isFalse();
        assertThat(s.detailedMetrics().numRequestsRunning()).isEqualTo(7);
        assertThat(s.detailedMetrics().numRequestsWaiting()).isEqualTo(5);
        assertThat(s.currentLoad()).isEqualTo(12);
        assertThat(s.models()).containsExactly("llama");
        assertThat(json(router.models().get(0)).get("max_model_len").asInt()).isEqualTo(8192);

        vllm.stubFor(get("/health").willReturn(aResponse().withStatus(503)));
        router.runHealthChecks().get(10, TimeUnit.SECONDS);
        router.runHealthChecks().get(10, TimeUnit.SECONDS);
        assertThat(router.stats().servers().get(0).status()).isFalse();
        vllm.stubFor(get("/health").willReturn(aResponse().withStatus(200)));
        router.runHealthChecks().get(10, TimeUnit.SECONDS);
        assertThat(router.stats().servers().get(0).status()).isTrue();

        vllm.stubFor(get("/metrics").willReturn(aResponse().withStatus(500)));
        router.runScrapes().get(10, TimeUnit.SECONDS);
        assertThat(router.stats().servers().get(0).detailedMetrics().stale()).isTrue();
    }

    /** A model entry's JSON, parsed. */
    private static com.fasterxml.jackson.databind.JsonNode json(io.vllmrouter.api.ModelInfo m) throws Exception {
        return new com.fasterxml.jackson.databind.ObjectMapper().readTree(m.json());
    }
}
