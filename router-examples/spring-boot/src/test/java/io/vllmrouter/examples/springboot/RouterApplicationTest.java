package io.vllmrouter.examples.springboot;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vllmrouter.api.RouterListener;
import io.vllmrouter.examples.sim.SimConfig;
import io.vllmrouter.examples.sim.SimulatedVllm;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.autoconfigure.actuate.observability.AutoConfigureObservability;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Boots the application on a random 127.0.0.1 port in front of a simulated vLLM server, streams a
 * chat completion through it and reads the router's metrics from Actuator.
 */
@Timeout(120)
@AutoConfigureObservability(tracing = false)   // tests export no metrics unless asked: /actuator/prometheus needs it
@ActiveProfiles("test")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"server.address=127.0.0.1", "vllm-router.health-check-interval=1s", "vllm-router.metrics-interval=500ms"})
class RouterApplicationTest {

    private static SimulatedVllm sim;
    private static final CountDownLatch FINISHED = new CountDownLatch(1);

    @DynamicPropertySource
    static void servers(DynamicPropertyRegistry registry) {
        registry.add("vllm-router.servers[0].url", () -> simulator().baseUrl().toString());
        registry.add("vllm-router.servers[0].max-concurrent-requests", () -> "4");
        registry.add("vllm-router.servers[0].models[0]", () -> "llama");
    }

    private static synchronized SimulatedVllm simulator() {
        if (sim == null) {
            try {
                sim = SimulatedVllm.start(SimConfig.builder().host("127.0.0.1").port(0).models("llama").build());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return sim;
    }

    @AfterAll
    static void stopSimulator() {
        if (sim != null) {
            sim.close();
        }
    }

    /** Tells the test when the router has recorded the request (an event, not a poll). */
    @TestConfiguration
    static class Events {
        @Bean
        RouterListener finished() {
            return new RouterListener() {
                @Override
                public void onRequestComplete(RequestRecord record) {
                    FINISHED.countDown();
                }
            };
        }
    }

    @LocalServerPort
    int port;

    @Autowired
    RouterProperties properties;

    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void streamsACompletionThroughTheRouterAndShowsItsMetrics() throws Exception {
        String body = "{\"model\":\"llama\",\"stream\":true,\"max_tokens\":8,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}]}";
        HttpResponse<java.util.stream.Stream<String>> r = client.send(HttpRequest.newBuilder(uri("/v1/chat/completions"))
                .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofLines());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
        assertThat(r.headers().firstValue("x-vllm-router-backend").orElse("")).isEqualTo(sim.baseUrl().toString());
        List<String> events = r.body().filter(l -> l.startsWith("data:")).collect(Collectors.toList());
        assertThat(events).hasSizeGreaterThanOrEqualTo(3);
        assertThat(events.get(0)).contains("chat.completion.chunk");
        assertThat(events.get(events.size() - 1)).isEqualTo("data: [DONE]");

        assertThat(FINISHED.await(30, TimeUnit.SECONDS)).as("the router recorded the request").isTrue();
        JsonNode requests = new ObjectMapper().readTree(get("/actuator/metrics/vllm.router.requests").body());
        assertThat(requests.path("name").asText()).isEqualTo("vllm.router.requests");
        assertThat(requests.path("measurements").get(0).path("value").asDouble()).isGreaterThanOrEqualTo(1.0);
        assertThat(get("/actuator/prometheus").body())
                .contains("vllm_router_requests_total{backend=\"" + sim.baseUrl() + "\",model=\"llama\",outcome=\"success\",status=\"200\"}")
                .contains("vllm_router_backend_capacity{backend=\"" + sim.baseUrl() + "\"} 4");
    }

    /** The calls an OpenAI client makes, with its headers: list the models, read one, then a chat completion. */
    @Test
    void anOpenAiClientListsTheModelsAndChats() throws Exception {
        HttpResponse<String> list = openAi(HttpRequest.newBuilder(uri("/v1/models")).GET());
        assertThat(list.statusCode()).isEqualTo(200);
        assertThat(list.headers().firstValue("content-type").orElse("")).startsWith("application/json");
        JsonNode models = new ObjectMapper().readTree(list.body());
        assertThat(models.path("object").asText()).isEqualTo("list");
        assertThat(models.path("data")).singleElement().satisfies(m -> {
            assertThat(m.path("id").asText()).isEqualTo("llama");
            assertThat(m.path("object").asText()).isEqualTo("model");
        });
        HttpResponse<String> one = openAi(HttpRequest.newBuilder(uri("/v1/models/llama")).GET());
        assertThat(new ObjectMapper().readTree(one.body()).path("id").asText()).isEqualTo("llama");
        HttpResponse<String> missing = openAi(HttpRequest.newBuilder(uri("/v1/models/nope")).GET());
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(new ObjectMapper().readTree(missing.body()).path("error").path("code").asText()).isEqualTo("model_not_found");

        HttpResponse<String> chat = openAi(HttpRequest.newBuilder(uri("/v1/chat/completions"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"llama\",\"max_tokens\":4,"
                        + "\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}]}")));
        assertThat(chat.statusCode()).isEqualTo(200);
        JsonNode answer = new ObjectMapper().readTree(chat.body());
        assertThat(answer.path("object").asText()).isEqualTo("chat.completion");
        assertThat(answer.path("choices").get(0).path("message").path("role").asText()).isEqualTo("assistant");
    }

    /** As the OpenAI SDKs send it: bearer key, JSON, their user agent and X-Stainless headers. */
    private HttpResponse<String> openAi(HttpRequest.Builder b) throws Exception {
        return client.send(b.timeout(Duration.ofSeconds(30)).header("Authorization", "Bearer sk-test")
                .header("Accept", "application/json").header("Content-Type", "application/json")
                .header("User-Agent", "OpenAI/Java 4.0.0").header("X-Stainless-Lang", "java")
                .header("X-Stainless-Retry-Count", "0").build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void routerErrorsAreOpenAiShaped() throws Exception {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(uri("/v1/chat/completions"))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"no-such-model\",\"messages\":[]}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(404);
        JsonNode error = new ObjectMapper().readTree(r.body()).path("error");
        assertThat(error.path("code").asText()).isNotBlank();
        assertThat(error.path("message").asText()).contains("no-such-model");
    }

    private HttpResponse<String> get(String path) throws Exception {
        return client.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(30)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }
}
