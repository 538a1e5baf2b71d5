package io.vllmrouter.examples.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.examples.server.config.FrontDoorConfig;
import io.vllmrouter.examples.server.config.FrontDoorSettings;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.RouterConfigBuilder;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.examples.sim.SimConfig;
import io.vllmrouter.examples.sim.SimulatedVllm;
import io.vllmrouter.testing.RouterEvents;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A fleet of simulated vLLM servers behind the proxy, on what vLLM does that the router must follow:
 * uploads that name their model in a form field, Responses API objects that live on one server,
 * data-parallel servers, sleep mode, request ids, and the admin routes' methods.
 */
@Timeout(60)
class VllmFleetThroughProxyTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(20);

    private final List<SimulatedVllm> sims = new ArrayList<>();
    private final HttpClient client = HttpClient.newHttpClient();
    private final RouterEvents events = new RouterEvents();
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

    private SimulatedVllm sim(SimConfig.Builder b) throws Exception {
        SimulatedVllm s = SimulatedVllm.start(b.timeScale(100).build());
        sims.add(s);
        return s;
    }

    /** The router and the proxy over the simulators started so far, their models learned from /v1/models. */
    private void start(UnaryOperator<RouterConfigBuilder> tweak) throws Exception {
        RouterConfigBuilder config = RouterConfig.builder().enableActiveHealthCheck(false).retryDelay(Duration.ZERO)
                .metricsInterval(Duration.ofMillis(100));
        for (SimulatedVllm s : sims) {
            config.server(new ServerConfig(s.baseUrl(), 4, List.of(), null));
        }
        stack = ProxyStack.start(tweak.apply(config).build(), r -> r.listener(events), o -> { });
        router = stack.router;
        proxy = stack.proxy;
        events.awaitCount(RouterEvents.ModelsRefreshed.class, m -> !m.models().isEmpty(), sims.size(), WAIT);
    }

    private URI url(String path) {
        return URI.create("http://127.0.0.1:" + proxy.port() + path);
    }

    private HttpResponse<String> send(HttpRequest.Builder r) throws Exception {
        return client.send(r.timeout(WAIT).build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String path, String json) throws Exception {
        return send(HttpRequest.newBuilder(url(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)));
    }

    private HttpResponse<String> get(String path) throws Exception {
        return send(HttpRequest.newBuilder(url(path)).GET());
    }

    private BackendStats stats(SimulatedVllm s) {
        return router.stats().servers().stream().filter(b -> b.url().equals(s.baseUrl().toString())).findFirst().orElseThrow();
    }

    private static String chat(int tokens) {
        return "{\"model\":\"llama\",\"max_tokens\":" + tokens + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    }

    /** An upload as OpenAI's client sends it: the model field, then the audio. */
    private static HttpRequest.Builder upload(URI uri, String model, int audioBytes) {
        String boundary = "----fleet" + audioBytes;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n" + model + "\r\n"
                + "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"q.wav\"\r\n"
                + "Content-Type: audio/wav\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        out.writeBytes(new byte[audioBytes]);
        out.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return HttpRequest.newBuilder(uri).header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(out.toByteArray()));
    }

    @Test
    void inAMixedFleetUploadsReachTheServerWithTheirModel() throws Exception {
        sim(SimConfig.builder().models("llama"));
        SimulatedVllm whisper = sim(SimConfig.builder().models("openai/whisper-large-v3"));
        sim(SimConfig.builder().models("llama"));
        start(c -> c.strategy("round-robin"));
        for (int i = 0; i < 6; i++) {
            String path = i % 2 == 0 ? "/v1/audio/transcriptions" : "/v1/audio/translations";
            HttpResponse<String> r = send(upload(url(path), "openai/whisper-large-v3", 90_000 + i));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(JSON.readTree(r.body()).path("usage").path("seconds").asInt()).isEqualTo(3);
        }
        assertThat(stats(whisper).requests().total()).isEqualTo(6);
        assertThat(router.stats().servers()).filteredOn(s -> !s.url().equals(whisper.baseUrl().toString())).hasSize(2)
                .allSatisfy(s -> assertThat(s.requests().total()).isZero());
    }

    @Test
    void responsesFollowUpsOnAThreeServerFleetAllFindTheirResponse() throws Exception {
        SimulatedVllm a = sim(SimConfig.builder().models("llama").seed(1));
        sim(SimConfig.builder().models("llama").seed(2));
        sim(SimConfig.builder().models("llama").seed(3));
        start(c -> c.strategy("round-robin"));

        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            String stream = i % 2 == 0 ? "" : ",\"stream\":true";
            HttpResponse<String> created = post("/v1/responses", "{\"model\":\"llama\",\"input\":\"question " + i
                    + "\",\"max_output_tokens\":3" + stream + "}");
            assertThat(created.statusCode()).isEqualTo(200);
            String body = created.body();
            JsonNode first = JSON.readTree(stream.isEmpty() ? body : body.substring(body.indexOf("data: ") + 6, body.indexOf('\n', body.indexOf("data: "))));
            ids.add(stream.isEmpty() ? first.path("id").asText() : first.path("response").path("id").asText());
        }
        // Made through "another router replica": straight on server a; this router has never seen it.
        String elsewhere = JSON.readTree(client.send(HttpRequest.newBuilder(a.baseUrl().resolve("/v1/responses"))
                .header("Content-Type", "application/json").timeout(WAIT)
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"llama\",\"input\":\"hi\",\"max_output_tokens\":2}")).build(),
                HttpResponse.BodyHandlers.ofString()).body()).path("id").asText();
        ids.add(elsewhere);

        int followUps = 0;
        for (String id : ids) {
            for (String path : List.of("/v1/responses/" + id, "/v1/responses/" + id + "/input_items")) {
                HttpResponse<String> r = get(path);
                assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(200);
                followUps++;
            }
            HttpResponse<String> next = post("/v1/responses", "{\"model\":\"llama\",\"previous_response_id\":\"" + id
                    + "\",\"input\":\"and then?\",\"max_output_tokens\":2}");
            assertThat(next.statusCode()).as("previous_response_id " + id + ": " + next.body()).isEqualTo(200);
            HttpResponse<String> cancel = post("/v1/responses/" + id + "/cancel", "");
            assertThat(cancel.statusCode()).as("found, and finished: vLLM's 400").isEqualTo(400);
            assertThat(cancel.body()).contains("Cannot cancel a synchronous response.");
            followUps += 2;
        }
        assertThat(followUps).isEqualTo(28);
        assertThat(router.stats().servers()).allSatisfy(s -> assertThat(s.requests().failed()).isZero());
    }

    @Test
    void aDataParallelServersCacheIsItsRealTotal() throws Exception {
        SimulatedVllm dp4 = sim(SimConfig.builder().models("llama").dataParallelSize(4).kvCacheBlocks(2000));
        sim(SimConfig.builder().models("llama").kvCacheBlocks(2000));
        start(c -> c.strategy("cache-aware"));
        events.awaitUntil("cache sizes scraped", () -> router.stats().servers().stream().allMatch(s -> s.cacheTokens() > 0), WAIT);
        assertThat(stats(dp4).cacheTokens()).as("2000 blocks of 16 tokens, not counted once per engine").isEqualTo(32_000);
        assertThat(router.stats().servers().get(1).cacheTokens()).isEqualTo(32_000);
    }

    @Test
    void aSleepingServerGetsNothingUntilItWakes() throws Exception {
        SimulatedVllm sleepy = sim(SimConfig.builder().models("llama"));
        SimulatedVllm awake = sim(SimConfig.builder().models("llama"));
        start(c -> c.strategy("round-robin"));
        assertThat(client.send(HttpRequest.newBuilder(sleepy.baseUrl().resolve("/sleep?level=1")).timeout(WAIT)
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
        events.awaitUntil("the sleeper left out", () -> !stats(sleepy).status(), WAIT);
        assertThat(stats(sleepy).ineligibleReason()).isEqualTo("asleep (sleep level 1: weights offloaded)");
        assertThat(JSON.readTree(get("/health").body()).path("servers").get(0).path("reason").asText())
                .isEqualTo("asleep (sleep level 1: weights offloaded)");
        for (int i = 0; i < 8; i++) {
            assertThat(post("/v1/chat/completions", chat(2)).statusCode()).isEqualTo(200);
        }
        assertThat(stats(sleepy).requests().total()).isZero();
        assertThat(stats(awake).requests().total()).isEqualTo(8);
        assertThat(sleepy.heldAsleep()).isZero();

        client.send(HttpRequest.newBuilder(sleepy.baseUrl().resolve("/wake_up")).timeout(WAIT)
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        events.awaitUntil("the sleeper back", () -> stats(sleepy).status(), WAIT);
        for (int i = 0; i < 4; i++) {
            post("/v1/chat/completions", chat(2));
        }
        assertThat(stats(sleepy).requests().total()).isEqualTo(2);
    }

    @Test
    void theRequestIdArrivesUpstreamAndVllmNamesItsAnswerAfterIt() throws Exception {
        sim(SimConfig.builder().models("llama"));
        start(c -> c);
        HttpResponse<String> named = send(HttpRequest.newBuilder(url("/v1/chat/completions"))
                .header("Content-Type", "application/json").header("X-Request-Id", "client-7")
                .POST(HttpRequest.BodyPublishers.ofString(chat(2))));
        assertThat(JSON.readTree(named.body()).path("id").asText()).isEqualTo("chatcmpl-client-7");
        assertThat(named.headers().firstValue("X-Request-Id")).hasValue("client-7");

        HttpResponse<String> generated = post("/v1/chat/completions", chat(2));
        String id = generated.headers().firstValue("X-Request-Id").orElseThrow();
        assertThat(JSON.readTree(generated.body()).path("id").asText()).as("the router's id reached vLLM").isEqualTo("chatcmpl-" + id);
        assertThat(events.await(RouterEvents.RequestComplete.class, e -> e.record().requestId().equals(id), WAIT)).isNotNull();
    }

    @Test
    void adminReadsAreGetsWhereAdminPathsAreAllowed() throws Exception {
        sim(SimConfig.builder().models("llama"));
        start(c -> c.extension(FrontDoorSettings.INSTANCE, FrontDoorConfig.builder().allowAdminPaths(true).build()));
        HttpResponse<String> sleeping = get("/is_sleeping");
        assertThat(sleeping.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(sleeping.body()).path("is_sleeping").asBoolean()).isFalse();
        assertThat(JSON.readTree(get("/server_info").body()).has("vllm_config")).isTrue();
        HttpResponse<String> posted = post("/is_sleeping", "{}");
        assertThat(posted.statusCode()).isEqualTo(405);
        assertThat(posted.headers().firstValue("Allow")).hasValue("GET");
        assertThat(get("/sleep").headers().firstValue("Allow")).hasValue("POST");
        assertThat(post("/sleep?level=1", "").statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(get("/is_sleeping").body()).path("is_sleeping").asBoolean()).isTrue();
    }
}
