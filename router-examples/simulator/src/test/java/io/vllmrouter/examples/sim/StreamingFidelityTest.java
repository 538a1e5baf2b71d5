package io.vllmrouter.examples.sim;

import static io.vllmrouter.examples.sim.SimTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The simulator streams as vLLM's serving layer does (chat_completion_stream_generator): a stream's
 * headers before its first token and a plain answer's only when it is done; the in-band error event
 * an engine failure produces; reasoning in its own field; usage at the end or in every chunk;
 * {@code min_tokens}; {@code continue_final_message} as vLLM checks and continues it.
 */
@Timeout(60)
class StreamingFidelityTest {

    private final List<SimulatedVllm> sims = new ArrayList<>();

    private SimulatedVllm start(SimConfig.Builder b) throws IOException {
        SimulatedVllm sim = SimulatedVllm.start(b.build());
        sims.add(sim);
        return sim;
    }

    private static SimConfig.Builder fast() {
        return SimConfig.builder().models("m").timeScale(200).seed(3);
    }

    @AfterEach
    void closeAll() {
        sims.forEach(SimulatedVllm::close);
    }

    /** The data of each event of an SSE body, [DONE] included. */
    private static List<String> data(String body) {
        List<String> out = new ArrayList<>();
        for (String e : body.split("\n\n")) {
            if (!e.isEmpty()) {
                assertThat(e).startsWith("data: ");
                out.add(e.substring("data: ".length()));
            }
        }
        return out;
    }

    private static List<JsonNode> chunks(String body) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String d : data(body)) {
            if (!d.equals("[DONE]")) {
                out.add(json(d));
            }
        }
        return out;
    }

    private static String delta(List<JsonNode> chunks, String field) {
        StringBuilder b = new StringBuilder();
        chunks.forEach(c -> b.append(c.path("choices").path(0).path("delta").path(field).asText("")));
        return b.toString();
    }

    @Test
    void aStreamGetsItsHeadersBeforeAnyTokenAndAPlainAnswerOnlyWhenItIsDone() throws Exception {
        // a prefill that outlasts the test: no token ever comes
        SimulatedVllm sim = start(fast().timeScale(1).ttftBaseMs(1e9));
        try (Socket stream = rawPost(sim, "/v1/chat/completions", chat("hi", 5, true));
             Socket plain = rawPost(sim, "/v1/chat/completions", chat("hi", 5, false))) {
            String head = readUntil(stream.getInputStream(), "\r\n\r\n");
            assertThat(head).startsWith("HTTP/1.1 200").containsIgnoringCase("content-type: text/event-stream");
            assertThat(awaitState(sim, v -> v.running() + v.waiting() == 2)).as("both in the engine, before any token").isTrue();
            assertThat(plain.getInputStream().available()).as("nothing, not even headers, while generating").isZero();
        }
        SimulatedVllm quick = start(fast());
        try (Socket plain = rawPost(quick, "/v1/chat/completions", chat("hi", 5, false))) {
            String head = readUntil(plain.getInputStream(), "\r\n\r\n");
            assertThat(head).startsWith("HTTP/1.1 200").containsIgnoringCase("content-length");
            // The whole answer was known when its headers left: its length, and the body they announce.
            java.util.regex.Matcher length = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
            assertThat(length.find()).isTrue();
            byte[] body = plain.getInputStream().readNBytes(Integer.parseInt(length.group(1)));
            JsonNode answer = json(new String(body, StandardCharsets.UTF_8));
            assertThat(answer.path("choices").path(0).path("finish_reason").asText()).as("a finished answer").isNotEmpty();
            assertThat(answer.path("usage").path("completion_tokens").asInt()).isEqualTo(5);
        }
    }

    @Test
    void theStallFaultSendsAStreamsHeadersAndThenNothing() throws Exception {
        SimulatedVllm sim = start(fast().faults(Faults.stalling()));
        try (Socket stream = rawPost(sim, "/v1/chat/completions", chat("hi", 5, true));
             Socket plain = rawPost(sim, "/v1/chat/completions", chat("hi", 5, false))) {
            assertThat(readUntil(stream.getInputStream(), "\r\n\r\n")).startsWith("HTTP/1.1 200");
            assertThat(awaitState(sim, v -> v.hanging("/v1/chat/completions") == 2)).isTrue();
            assertThat(stream.getInputStream().available()).isZero();
            assertThat(plain.getInputStream().available()).isZero();
            assertThat(sim.running() + sim.waiting()).as("nothing reached the engine").isZero();
        }
        assertThat(json(get(sim.baseUrl(), "/sim/faults").body()).path("stall").asBoolean()).isTrue();
    }

    @Test
    void anEngineFailureMidStreamIsVllmsInBandErrorThenDone() throws Exception {
        SimulatedVllm sim = start(fast().faults(Faults.errorAfter(3)));
        HttpResponse<String> r = post(sim.baseUrl(), "/v1/chat/completions", chat("hi", 20, true));
        assertThat(r.statusCode()).isEqualTo(200);
        List<String> data = data(r.body());
        assertThat(data).hasSize(5);                          // role, 2 tokens, the error, [DONE]
        JsonNode error = json(data.get(3));
        assertThat(data.get(3)).startsWith("{\"error\": {");  // json.dumps' spacing, as vLLM writes it
        assertThat(error.path("error").path("type").asText()).isEqualTo("InternalServerError");
        assertThat(error.path("error").path("code").asInt()).isEqualTo(500);
        assertThat(error.path("error").has("param")).isTrue();
        assertThat(data.get(4)).isEqualTo("[DONE]");
        assertThat(awaitState(sim, v -> v.running() == 0)).isTrue();

        assertThat(post(sim.baseUrl(), "/sim/faults", "{\"error_after_events\":-1}").statusCode()).isEqualTo(400);
    }

    @Test
    void theCutAfterDoneFaultEndsACompleteStreamWithoutItsTerminator() throws Exception {
        SimulatedVllm sim = start(fast().faults(Faults.cutAfterDone()));
        try (Socket s = rawPost(sim, "/v1/chat/completions", chat("hi", 3, true))) {
            String all = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(all).contains("data: [DONE]\n\n").doesNotEndWith("0\r\n\r\n");
        }
    }

    @Test
    void aReasoningModelThinksInItsFieldThenAnswers() throws Exception {
        SimulatedVllm sim = start(fast().reasoning(Reasoning.tokens(4)));
        List<JsonNode> chunks = chunks(post(sim.baseUrl(), "/v1/chat/completions", chat("why?", 10, true)).body());
        assertThat(chunks).hasSize(11);
        assertThat(chunks.subList(1, 5)).allSatisfy(c -> {
            assertThat(c.path("choices").path(0).path("delta").has("reasoning")).isTrue();
            assertThat(c.path("choices").path(0).path("delta").has("content")).isFalse();
        });
        assertThat(chunks.subList(5, 11)).allSatisfy(c -> assertThat(c.path("choices").path(0).path("delta").has("content")).isTrue());
        JsonNode whole = json(post(sim.baseUrl(), "/v1/chat/completions", chat("why?", 10, false)).body());
        JsonNode message = whole.path("choices").path(0).path("message");
        assertThat(message.path("reasoning").asText()).isEqualTo(delta(chunks, "reasoning"));
        assertThat(message.path("content").asText()).isEqualTo(delta(chunks, "content"));

        SimulatedVllm older = start(fast().reasoning(Reasoning.tokens(4).field("reasoning_content")));
        List<JsonNode> old = chunks(post(older.baseUrl(), "/v1/chat/completions", chat("why?", 10, true)).body());
        assertThat(delta(old, "reasoning_content")).isEqualTo(delta(chunks, "reasoning"));
        assertThat(delta(old, "reasoning")).isEmpty();
    }

    @Test
    void aContinuedAnswerGoesOnWithItsContentAsTheUninterruptedOneWould() throws Exception {
        SimulatedVllm sim = start(fast().reasoning(Reasoning.tokens(4)));
        JsonNode whole = json(post(sim.baseUrl(), "/v1/chat/completions", chat("why?", 10, false)).body());
        String reasoning = whole.path("choices").path(0).path("message").path("reasoning").asText();
        String content = whole.path("choices").path(0).path("message").path("content").asText();
        String firstWords = content.substring(0, content.indexOf(' ', content.indexOf(' ') + 1) + 1);
        String continuation = "{\"model\":\"m\",\"stream\":true,\"max_tokens\":4,\"continue_final_message\":true,"
                + "\"add_generation_prompt\":false,\"messages\":[{\"role\":\"user\",\"content\":\"why?\"},"
                + "{\"role\":\"assistant\",\"content\":" + JSON.valueToTree(firstWords) + ",\"reasoning\":"
                + JSON.valueToTree(reasoning) + "}]}";
        List<JsonNode> chunks = chunks(post(sim.baseUrl(), "/v1/chat/completions", continuation).body());
        assertThat(delta(chunks, "reasoning")).as("a continued answer does not think again").isEmpty();
        assertThat(content).startsWith(firstWords + delta(chunks, "content"));
        assertThat(chunks.get(0).path("choices").path(0).path("delta").path("role").asText()).isEqualTo("assistant");

        String both = continuation.replace("\"add_generation_prompt\":false", "\"add_generation_prompt\":true");
        HttpResponse<String> refused = post(sim.baseUrl(), "/v1/chat/completions", both);
        assertThat(refused.statusCode()).isEqualTo(400);
        assertThat(json(refused.body()).path("error").path("message").asText()).contains("continue_final_message");
    }

    @Test
    void usageComesAtTheEndOrInEveryChunkAsStreamOptionsAsk() throws Exception {
        SimulatedVllm sim = start(fast());
        String base = "{\"model\":\"m\",\"max_tokens\":3,\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"count\"}]";
        List<JsonNode> none = chunks(post(sim.baseUrl(), "/v1/chat/completions", base + "}").body());
        assertThat(none).allSatisfy(c -> assertThat(c.has("usage")).isFalse());

        // vLLM's StreamOptions: include_usage defaults to true once stream_options is given
        List<JsonNode> last = chunks(post(sim.baseUrl(), "/v1/chat/completions", base + ",\"stream_options\":{}}").body());
        assertThat(last).hasSize(5);
        assertThat(last.subList(0, 4)).allSatisfy(c -> assertThat(c.has("usage")).isFalse());
        assertThat(last.get(4).path("choices")).isEmpty();
        assertThat(last.get(4).path("usage").path("completion_tokens").asInt()).isEqualTo(3);

        List<JsonNode> every = chunks(post(sim.baseUrl(), "/v1/chat/completions",
                base + ",\"stream_options\":{\"include_usage\":true,\"continuous_usage_stats\":true}}").body());
        assertThat(every).extracting(c -> c.path("usage").path("completion_tokens").asInt()).containsExactly(0, 1, 2, 3, 3);
        assertThat(every).allSatisfy(c -> assertThat(c.path("usage").path("total_tokens").asInt())
                .isEqualTo(c.path("usage").path("prompt_tokens").asInt() + c.path("usage").path("completion_tokens").asInt()));

        HttpResponse<String> notStreamed = post(sim.baseUrl(), "/v1/chat/completions",
                base.replace("\"stream\":true", "\"stream\":false") + ",\"stream_options\":{\"include_usage\":true}}");
        assertThat(notStreamed.statusCode()).isEqualTo(400);
    }

    @Test
    void minTokensLengthensAnAnswerAndMayNotExceedMaxTokens() throws Exception {
        SimulatedVllm sim = start(fast().defaultOutputTokens(8));
        JsonNode longer = json(post(sim.baseUrl(), "/v1/chat/completions",
                "{\"model\":\"m\",\"min_tokens\":20,\"messages\":[{\"role\":\"user\",\"content\":\"go\"}]}").body());
        assertThat(longer.path("usage").path("completion_tokens").asInt()).isEqualTo(20);
        assertThat(longer.path("choices").path(0).path("finish_reason").asText()).isEqualTo("stop");

        HttpResponse<String> refused = post(sim.baseUrl(), "/v1/chat/completions",
                "{\"model\":\"m\",\"min_tokens\":20,\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"go\"}]}");
        assertThat(refused.statusCode()).isEqualTo(400);
        assertThat(json(refused.body()).path("error").path("message").asText())
                .isEqualTo("min_tokens must be less than or equal to max_tokens=5, got 20.");
    }

    @Test
    void aTextCompletionStreamsTextChunksWithStopReasonOnEach() throws Exception {
        SimulatedVllm sim = start(fast());
        List<JsonNode> chunks = chunks(post(sim.baseUrl(), "/v1/completions",
                "{\"model\":\"m\",\"prompt\":\"x\",\"max_tokens\":2,\"stream\":true}").body());
        assertThat(chunks).hasSize(2).allSatisfy(c -> {
            assertThat(c.path("object").asText()).isEqualTo("text_completion");
            assertThat(c.path("choices").path(0).has("stop_reason")).isTrue();
        });
        assertThat(chunks.get(1).path("choices").path(0).path("finish_reason").asText()).isEqualTo("length");
        assertThat(post(sim.baseUrl(), "/v1/completions", "{\"model\":\"m\",\"prompt\":\"x\",\"min_tokens\":-1}")
                .statusCode()).isEqualTo(400);
    }
}
