package io.vllmrouter.examples.sim;

import static io.vllmrouter.examples.sim.SimTestSupport.CLIENT;
import static io.vllmrouter.examples.sim.SimTestSupport.SAFETY;
import static io.vllmrouter.examples.sim.SimTestSupport.awaitState;
import static io.vllmrouter.examples.sim.SimTestSupport.chat;
import static io.vllmrouter.examples.sim.SimTestSupport.get;
import static io.vllmrouter.examples.sim.SimTestSupport.json;
import static io.vllmrouter.examples.sim.SimTestSupport.metric;
import static io.vllmrouter.examples.sim.SimTestSupport.post;
import static io.vllmrouter.examples.sim.SimTestSupport.postRequest;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The simulator's Responses API store, audio uploads, sleep mode and data-parallel metrics, as vLLM serves them. */
class SimEndpointsTest {

    private final List<SimulatedVllm> sims = new ArrayList<>();

    private SimulatedVllm start(SimConfig.Builder b) throws IOException {
        SimulatedVllm sim = SimulatedVllm.start(b.build());
        sims.add(sim);
        return sim;
    }

    private static SimConfig.Builder fast() {
        return SimConfig.builder().models("m", "whisper").timeScale(200).seed(1);
    }

    @AfterEach
    void closeAll() {
        sims.forEach(SimulatedVllm::close);
    }

    private static HttpResponse<String> send(URI base, String method, String path) throws Exception {
        return CLIENT.send(HttpRequest.newBuilder(base.resolve(path)).timeout(SAFETY)
                .method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    }

    // ---- Responses API ------------------------------------------------------------------------

    @Test
    void aStoredResponseIsServedByItsServerOnlyAndChainsWithPreviousResponseId() throws Exception {
        SimulatedVllm a = start(fast());
        SimulatedVllm b = start(fast().seed(2));
        JsonNode created = json(post(a.baseUrl(), "/v1/responses",
                "{\"model\":\"m\",\"input\":\"Tell me about routers\",\"max_output_tokens\":5}").body());
        String id = created.path("id").asText();
        assertThat(id).startsWith("resp_");
        assertThat(created.path("object").asText()).isEqualTo("response");
        assertThat(created.path("status").asText()).as("cut at max_output_tokens").isEqualTo("incomplete");
        assertThat(created.path("usage").path("output_tokens").asInt()).isEqualTo(5);
        assertThat(created.path("output").get(0).path("content").get(0).path("text").asText()).isNotBlank();

        HttpResponse<String> again = get(a.baseUrl(), "/v1/responses/" + id);
        assertThat(again.statusCode()).isEqualTo(200);
        assertThat(json(again.body()).path("id").asText()).isEqualTo(id);
        HttpResponse<String> elsewhere = get(b.baseUrl(), "/v1/responses/" + id);
        assertThat(elsewhere.statusCode()).isEqualTo(404);
        assertThat(elsewhere.body()).isEqualTo("{\"error\":{\"message\":\"Response with id '" + id
                + "' not found.\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":404}}");

        HttpResponse<String> next = post(a.baseUrl(), "/v1/responses",
                "{\"model\":\"m\",\"previous_response_id\":\"" + id + "\",\"input\":\"And then?\"}");
        assertThat(next.statusCode()).isEqualTo(200);
        assertThat(json(next.body()).path("previous_response_id").asText()).isEqualTo(id);
        assertThat(json(next.body()).path("usage").path("input_tokens").asInt())
                .as("the earlier conversation is part of the prompt")
                .isGreaterThan(created.path("usage").path("input_tokens").asInt());
        assertThat(post(b.baseUrl(), "/v1/responses", "{\"model\":\"m\",\"previous_response_id\":\"" + id
                + "\",\"input\":\"x\"}").statusCode()).isEqualTo(404);

        JsonNode items = json(get(a.baseUrl(), "/v1/responses/" + id + "/input_items").body());
        assertThat(items.path("object").asText()).isEqualTo("list");
        assertThat(items.path("data").get(0).path("content").get(0).path("text").asText()).isEqualTo("Tell me about routers");

        HttpResponse<String> cancel = post(a.baseUrl(), "/v1/responses/" + id + "/cancel", "");
        assertThat(cancel.statusCode()).isEqualTo(400);
        assertThat(json(cancel.body()).path("error").path("message").asText()).isEqualTo("Cannot cancel a synchronous response.");
        HttpResponse<String> delete = send(a.baseUrl(), "DELETE", "/v1/responses/" + id);
        assertThat(delete.statusCode()).as("vLLM has no DELETE route").isEqualTo(405);
        assertThat(delete.headers().firstValue("Allow")).hasValue("GET");
    }

    @Test
    void storeFalseKeepsNothingAndAnUnknownModelIs404() throws Exception {
        SimulatedVllm a = start(fast());
        String id = json(post(a.baseUrl(), "/v1/responses", "{\"model\":\"m\",\"input\":\"hi\",\"store\":false}").body())
                .path("id").asText();
        assertThat(get(a.baseUrl(), "/v1/responses/" + id).statusCode()).isEqualTo(404);
        HttpResponse<String> other = post(a.baseUrl(), "/v1/responses", "{\"model\":\"gpt-x\",\"input\":\"hi\"}");
        assertThat(other.statusCode()).isEqualTo(404);
        assertThat(json(other.body()).path("error").path("type").asText()).isEqualTo("NotFoundError");
        SimulatedVllm off = start(fast().responsesStore(false));
        assertThat(post(off.baseUrl(), "/v1/responses", "{\"model\":\"m\",\"input\":\"hi\",\"background\":true}")
                .statusCode()).as("background needs the store, as in vLLM").isEqualTo(400);
    }

    @Test
    void aStreamedResponseSendsVllmsEventsResponseCreatedFirst() throws Exception {
        SimulatedVllm a = start(fast());
        HttpResponse<String> r = post(a.baseUrl(), "/v1/responses", "{\"model\":\"m\",\"input\":\"hi\",\"stream\":true,"
                + "\"max_output_tokens\":4}");
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
        List<String> types = new ArrayList<>();
        List<JsonNode> data = new ArrayList<>();
        for (String event : r.body().split("\n\n")) {
            String[] lines = event.split("\n");
            types.add(lines[0].substring("event: ".length()));
            data.add(json(lines[1].substring("data: ".length())));
        }
        assertThat(types).startsWith("response.created", "response.in_progress", "response.output_item.added",
                "response.content_part.added", "response.output_text.delta").endsWith("response.output_text.done",
                "response.content_part.done", "response.output_item.done", "response.completed");
        assertThat(types).filteredOn("response.output_text.delta"::equals).hasSize(4);
        String id = data.get(0).path("response").path("id").asText();
        assertThat(data.get(data.size() - 1).path("response").path("id").asText()).isEqualTo(id);
        assertThat(data).extracting(d -> d.path("sequence_number").asInt()).isSorted();
        assertThat(json(get(a.baseUrl(), "/v1/responses/" + id).body()).path("status").asText()).isEqualTo("incomplete");
    }

    @Test
    void aBackgroundResponseIsQueuedAndCanBeCancelled() throws Exception {
        SimulatedVllm a = start(fast().timeScale(1).tpotBaseMs(50));
        JsonNode queued = json(post(a.baseUrl(), "/v1/responses",
                "{\"model\":\"m\",\"input\":\"a long one\",\"background\":true,\"max_output_tokens\":5000}").body());
        assertThat(queued.path("status").asText()).isEqualTo("queued");
        assertThat(queued.path("usage").isNull()).isTrue();
        String id = queued.path("id").asText();
        assertThat(awaitState(a, s -> s.running() == 1)).isTrue();
        JsonNode cancelled = json(post(a.baseUrl(), "/v1/responses/" + id + "/cancel", "").body());
        assertThat(cancelled.path("status").asText()).isEqualTo("cancelled");
        assertThat(awaitState(a, s -> s.running() == 0)).as("its generation was aborted").isTrue();
        assertThat(json(get(a.baseUrl(), "/v1/responses/" + id).body()).path("status").asText()).isEqualTo("cancelled");
    }

    // ---- audio uploads ------------------------------------------------------------------------

    /** A form as OpenAI's client sends it: text fields first, then the audio. */
    static HttpRequest upload(URI base, String path, String model, boolean stream, int audioBytes) {
        String boundary = "----sim" + audioBytes;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (model != null) {
            out.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n" + model + "\r\n")
                    .getBytes(StandardCharsets.UTF_8));
        }
        if (stream) {
            out.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"stream\"\r\n\r\ntrue\r\n")
                    .getBytes(StandardCharsets.UTF_8));
        }
        out.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n"
                + "Content-Type: audio/wav\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        out.writeBytes(new byte[audioBytes]);
        out.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return HttpRequest.newBuilder(base.resolve(path)).timeout(SAFETY)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(out.toByteArray())).build();
    }

    @Test
    void transcriptionsAndTranslationsTakeAnUploadAndCheckItsModel() throws Exception {
        SimulatedVllm a = start(fast());
        HttpResponse<String> r = CLIENT.send(upload(a.baseUrl(), "/v1/audio/transcriptions", "whisper", false, 96_000),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode body = json(r.body());
        assertThat(body.path("text").asText()).isNotBlank();
        assertThat(body.path("usage").path("type").asText()).isEqualTo("duration");
        assertThat(body.path("usage").path("seconds").asInt()).isEqualTo(3);

        HttpResponse<String> wrong = CLIENT.send(upload(a.baseUrl(), "/v1/audio/translations", "whisper-large-v3", false, 100),
                HttpResponse.BodyHandlers.ofString());
        assertThat(wrong.statusCode()).isEqualTo(404);
        assertThat(wrong.body()).isEqualTo("{\"error\":{\"message\":\"The model `whisper-large-v3` does not exist.\","
                + "\"type\":\"NotFoundError\",\"param\":\"model\",\"code\":404}}");

        HttpResponse<String> streamed = CLIENT.send(upload(a.baseUrl(), "/v1/audio/translations", "whisper", true, 100),
                HttpResponse.BodyHandlers.ofString());
        assertThat(streamed.body()).startsWith("data: {\"id\":\"trsl-").contains("\"object\":\"translation.chunk\"")
                .endsWith("data: [DONE]\n\n");
        HttpResponse<String> noFile = post(a.baseUrl(), "/v1/audio/transcriptions", "{}");
        assertThat(noFile.statusCode()).isEqualTo(400);
    }

    // ---- sleep mode ---------------------------------------------------------------------------

    @Test
    void aSleepingServerSaysSoAndHoldsGenerationUntilItWakes() throws Exception {
        SimulatedVllm a = start(fast());
        assertThat(json(get(a.baseUrl(), "/is_sleeping").body()).path("is_sleeping").asBoolean()).isFalse();
        assertThat(post(a.baseUrl(), "/sleep?level=1", "").statusCode()).isEqualTo(200);
        assertThat(json(get(a.baseUrl(), "/is_sleeping").body()).path("is_sleeping").asBoolean()).isTrue();
        String metrics = get(a.baseUrl(), "/metrics").body();
        assertThat(metric(metrics, "vllm:engine_sleep_state{engine=\"0\",model_name=\"m\",sleep_state=\"awake\"")).isZero();
        assertThat(metric(metrics, "vllm:engine_sleep_state{engine=\"0\",model_name=\"m\",sleep_state=\"weights_offloaded\"")).isOne();
        assertThat(get(a.baseUrl(), "/health").statusCode()).isEqualTo(200);

        CompletableFuture<HttpResponse<String>> held = CLIENT.sendAsync(postRequest(a.baseUrl(), "/v1/chat/completions",
                chat("wait for me", 3, false)), HttpResponse.BodyHandlers.ofString());
        assertThat(awaitState(a, s -> s.heldAsleep() == 1)).isTrue();
        assertThat(held).isNotDone();
        assertThat(post(a.baseUrl(), "/wake_up", "").statusCode()).isEqualTo(200);
        assertThat(held.get(SAFETY.toSeconds(), TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        assertThat(a.sleepLevel()).isZero();

        assertThat(get(a.baseUrl(), "/sleep").statusCode()).isEqualTo(405);
        assertThat(post(a.baseUrl(), "/is_sleeping", "").statusCode()).isEqualTo(405);
        assertThat(post(a.baseUrl(), "/sleep?level=3", "").statusCode()).isEqualTo(400);
        assertThat(post(a.baseUrl(), "/sleep?level=2", "").statusCode()).isEqualTo(200);
        assertThat(metric(get(a.baseUrl(), "/metrics").body(),
                "vllm:engine_sleep_state{engine=\"0\",model_name=\"m\",sleep_state=\"discard_all\"")).isOne();
    }

    @Test
    void theAnswersIdIsTheCallersXRequestIdAsInVllmAndServerInfoIsAGet() throws Exception {
        SimulatedVllm a = start(fast());
        HttpResponse<String> r = CLIENT.send(HttpRequest.newBuilder(a.baseUrl().resolve("/v1/chat/completions"))
                .timeout(SAFETY).header("Content-Type", "application/json").header("X-Request-Id", "trace-42")
                .POST(HttpRequest.BodyPublishers.ofString(chat("hi", 2, false))).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(json(r.body()).path("id").asText()).isEqualTo("chatcmpl-trace-42");
        assertThat(json(post(a.baseUrl(), "/v1/chat/completions", chat("hi", 2, false)).body()).path("id").asText())
                .startsWith("chatcmpl-").isNotEqualTo("chatcmpl-trace-42");
        HttpResponse<String> info = get(a.baseUrl(), "/server_info");
        assertThat(json(info.body()).path("vllm_config").asText()).contains("maxNumSeqs=");
        assertThat(post(a.baseUrl(), "/server_info", "").statusCode()).isEqualTo(405);
    }

    // ---- data parallel ------------------------------------------------------------------------

    @Test
    void dataParallelEnginesAreLabelledAsVllmLabelsThem() throws Exception {
        SimulatedVllm a = start(fast().dataParallelSize(4).kvCacheBlocks(1000).maxNumSeqs(3));
        post(a.baseUrl(), "/v1/chat/completions", chat("count me", 7, false));
        String text = get(a.baseUrl(), "/metrics").body();
        double generated = 0;
        for (int e = 0; e < 4; e++) {
            String labels = "{engine=\"" + e + "\",model_name=\"m\"}";
            assertThat(text).contains("vllm:num_requests_running" + labels);
            generated += metric(text, "vllm:generation_tokens_total" + labels);
            assertThat(text).contains("vllm:cache_config_info{block_size=\"16\",cache_dtype=\"auto\",enable_prefix_caching=\"False\","
                    + "engine=\"" + e + "\",kv_cache_size_tokens=\"4000\",num_cpu_blocks=\"None\",num_gpu_blocks=\"1000\"} 1.0");
            assertThat(text).contains("vllm:engine_sleep_state{engine=\"" + e + "\",model_name=\"m\",sleep_state=\"awake\"} 1.0");
        }
        assertThat(generated).as("the server's total, spread over its engines").isEqualTo(7);
        assertThat(SimMetrics.share(7, 4, 0)).isEqualTo(2);
        assertThat(SimMetrics.share(7, 4, 3)).isEqualTo(1);
    }
}
