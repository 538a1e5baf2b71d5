package io.vllmrouter.examples.sim;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;

import static io.vllmrouter.examples.sim.SimTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SimulatedVllmTest {

    private final List<SimulatedVllm> sims = new ArrayList<>();

    private SimulatedVllm start(SimConfig.Builder b) throws IOException {
        SimulatedVllm sim = SimulatedVllm.start(b.build());
        sims.add(sim);
        return sim;
    }

    private static SimConfig.Builder fast() {
        return SimConfig.builder().models("m", "m-small").timeScale(200).seed(1);
    }

    @AfterEach
    void closeAll() {
        sims.forEach(SimulatedVllm::close);
    }

    @Test
    void healthModelsAndUnknownPaths() throws Exception {
        SimulatedVllm sim = start(fast().maxModelLen(2048));
        assertThat(sim.baseUrl().toString()).isEqualTo("http://127.0.0.1:" + sim.port());

        HttpResponse<String> health = get(sim.baseUrl(), "/health");
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body()).isEmpty();

        JsonNode models = json(get(sim.baseUrl(), "/v1/models").body());
        assertThat(models.path("object").asText()).isEqualTo("list");
        assertThat(models.path("data")).hasSize(2);
        JsonNode first = models.path("data").get(0);
        assertThat(first.path("id").asText()).isEqualTo("m");
        assertThat(first.path("object").asText()).isEqualTo("model");
        assertThat(first.path("owned_by").asText()).isEqualTo("vllm");
        assertThat(first.path("root").asText()).isEqualTo("m");
        assertThat(first.path("max_model_len").asInt()).isEqualTo(2048);
        assertThat(models.path("data").get(1).path("id").asText()).isEqualTo("m-small");

        HttpResponse<String> unknown = get(sim.baseUrl(), "/v1/nope");
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(json(unknown.body()).path("detail").asText()).isEqualTo("Not Found");

        HttpResponse<String> wrongMethod = get(sim.baseUrl(), "/v1/chat/completions");
        assertThat(wrongMethod.statusCode()).isEqualTo(405);
    }

    @Test
    void unknownModelIs404AndMalformedJsonIs400InOpenAiShape() throws Exception {
        SimulatedVllm sim = start(fast());
        HttpResponse<String> r = post(sim.baseUrl(), "/v1/chat/completions",
                "{\"model\":\"gpt-9\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(r.statusCode()).isEqualTo(404);
        JsonNode err = json(r.body()).path("error");
        assertThat(err.path("message").asText()).contains("gpt-9").contains("does not exist");
        assertThat(err.path("type").asText()).isEqualTo("NotFoundError");
        assertThat(err.path("code").asInt()).isEqualTo(404);

        HttpResponse<String> bad = post(sim.baseUrl(), "/v1/completions", "{\"model\": \"m\", \"prompt\": ");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(json(bad.body()).path("error").path("type").asText()).isEqualTo("BadRequestError");

        HttpResponse<String> badMax = post(sim.baseUrl(), "/v1/chat/completions", chat("hi", 0, false));
        assertThat(badMax.statusCode()).isEqualTo(400);
        assertThat(json(badMax.body()).path("error").path("message").asText()).contains("max_tokens");
    }

    @Test
    void nonStreamingAnswersCarryUsageAndFinishReason() throws Exception {
        SimulatedVllm sim = start(fast().defaultOutputTokens(7));
        HttpResponse<String> r = post(sim.baseUrl(), "/v1/chat/completions", chat("Hello there, simulator", 5, false));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-sim-ttft-ms")).isPresent();
        JsonNode body = json(r.body());
        assertThat(body.path("id").asText()).startsWith("chatcmpl-");
        assertThat(body.path("object").asText()).isEqualTo("chat.completion");
        assertThat(body.path("model").asText()).isEqualTo("m");
        JsonNode choice = body.path("choices").get(0);
        assertThat(choice.path("message").path("role").asText()).isEqualTo("assistant");
        assertThat(choice.path("message").path("content").asText().split(" ")).hasSize(5);
        assertThat(choice.path("finish_reason").asText()).isEqualTo("length");
        assertThat(body.path("usage").path("completion_tokens").asInt()).isEqualTo(5);
        assertThat(body.path("usage").path("prompt_tokens").asInt()).isPositive();
        assertThat(body.path("usage").path("total_tokens").asInt())
                .isEqualTo(body.path("usage").path("prompt_tokens").asInt() + 5);

        JsonNode completion = json(post(sim.baseUrl(), "/v1/completions", "{\"model\":\"m-small\",\"prompt\":\"Once upon\"}").body());
        assertThat(completion.path("object").asText()).isEqualTo("text_completion");
        assertThat(completion.path("model").asText()).isEqualTo("m-small");
        assertThat(completion.path("choices").get(0).path("finish_reason").asText()).isEqualTo("stop");
        assertThat(completion.path("usage").path("completion_tokens").asInt()).isEqualTo(7);
    }

    @Test
    void chatStreamIsVllmSse() throws Exception {
        SimulatedVllm sim = start(fast());
        String req = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Tell me\"}],\"max_tokens\":4,"
                + "\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
        HttpResponse<String> r = post(sim.baseUrl(), "/v1/chat/completions", req);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
        assertThat(r.body()).endsWith("data: [DONE]\n\n");
        String[] events = r.body().split("\n\n");
        List<JsonNode> chunks = new ArrayList<>();
        for (String e : events) {
            assertThat(e).startsWith("data: ").doesNotContain("\n");
            String data = e.substring("data: ".length());
            if (!data.equals("[DONE]")) {
                chunks.add(json(data));
            }
        }
        // role chunk, 4 content chunks, usage chunk
        assertThat(chunks).hasSize(6);
        for (JsonNode c : chunks) {
            assertThat(c.path("object").asText()).isEqualTo("chat.completion.chunk");
            assertThat(c.path("id").asText()).startsWith("chatcmpl-").isEqualTo(chunks.get(0).path("id").asText());
            assertThat(c.path("model").asText()).isEqualTo("m");
            assertThat(c.path("created").asLong()).isPositive();
        }
        assertThat(chunks.get(0).path("choices").get(0).path("delta").path("role").asText()).isEqualTo("assistant");
        for (int i = 1; i <= 4; i++) {
            JsonNode choice = chunks.get(i).path("choices").get(0);
            assertThat(choice.path("index").asInt()).isZero();
            assertThat(choice.path("delta").path("content").asText()).endsWith(" ");
            if (i < 4) {
                assertThat(choice.path("finish_reason").isNull()).isTrue();
            } else {
                assertThat(choice.path("finish_reason").asText()).isEqualTo("length");
            }
        }
        JsonNode usage = chunks.get(5);
        assertThat(usage.path("choices")).isEmpty();
        assertThat(usage.path("usage").path("completion_tokens").asInt()).isEqualTo(4);
    }

    @Test
    void completionStreamEndsWithStopWithoutMaxTokens() throws Exception {
        SimulatedVllm sim = start(fast().defaultOutputTokens(3));
        HttpResponse<String> r = post(sim.baseUrl(), "/v1/completions", "{\"model\":\"m\",\"prompt\":\"abc\",\"stream\":true}");
        List<String> data = new ArrayList<>();
        for (String e : r.body().split("\n\n")) {
            data.add(e.substring("data: ".length()));
        }
        assertThat(data).hasSize(4).last().isEqualTo("[DONE]");
        JsonNode last = json(data.get(2));
        assertThat(last.path("object").asText()).isEqualTo("text_completion");
        assertThat(last.path("choices").get(0).path("finish_reason").asText()).isEqualTo("stop");
        assertThat(last.path("choices").get(0).path("text").asText()).isNotEmpty();
    }

    @Test
    void continuousBatchingRunsMaxNumSeqsAndQueuesTheRest() throws Exception {
        // Requests long enough to still be running when observed; close() ends them.
        SimulatedVllm sim = start(SimConfig.builder().models("m").maxNumSeqs(2).maxModelLen(1_000_000).timeScale(1));
        List<CompletableFuture<HttpResponse<String>>> pending = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            pending.add(CLIENT.sendAsync(postRequest(sim.baseUrl(), "/v1/chat/completions", chat("request " + i, 500_000, false)),
                    HttpResponse.BodyHandlers.ofString()));
        }
        assertThat(awaitState(sim, v -> v.running() == 2 && v.waiting() == 3)).as("observed running=2 waiting=3").isTrue();
        String text = get(sim.baseUrl(), "/metrics").body();
        assertThat(metric(text, "vllm:num_requests_running")).isEqualTo(2);
        assertThat(metric(text, "vllm:num_requests_waiting")).isEqualTo(3);
        assertThat(metric(sim, "vllm:kv_cache_usage_perc")).isGreaterThan(0).isLessThanOrEqualTo(1);
        sim.close();
        for (CompletableFuture<HttpResponse<String>> f : pending) {
            f.handle((r, e) -> null).join();
        }
    }

    @Test
    void timeToFirstTokenGrowsWithPromptLength() throws Exception {
        SimulatedVllm sim = start(fast().ttftPerPromptTokenMs(1.0).maxModelLen(100_000));
        double shortTtft = ttft(post(sim.baseUrl(), "/v1/chat/completions", chat("hi", 2, false)));
        double longTtft = ttft(post(sim.baseUrl(), "/v1/chat/completions", chat("x".repeat(8000), 2, false)));
        assertThat(longTtft).isGreaterThan(shortTtft);
    }

    @Test
    void timeToFirstTokenGrowsWithQueueing() throws Exception {
        SimulatedVllm sim = start(fast().maxNumSeqs(1).maxModelLen(1_000_000).timeScale(50));
        double idle = ttft(post(sim.baseUrl(), "/v1/chat/completions", chat("same prompt", 2, false)));

        Socket blocker = rawPost(sim, "/v1/chat/completions", chat("long one", 900_000, true));
        readUntil(blocker.getInputStream(), "data: ");
        CompletableFuture<HttpResponse<String>> queued = CLIENT.sendAsync(
                postRequest(sim.baseUrl(), "/v1/chat/completions", chat("same prompt", 2, false)), HttpResponse.BodyHandlers.ofString());
        assertThat(awaitState(sim, v -> v.waiting() == 1)).isTrue();
        assertThat(metric(sim, "vllm:num_requests_waiting")).isEqualTo(1);
        blocker.close();
        double waited = ttft(queued.get());
        assertThat(waited).isGreaterThan(idle);
    }

    @Test
    void prefixCacheHitShortensTimeToFirstToken() throws Exception {
        String prompt = "shared system prompt ".repeat(200);
        SimulatedVllm cached = start(fast().prefixCache(true));
        double first = ttft(post(cached.baseUrl(), "/v1/chat/completions", chat(prompt, 2, false)));
        double second = ttft(post(cached.baseUrl(), "/v1/chat/completions", chat(prompt, 2, false)));
        assertThat(second).isLessThan(first);
        assertThat(metric(cached, "vllm:prefix_cache_hits_total")).isPositive();

        SimulatedVllm plain = start(fast());
        double a = ttft(post(plain.baseUrl(), "/v1/chat/completions", chat(prompt, 2, false)));
        double b = ttft(post(plain.baseUrl(), "/v1/chat/completions", chat(prompt, 2, false)));
        assertThat(b).isEqualTo(a);
    }

    private static double ttft(HttpResponse<String> r) {
        assertThat(r.statusCode()).isEqualTo(200);
        return Double.parseDouble(r.headers().firstValue("x-sim-ttft-ms").orElseThrow());
    }

    @Test
    void errorRateOneAnswers500Or503UntilFaultsCleared() throws Exception {
        SimulatedVllm sim = start(fast().faults(Faults.errorRate(1.0)));
        for (int i = 0; i < 6; i++) {
            HttpResponse<String> r = post(sim.baseUrl(), "/v1/chat/completions", chat("hi", 2, i % 2 == 0));
            assertThat(r.statusCode()).isIn(500, 503);
            assertThat(json(r.body()).path("error").path("code").asInt()).isEqualTo(r.statusCode());
        }
        HttpResponse<String> set = post(sim.baseUrl(), "/sim/faults", "{\"error_rate\":0}");
        assertThat(set.statusCode()).isEqualTo(200);
        assertThat(json(set.body()).path("error_rate").asDouble()).isZero();
        assertThat(post(sim.baseUrl(), "/v1/chat/completions", chat("hi", 2, false)).statusCode()).isEqualTo(200);

        sim.faults(Faults.errorRate(1.0));
        assertThat(post(sim.baseUrl(), "/v1/embeddings", "{\"input\":\"x\"}").statusCode()).isIn(500, 503);
        assertThat(post(sim.baseUrl(), "/sim/faults", "{\"error_rate\":2}").statusCode()).isEqualTo(400);
    }

    @Test
    void resetMidStreamCutsTheConnectionAfterNEvents() throws Exception {
        SimulatedVllm sim = start(fast().faults(Faults.resetAfter(3)));
        try (Socket s = rawPost(sim, "/v1/chat/completions", chat("hi", 50, true))) {
            String all = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(all).startsWith("HTTP/1.1 200");
            assertThat(Pattern.compile("data: ").matcher(all).results().count()).isEqualTo(3);
            assertThat(all).doesNotContain("[DONE]").doesNotEndWith("0\r\n\r\n");
        }
        assertThat(awaitState(sim, v -> v.running() == 0)).isTrue();
        assertThat(metric(sim, "vllm:num_requests_running")).isZero();
    }

    @Test
    void clientDisconnectMidStreamFreesTheSlot() throws Exception {
        SimulatedVllm sim = start(fast().maxNumSeqs(1).maxModelLen(1_000_000).timeScale(20));
        Socket s = rawPost(sim, "/v1/chat/completions", chat("endless", 900_000, true));
        readUntil(s.getInputStream(), "data: ");
        assertThat(metric(sim, "vllm:num_requests_running")).isEqualTo(1);
        s.close();
        assertThat(awaitState(sim, v -> v.running() == 0)).isTrue();
        assertThat(metric(sim, "vllm:num_requests_running")).isZero();
        assertThat(metric(get(sim.baseUrl(), "/metrics").body(), "vllm:request_success_total{engine=\"0\",finished_reason=\"abort\""))
                .isEqualTo(1);
        assertThat(post(sim.baseUrl(), "/v1/chat/completions", chat("next", 3, false)).statusCode()).isEqualTo(200);
    }

    @Test
    void hangAcceptsAndNeverAnswers() throws Exception {
        SimulatedVllm sim = start(fast().faults(Faults.hanging()));
        var request = java.net.http.HttpRequest.newBuilder(sim.baseUrl().resolve("/health")).timeout(Duration.ofMillis(300)).build();
        assertThatThrownBy(() -> CLIENT.send(request, HttpResponse.BodyHandlers.ofString()))
                .isInstanceOf(HttpTimeoutException.class);
        sim.faults(Faults.NONE);
        assertThat(get(sim.baseUrl(), "/health").statusCode()).isEqualTo(200);
    }

    @Test
    void sameSeedGivesSameTokens() throws Exception {
        SimulatedVllm a = start(fast().seed(7));
        SimulatedVllm b = start(fast().seed(7));
        SimulatedVllm c = start(fast().seed(8));
        String req = chat("What is continuous batching?", 20, false);
        String fromA = content(post(a.baseUrl(), "/v1/chat/completions", req));
        assertThat(content(post(b.baseUrl(), "/v1/chat/completions", req))).isEqualTo(fromA);
        assertThat(content(post(a.baseUrl(), "/v1/chat/completions", req))).isEqualTo(fromA);
        assertThat(content(post(c.baseUrl(), "/v1/chat/completions", req))).isNotEqualTo(fromA);

        HttpResponse<String> streamed = post(a.baseUrl(), "/v1/chat/completions", chat("What is continuous batching?", 20, true));
        StringBuilder joined = new StringBuilder();
        for (String e : streamed.body().split("\n\n")) {
            String data = e.substring("data: ".length());
            if (!data.equals("[DONE]")) {
                joined.append(json(data).path("choices").get(0).path("delta").path("content").asText());
            }
        }
        assertThat(joined.toString()).isEqualTo(fromA);
    }

    private static String content(HttpResponse<String> r) throws IOException {
        return json(r.body()).path("choices").get(0).path("message").path("content").asText();
    }

    @Test
    void metricsUseVllmV1Names() throws Exception {
        SimulatedVllm sim = start(fast());
        post(sim.baseUrl(), "/v1/chat/completions", chat("count me", 6, false));
        HttpResponse<String> r = get(sim.baseUrl(), "/metrics");
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/plain");
        Pattern sample = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*(\\{[a-z_]+=\"[^\"]*\"(,[a-z_]+=\"[^\"]*\")*})? [0-9.eE+-]+");
        for (String line : r.body().split("\n")) {
            if (!line.startsWith("#")) {
                assertThat(line).matches(sample);
            }
        }
        String text = r.body();
        assertThat(text).contains("vllm:num_requests_running{engine=\"0\",model_name=\"m\"} 0.0")
                .contains("vllm:num_requests_waiting{engine=\"0\",model_name=\"m\"} 0.0")
                .contains("# TYPE vllm:kv_cache_usage_perc gauge");
        assertThat(metric(text, "process_max_fds")).isPositive();
        assertThat(metric(text, "vllm:generation_tokens_total")).isEqualTo(6);
        assertThat(metric(text, "vllm:prompt_tokens_total")).isPositive();
        assertThat(metric(text, "vllm:request_success_total{engine=\"0\",finished_reason=\"length\"")).isEqualTo(1);
        assertThat(text).contains("vllm:cache_config_info{block_size=\"16\",cache_dtype=\"auto\",enable_prefix_caching=\"False\","
                + "engine=\"0\",kv_cache_size_tokens=\"" + sim.config().kvCacheBlocks() * 16 + "\",num_cpu_blocks=\"None\","
                + "num_gpu_blocks=\"" + sim.config().kvCacheBlocks() + "\"} 1.0");
        assertThat(text).contains("vllm:engine_sleep_state{engine=\"0\",model_name=\"m\",sleep_state=\"awake\"} 1.0");
    }

    @Test
    void embeddingsAndTokenize() throws Exception {
        SimulatedVllm sim = start(fast().maxModelLen(4096));
        JsonNode emb = json(post(sim.baseUrl(), "/v1/embeddings", "{\"model\":\"m\",\"input\":[\"a b c\",\"d\"]}").body());
        assertThat(emb.path("object").asText()).isEqualTo("list");
        assertThat(emb.path("data")).hasSize(2);
        assertThat(emb.path("data").get(1).path("index").asInt()).isEqualTo(1);
        assertThat(emb.path("data").get(0).path("embedding").size()).isPositive();
        assertThat(emb.path("usage").path("prompt_tokens").asInt()).isPositive();

        JsonNode tok = json(post(sim.baseUrl(), "/tokenize", "{\"model\":\"m\",\"prompt\":\"12345678\"}").body());
        assertThat(tok.path("count").asInt()).isEqualTo(2);
        assertThat(tok.path("tokens")).hasSize(2);
        assertThat(tok.path("max_model_len").asInt()).isEqualTo(4096);
    }

    @Test
    void manyConcurrentStreamsOnOneInstance() throws Exception {
        SimulatedVllm sim = start(fast().maxNumSeqs(64));
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            all.add(CLIENT.sendAsync(postRequest(sim.baseUrl(), "/v1/chat/completions", chat("p" + i, 20, true)),
                    HttpResponse.BodyHandlers.ofString()));
        }
        for (CompletableFuture<HttpResponse<String>> f : all) {
            assertThat(f.get().body()).endsWith("data: [DONE]\n\n");
        }
        assertThat(metric(sim, "vllm:request_success_total{engine=\"0\",finished_reason=\"length\"")).isEqualTo(200);
    }

    @Test
    void closeEndsOpenStreams() throws Exception {
        SimulatedVllm sim = start(fast().maxModelLen(1_000_000).timeScale(1));
        Socket s = rawPost(sim, "/v1/chat/completions", chat("endless", 900_000, true));
        InputStream in = s.getInputStream();
        readUntil(in, "data: ");
        sim.close();
        in.readAllBytes();   // returns once the connection is closed
        s.close();
    }

    @Test
    void continueFinalMessageGoesOnAsTheUninterruptedAnswerWould() throws Exception {
        SimulatedVllm sim = start(fast());
        String whole = json(post(sim.baseUrl(), "/v1/chat/completions", chat("tell me", 10, false)).body())
                .path("choices").get(0).path("message").path("content").asText();
        // the first 4 words, then the rest as a continuation of that assistant text
        String[] words = whole.split("(?<= )");
        String head = String.join("", java.util.Arrays.copyOf(words, 4));
        String continuation = "{\"model\":\"m\",\"max_tokens\":6,\"continue_final_message\":true,"
                + "\"add_generation_prompt\":false,\"messages\":[{\"role\":\"user\",\"content\":\"tell me\"},"
                + "{\"role\":\"assistant\",\"content\":" + JSON.valueToTree(head) + "}]}";
        String rest = json(post(sim.baseUrl(), "/v1/chat/completions", continuation).body())
                .path("choices").get(0).path("message").path("content").asText();
        assertThat(words).hasSize(10);
        assertThat(head + rest).isEqualTo(whole);
    }
}
