package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.RouterConfigBuilder;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.testing.FakeClock;
import io.vllmrouter.api.transport.TransportException;
import io.vllmrouter.api.transport.UpstreamResponse;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link ResumableStream} on a scripted transport: what the continuation asks and how it is spliced. */
class ResumableStreamTest {

    private static final String A = "http://gpu-a:8000";
    private static final String B = "http://gpu-b:8000";
    private static final String C = "http://gpu-c:8000";

    private final FakeClock clock = new FakeClock();
    private final ScriptedTransport transport = new ScriptedTransport();
    private DefaultVllmRouter router;

    @AfterEach
    void stop() {
        if (router != null) {
            router.close();
        }
    }

    private void start(int failoverMax, String... urls) {
        RouterConfigBuilder c = RouterConfig.builder().enableActiveHealthCheck(false).retryDelay(Duration.ZERO)
                .streamFailover(true).streamFailoverMax(failoverMax);
        for (String u : urls) {
            c.server(new ServerConfig(URI.create(u), 4, List.of(), null));
        }
        router = VllmRouters.builder().config(c.build()).ticker(clock).scheduler(clock)
                .strategy(new TestSupport.FirstStrategy()).probe(new TestSupport.FakeProbe()).transport(transport)
                .buildRouter();
    }

    private static String chunk(String id, String content) {
        return "data: {\"id\":\"" + id + "\",\"created\":1,\"model\":\"m-" + id + "\",\"choices\":[{\"index\":0,"
                + "\"delta\":{\"content\":\"" + content + "\"},\"finish_reason\":null}]}\n\n";
    }

    private static CompletableFuture<UpstreamResponse> sse(Throwable failure, String... chunks) {
        return CompletableFuture.completedFuture(UpstreamResponse.of(200,
                Map.of("content-type", List.of("text/event-stream")), new Chunks(failure, chunks)));
    }

    private static TransportException reset() {
        return new TransportException(TransportException.Kind.RESET, "cut", null);
    }

    private String read(String path, String body) throws IOException {
        try (RouterResponse r = router.route(RouterRequest.post(path, body.getBytes(StandardCharsets.UTF_8))
                .header("Content-Type", "application/json").build())) {
            return new String(r.body().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private JsonNode sentBody(int i) throws IOException {
        return RouterJson.mapper().readTree(transport.sent.get(i).body());
    }

    @Test
    void aChatCutMidEventIsContinuedWithTheTextSoFarAndSplicedUnderTheSameId() throws Exception {
        start(2, A, B);
        String role = "data: {\"id\":\"a\",\"created\":1,\"model\":\"m-a\",\"choices\":[{\"index\":0,"
                + "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n";
        String first = chunk("a", "Hello ");
        String second = chunk("a", "wor");
        // the second event is cut in the middle: its first half must never reach the caller
        transport.answer(A, r -> sse(reset(), role + first.substring(0, 20), first.substring(20), second.substring(0, 30)));
        String roleB = role.replace("\"a\"", "\"b\"").replace("m-a", "m-b");
        transport.answer(B, r -> sse(null, roleB, chunk("b", "world"), chunk("b", "!"),
                "data: {\"id\":\"b\",\"created\":2,\"model\":\"m-b\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,"
                        + "\"completion_tokens\":2,\"total_tokens\":11}}\n\n", "data: [DONE]\n\n"));

        String out = read("/v1/chat/completions", "{\"model\":\"m\",\"stream\":true,\"max_tokens\":10,"
                + "\"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");

        assertThat(out).isEqualTo(role + first
                + chunk("a", "world").replace("\"m-a\"", "\"m-a\"") + chunk("a", "!")
                + "data: {\"id\":\"a\",\"created\":1,\"model\":\"m-a\",\"choices\":[],\"usage\":{\"prompt_tokens\":8,"
                + "\"completion_tokens\":3,\"total_tokens\":11}}\n\n" + "data: [DONE]\n\n");
        JsonNode continuation = sentBody(1);
        assertThat(continuation.path("messages")).hasSize(2);
        assertThat(continuation.path("messages").get(1).path("role").asText()).isEqualTo("assistant");
        assertThat(continuation.path("messages").get(1).path("content").asText()).isEqualTo("Hello ");
        assertThat(continuation.path("continue_final_message").asBoolean()).isTrue();
        assertThat(continuation.path("add_generation_prompt").asBoolean(true)).isFalse();
        assertThat(continuation.path("max_tokens").asInt()).isEqualTo(9);
        assertThat(continuation.path("stream_options").path("continuous_usage_stats").asBoolean()).isTrue();
        assertThat(transport.sent.get(1).uri().getHost()).isEqualTo("gpu-b");
        assertThat(router.stats().servers().get(0).requests().failed()).isEqualTo(1);
        assertThat(router.stats().servers().get(0).inFlight()).isZero();
        assertThat(router.stats().servers().get(1).inFlight()).isZero();
    }

    @Test
    void aTextCompletionIsContinuedWithThePartialTextAppendedToThePrompt() throws Exception {
        start(2, A, B);
        String a1 = "data: {\"id\":\"a\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"text\":\"one \"}]}\n\n";
        transport.answer(A, r -> sse(reset(), a1));
        transport.answer(B, r -> sse(null,
                "data: {\"id\":\"b\",\"created\":2,\"model\":\"m\",\"choices\":[{\"index\":0,\"text\":\"two\"}]}\n\n",
                "data: [DONE]\n\n"));
        String out = read("/v1/completions",
                "{\"model\":\"m\",\"stream\":true,\"prompt\":\"count:\",\"max_completion_tokens\":5}");
        assertThat(out).isEqualTo(a1
                + "data: {\"id\":\"a\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"text\":\"two\"}]}\n\n"
                + "data: [DONE]\n\n");
        assertThat(sentBody(1).path("prompt").asText()).isEqualTo("count:one ");
        assertThat(sentBody(1).path("max_completion_tokens").asInt()).isEqualTo(4);
    }

    @Test
    void whenTheBudgetIsSpentTheCallerSeesTheFailure() {
        start(1, A, B, C);
        transport.answer(A, r -> sse(reset(), chunk("a", "x")));
        transport.answer(B, r -> sse(reset(), chunk("b", "y")));
        transport.answer(C, r -> sse(null, chunk("c", "z"), "data: [DONE]\n\n"));
        assertThatThrownBy(() -> read("/v1/chat/completions",
                "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
                .isInstanceOf(IOException.class);
        assertThat(transport.sent).hasSize(2);
        assertThat(router.stats().servers()).allSatisfy(s -> assertThat(s.inFlight()).isZero());
    }

    @Test
    void anInBandErrorHeldBackForAContinuationThatNeverComesReachesTheCallerAsACut() {
        start(1, A, B, C);
        String error = "data: {\"error\":{\"object\":\"error\",\"message\":\"engine died\","
                + "\"type\":\"InternalServerError\",\"code\":500}}\n\n";
        transport.answer(A, r -> sse(null, chunk("a", "x"), error, "data: [DONE]\n\n"));
        transport.answer(B, r -> sse(null, chunk("b", "y"), error, "data: [DONE]\n\n"));
        CompletableFuture<Throwable> failed = new CompletableFuture<>();
        StringBuilder got = new StringBuilder();
        RouterResponse r = router.route(RouterRequest.post("/v1/chat/completions",
                "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
                        .getBytes(StandardCharsets.UTF_8)).header("Content-Type", "application/json").build());
        r.bodyPublisher().subscribe(new java.util.concurrent.Flow.Subscriber<>() {
            @Override public void onSubscribe(java.util.concurrent.Flow.Subscription s) { s.request(Long.MAX_VALUE); }
            @Override public void onNext(io.vllmrouter.api.BodyChunk item) {
                for (java.nio.ByteBuffer b : item.buffers()) {
                    got.append(StandardCharsets.UTF_8.decode(b.duplicate()));
                }
                item.release();
            }
            @Override public void onError(Throwable t) { failed.complete(t); }
            @Override public void onComplete() { failed.complete(null); }
        });
        r.close();

        assertThat(got.toString()).doesNotContain("engine died");
        assertThat(failed).isCompleted();
        assertThat(failed.join()).isInstanceOf(IOException.class)
                .as("the error events were held back (a continuation might have hidden them): the caller has seen"
                        + " none, so this is no InBandErrorException, which says the caller has the backend's event")
                .isNotInstanceOf(io.vllmrouter.api.InBandErrorException.class)
                .hasMessageContaining("engine died");
        assertThat(transport.sent).hasSize(2);
        assertThat(router.stats().servers()).allSatisfy(s -> assertThat(s.inFlight()).isZero());
    }

    @Test
    void aContinuationRefusedBeforeItsHeadersIsTriedOnTheNextBackend() throws Exception {
        start(2, A, B, C);
        transport.answer(A, r -> sse(reset(), chunk("a", "x")));
        transport.answer(B, r -> CompletableFuture.failedFuture(
                new TransportException(TransportException.Kind.CONNECT, "refused", null)));
        transport.answer(C, r -> sse(null, chunk("c", "y"), "data: [DONE]\n\n"));
        String out = read("/v1/chat/completions",
                "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(out).isEqualTo(chunk("a", "x") + chunk("a", "y") + "data: [DONE]\n\n");
    }

    @Test
    void onlyPlainStreamedCompletionsAreEligible() throws Exception {
        assertThat(eligible("{\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", true)).isTrue();
        assertThat(eligible("{\"stream\":false,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", true)).isFalse();
        assertThat(eligible("{\"stream\":true,\"n\":2,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", true)).isFalse();
        assertThat(eligible("{\"stream\":true,\"logprobs\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", true)).isFalse();
        assertThat(eligible("{\"stream\":true,\"tools\":[],\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", true)).isFalse();
        assertThat(eligible("{\"stream\":true,\"prompt\":\"x\"}", false)).isTrue();
        assertThat(eligible("{\"stream\":true,\"prompt\":[1,2,3]}", false)).isFalse();
        assertThat(eligible("{\"stream\":true,\"prompt\":\"x\",\"logprobs\":2}", false)).isFalse();
        assertThat(eligible("{\"stream\":true,\"prompt\":\"x\",\"echo\":true}", false)).isFalse();
        assertThat(eligible("{\"stream\":true,\"prompt\":\"x\",\"use_beam_search\":true}", false)).isFalse();
    }

    @Test
    void structuredOutputsAreNeverContinuedForTheGrammarWouldRestart() throws Exception {
        String msgs = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";
        assertThat(eligible("{\"stream\":true," + msgs + ",\"response_format\":{\"type\":\"json_object\"}}", true)).isFalse();
        assertThat(eligible("{\"stream\":true," + msgs + ",\"response_format\":{\"type\":\"json_schema\","
                + "\"json_schema\":{\"name\":\"x\",\"schema\":{}}}}", true)).isFalse();
        assertThat(eligible("{\"stream\":true," + msgs + ",\"response_format\":{\"type\":\"structural_tag\"}}", true)).isFalse();
        assertThat(eligible("{\"stream\":true," + msgs + ",\"structured_outputs\":{\"choice\":[\"a\",\"b\"]}}", true)).isFalse();
        assertThat(eligible("{\"stream\":true," + msgs + ",\"guided_json\":{\"type\":\"object\"}}", true)).isFalse();
        assertThat(eligible("{\"stream\":true," + msgs + ",\"guided_choice\":[\"yes\",\"no\"]}", true)).isFalse();
        assertThat(eligible("{\"stream\":true,\"prompt\":\"x\",\"guided_regex\":\"[0-9]+\"}", false)).isFalse();
        // plain text output and unset fields are fine
        assertThat(eligible("{\"stream\":true," + msgs + ",\"response_format\":{\"type\":\"text\"}}", true)).isTrue();
        assertThat(eligible("{\"stream\":true," + msgs + ",\"guided_json\":null,\"structured_outputs\":null}", true)).isTrue();
    }

    @Test
    void aRequestThatCannotResumeIsSentAsTheCallerWroteIt() throws Exception {
        start(2, A, B);
        String body = "{\"model\":\"m\",\"stream\":true,\"response_format\":{\"type\":\"json_object\"},"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        transport.answer(A, r -> sse(reset(), chunk("a", "{\\\"x\\\":")));
        assertThatThrownBy(() -> read("/v1/chat/completions", body)).isInstanceOf(IOException.class);
        assertThat(new String(transport.sent.get(0).body(), StandardCharsets.UTF_8)).isEqualTo(body);
        assertThat(transport.sent).hasSize(1);
    }

    private static boolean eligible(String json, boolean chat) throws IOException {
        return ResumableStream.eligible(RouterJson.mapper().readTree(json), chat);
    }
}
