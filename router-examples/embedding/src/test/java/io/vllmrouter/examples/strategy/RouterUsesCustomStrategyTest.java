package io.vllmrouter.examples.strategy;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.tomakehurst.wiremock.WireMockServer;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.core.VllmRouters;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.testing.FakeClock;
import io.vllmrouter.testing.RouterEvents;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The router finds the host-written {@code kv-cache-aware} strategy through ServiceLoader when the
 * config names it, and its picks decide where requests go.
 */
class RouterUsesCustomStrategyTest {

    private final WireMockServer busyCache = new WireMockServer(wireMockConfig().dynamicPort().bindAddress("127.0.0.1"));
    private final WireMockServer freeCache = new WireMockServer(wireMockConfig().dynamicPort().bindAddress("127.0.0.1"));
    private final FakeClock clock = new FakeClock();
    private VllmRouter router;

    @BeforeEach
    void start() {
        stub(busyCache, 0.90);
        stub(freeCache, 0.10);
    }

    private static void stub(WireMockServer s, double kvUsage) {
        s.start();
        s.stubFor(get(urlEqualTo("/metrics")).willReturn(aResponse().withStatus(200).withBody(
                "vllm:num_requests_running{engine=\"0\",model_name=\"m\"} 0\n"
                        + "vllm:num_requests_waiting{engine=\"0\",model_name=\"m\"} 0\n"
                        + "vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"m\"} " + kvUsage + "\n")));
        s.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody("{\"choices\":[]}")));
    }

    @AfterEach
    void stop() {
        if (router != null) {
            router.close();
        }
        busyCache.stop();
        freeCache.stop();
    }

    @Test
    void configNamingTheCustomStrategySendsEveryRequestToTheFreeKvCache() throws Exception {
        RouterConfig config = RouterConfig.builder()
                .server(new ServerConfig(java.net.URI.create("http://127.0.0.1:" + busyCache.port()), 4, java.util.List.of("m"), null))
                .server(new ServerConfig(java.net.URI.create("http://127.0.0.1:" + freeCache.port()), 4, java.util.List.of("m"), null))
                .enableActiveHealthCheck(false)
                .strategy(KvCacheAwareStrategy.NAME)
                .build();
        RouterEvents events = new RouterEvents();
        router = VllmRouters.builder().config(config).ticker(clock).scheduler(clock)
                .random(new SplittableRandom(7)).listener(events).build();
        assertThat(router.stats().strategy()).isEqualTo("kv-cache-aware");
        clock.runDueTasks(); // the first scrape round starts now; its answers arrive asynchronously
        events.awaitCount(RouterEvents.MetricsScraped.class, RouterEvents.MetricsScraped::ok, 2, Duration.ofSeconds(10));
        assertThat(router.stats().servers()).allSatisfy(s -> assertThat(s.detailedMetrics().ageMillis()).isNotNegative());

        byte[] body = "{\"model\":\"m\",\"messages\":[]}".getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < 10; i++) {
            try (RouterResponse r = router.route(RouterRequest.post("/v1/chat/completions", body).build())) {
                r.body().readAllBytes();
                assertThat(r.backendId()).isEqualTo("http://127.0.0.1:" + freeCache.port());
            }
        }
        // weighted-score would split these ties at random; kv-cache-aware sends none to the busy cache.
        busyCache.verify(0, postRequestedFor(urlEqualTo("/v1/chat/completions")));
        freeCache.verify(10, postRequestedFor(urlEqualTo("/v1/chat/completions")));
    }
}
