package io.vllmrouter.examples.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.RouterConfigBuilder;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.examples.sim.Faults;
import io.vllmrouter.examples.sim.SimConfig;
import io.vllmrouter.examples.sim.SimulatedVllm;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** What a client of the proxy sees when backends fail or are saturated: OpenAI-shaped errors, never a backend's page. */
@Timeout(60)
class FailureAnswersThroughProxyTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CHAT = "{\"model\":\"llama\",\"max_tokens\":4,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    private final List<SimulatedVllm> sims = new ArrayList<>();
    private final HttpClient client = HttpClient.newHttpClient();
    private ProxyStack stack;
    private VllmRouter router;
    private ProxyServer proxy;

    @AfterEach
    void stop() throws Exception {
        if (stack != null) {
            stack.close();
        }
        for (SimulatedVllm s : sims) {
            s.close();
        }
    }

    private void start(UnaryOperator<RouterConfigBuilder> tweak, Faults... faults) throws Exception {
        RouterConfigBuilder config = RouterConfig.builder().enableActiveHealthCheck(false).retryDelay(Duration.ZERO);
        for (Faults f : faults) {
            SimulatedVllm s = SimulatedVllm.start(SimConfig.builder().models("llama").timeScale(50).faults(f).build());
            sims.add(s);
            config.server(new ServerConfig(s.baseUrl(), 4, List.of("llama"), null));
        }
        stack = ProxyStack.start(tweak.apply(config).build());
        router = stack.router;
        proxy = stack.proxy;
    }

    private HttpRequest chat() {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/v1/chat/completions"))
                .timeout(Duration.ofSeconds(20)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(CHAT)).build();
    }

    @Test
    void whenEveryBackendFailsTheClientGetsOne502InOpenAiShapeWithoutTheBackendsPage() throws Exception {
        start(c -> c, Faults.errorRate(1.0), Faults.errorRate(1.0));
        HttpResponse<String> r = client.send(chat(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(502);
        JsonNode error = JSON.readTree(r.body()).path("error");
        assertThat(error.path("type").asText()).isEqualTo("server_error");
        assertThat(error.path("code").asText()).isEqualTo("upstream_error");
        assertThat(error.path("message").asText()).contains("backends tried: 2")
                .doesNotContain("Simulated").doesNotContain("Exception").doesNotContain("InternalServerError");
    }

    @Test
    void aSaturatedFleetAnswers429WithRetryAfter() throws Exception {
        start(c -> c.maxInFlightFactor(0.25).queueTimeout(Duration.ofSeconds(3)), Faults.hanging());
        CompletableFuture<HttpResponse<String>> hung = client.sendAsync(chat(), HttpResponse.BodyHandlers.ofString());
        // The backend holding the request means the router counts it in flight (counted before it is sent).
        assertThat(sims.get(0).awaitState(s -> s.hanging("/v1/chat/completions") == 1, Duration.ofSeconds(20))).as("request reached the backend").isTrue();
        assertThat(router.stats().servers().get(0).inFlight()).isEqualTo(1);
        HttpResponse<String> r = client.send(chat(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(429);
        assertThat(r.headers().firstValue("Retry-After")).hasValue("3");
        JsonNode error = JSON.readTree(r.body()).path("error");
        assertThat(error.path("type").asText()).isEqualTo("rate_limit_error");
        assertThat(error.path("code").asText()).isEqualTo("backends_busy");
        hung.cancel(true);
    }

    @Test
    void aTimeToFirstTokenObjectiveNoBackendCanMeetAnswers429WithRetryAfter() throws Exception {
        start(c -> c, Faults.hanging());
        // Capacity 4 (see start): four requests held by the backend fill its slots.
        List<CompletableFuture<HttpResponse<String>>> held = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            held.add(client.sendAsync(chat(), HttpResponse.BodyHandlers.ofString()));
        }
        assertThat(sims.get(0).awaitState(s -> s.hanging("/v1/chat/completions") == 4, Duration.ofSeconds(20)))
                .as("requests reached the backend").isTrue();
        // Nothing measured yet: the default speed, 5.32 s a typical request; the next slot in
        // 5.32 / 4 = 1.33 s, the first token 0.2 s later.
        HttpRequest withObjective = HttpRequest.newBuilder(chat(), (k, v) -> true).header("X-TTFT-SLO-Ms", "500").build();
        HttpResponse<String> r = client.send(withObjective, HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(429);
        assertThat(r.headers().firstValue("Retry-After")).as("ceil(1.53 - 0.5)").hasValue("2");
        JsonNode error = JSON.readTree(r.body()).path("error");
        assertThat(error.path("type").asText()).isEqualTo("rate_limit_error");
        assertThat(error.path("code").asText()).isEqualTo("backends_busy");
        assertThat(error.path("message").asText()).contains("objective of 500 ms").contains("the soonest: 1530 ms");
        HttpResponse<String> bad = client.send(HttpRequest.newBuilder(chat(), (k, v) -> true).header("X-TTFT-SLO-Ms", "soon").build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(bad.body()).path("error").path("message").asText()).startsWith("X-TTFT-SLO-Ms: soon (expected:");
        held.forEach(f -> f.cancel(true));
    }
}
