package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vllmrouter.api.RequestOutcome;
import io.vllmrouter.api.RouterListener;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.api.transport.TransportException;
import io.vllmrouter.api.transport.UpstreamRequest;
import io.vllmrouter.api.transport.UpstreamResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Stream failover on vLLM's own stream shapes (the fixtures): an in-band error is resumed and never
 * shown, a complete answer is never generated again, reasoning stays in its field, the token limits
 * shrink by the tokens vLLM says it produced, and the caller sees the usage it asked for, once.
 * Every test counts the requests each scripted backend got.
 */
class StreamContinuationTest {

    private static final String A = "http://gpu-a:8000";
    private static final String B = "http://gpu-b:8000";
    private static final String C = "http://gpu-c:8000";

    private final ScriptedFleet fleet = new ScriptedFleet();
    private final ScriptedTransport transport = fleet.transport;
    private final List<RouterListener.RequestRecord> records = fleet.records;
    private DefaultVllmRouter router;

    @AfterEach
    void stop() {
        fleet.close();
    }

    private void start(String... urls) {
        router = fleet.start(RouterConfig.builder().streamFailover(true), fleet.clock, urls);
    }

    private static CompletableFuture<UpstreamResponse> sse(Chunks body) {
        return ScriptedFleet.sse(body);
    }

    private static TransportException reset() {
        return new TransportException(TransportException.Kind.RESET, "connection reset mid-body", null);
    }

    private String chat(String body) throws IOException {
        try (RouterResponse r = router.route(RouterRequest.post("/v1/chat/completions", body.getBytes(StandardCharsets.UTF_8))
                .header("Content-Type", "application/json").build())) {
            return new String(r.body().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private List<UpstreamRequest> sentTo(String base) {
        return fleet.sentTo(base);
    }

    private static JsonNode json(UpstreamRequest r) throws IOException {
        return RouterJson.mapper().readTree(r.body());
    }

    /** The content (or, for a reasoning field, that field's text) of every event in {@code stream}. */
    private static String field(String stream, String name) throws IOException {
        StringBuilder b = new StringBuilder();
        for (JsonNode e : events(stream)) {
            b.append(e.path("choices").path(0).path("delta").path(name).asText(""));
        }
        return b.toString();
    }

    private static List<JsonNode> events(String stream) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String event : stream.split("\n\n")) {
            String data = event.strip().substring("data: ".length());
            if (!data.equals("[DONE]")) {
                out.add(RouterJson.mapper().readTree(data));
            }
        }
        return out;
    }

    private static int count(String text, String what) {
        return text.split(java.util.regex.Pattern.quote(what), -1).length - 1;
    }

    private static String event(String id, String delta, String finish, String usage) {
        return "data: {\"id\":\"" + id + "\",\"object\":\"chat.completion.chunk\",\"created\":2,\"model\":\"m\",\"choices\":[{\"index\":0,"
                + "\"delta\":" + delta + ",\"logprobs\":null,\"finish_reason\":" + (finish == null ? "null" : "\"" + finish + "\"") + "}]"
                + (usage == null ? "" : ",\"usage\":" + usage) + "}\n\n";
    }

    private static String usage(int prompt, int completion) {
        return "{\"prompt_tokens\":" + prompt + ",\"total_tokens\":" + (prompt + completion) + ",\"completion_tokens\":" + completion + "}";
    }

    private static final String ROLE = "{\"role\":\"assistant\",\"content\":\"\"}";
    private static final String HI = "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    /** A caller reading a streamed answer: what it got, and its subscription to cancel. */
    private record Reader(List<String> got, java.util.concurrent.Flow.Subscription[] sub) {
        String text() {
            return String.join("", got);
        }
    }

    /** Sends {@link #HI}, subscribes to its answer and returns before asking for any of it. */
    private Reader streamHi() throws Exception {
        RouterResponse r = router.routeAsync(RouterRequest.post("/v1/chat/completions", HI.getBytes(StandardCharsets.UTF_8))
                .header("Content-Type", "application/json").build()).get(5, java.util.concurrent.TimeUnit.SECONDS);
        Reader reader = new Reader(new java.util.concurrent.CopyOnWriteArrayList<>(), new java.util.concurrent.Flow.Subscription[1]);
        r.bodyPublisher().subscribe(new java.util.concurrent.Flow.Subscriber<>() {
            @Override public void onSubscribe(java.util.concurrent.Flow.Subscription s) {
                reader.sub()[0] = s;
            }

            @Override public void onNext(io.vllmrouter.api.BodyChunk c) {
                for (java.nio.ByteBuffer b : c.buffers()) {
                    byte[] a = new byte[b.remaining()];
                    b.get(a);
                    reader.got().add(new String(a, StandardCharsets.UTF_8));
                }
                c.release();
            }

            @Override public void onError(Throwable t) {
            }

            @Override public void onComplete() {
            }
        });
        return reader;
    }

    /** A's stream: its first events ("Hel"), then a reset; the continuation is B's to make. */
    private void aSaysHelThenResets() {
        transport.answer(A, r -> sse(new Chunks(reset(), event("a", ROLE, null, null), event("a", "{\"content\":\"Hel\"}", null, null))));
    }

    private void assertLeftCleanly() {
        assertThat(router.stats().servers()).allSatisfy(s -> assertThat(s.inFlight()).isZero());
        assertThat(records).singleElement().extracting(RouterListener.RequestRecord::outcome)
                .isEqualTo(RequestOutcome.CANCELLED);
    }

    @Test
    void aCallerThatLeavesWhileAContinuationStartsStopsItsCallAtOnce() throws Exception {
        start(A, B);
        aSaysHelThenResets();
        CompletableFuture<UpstreamResponse> continuation = new CompletableFuture<>();
        transport.answer(B, r -> continuation); // B has not answered yet when the caller leaves
        Reader reader = streamHi();
        reader.sub()[0].request(Long.MAX_VALUE); // A's events, then its reset: the continuation goes to B
        assertThat(sentTo(B)).hasSize(1);
        assertThat(reader.text()).contains("Hel");

        reader.sub()[0].cancel(); // the caller leaves before B's first token
        assertThat(continuation).as("the continuation's call was cancelled, not left to run").isCancelled();
        assertLeftCleanly();
    }

    @Test
    void aCallerThatLeavesWhileAContinuationIsBeingSentStopsItAsSoonAsItIsSent() throws Exception {
        start(A, B);
        aSaysHelThenResets();
        CompletableFuture<UpstreamResponse> continuation = new CompletableFuture<>();
        Reader[] reader = new Reader[1];
        transport.answer(B, r -> {
            reader[0].sub()[0].cancel(); // the caller leaves while the transport sends: no call to stop yet
            return continuation;
        });
        reader[0] = streamHi();
        reader[0].sub()[0].request(Long.MAX_VALUE);
        assertThat(sentTo(B)).hasSize(1);
        assertThat(continuation).as("cancelled once the transport handed it over").isCancelled();
        assertLeftCleanly();
    }

    @Test
    void aCallerThatLeavesBeforeAContinuationIsChosenGetsNoneSent() throws Exception {
        start(A, B);
        aSaysHelThenResets();
        Reader[] reader = new Reader[1];
        fleet.onRetry = () -> reader[0].sub()[0].cancel(); // the caller leaves as the failover is decided
        reader[0] = streamHi();
        reader[0].sub()[0].request(Long.MAX_VALUE);
        assertThat(sentTo(B)).as("no continuation for a caller who left").isEmpty();
        assertLeftCleanly();
    }

    @Test
    void anInBandErrorIsResumedElsewhereAndTheCallerReadsOneWholeAnswer() throws Exception {
        start(A, B);
        transport.answer(A, r -> sse(Chunks.of(SseFixtures.text("chat-error.sse"))));
        transport.answer(B, r -> sse(Chunks.of(event("b", ROLE, null, null), event("b", "{\"content\":\" world\"}", null, null),
                event("b", "{\"content\":\"!\"}", "stop", null), "data: [DONE]\n\n")));

        String out = chat(HI);

        assertThat(field(out, "content")).isEqualTo("Hello, world!");
        assertThat(out).doesNotContain("error").endsWith("data: [DONE]\n\n");
        assertThat(count(out, "[DONE]")).isEqualTo(1);
        assertThat(events(out)).extracting(e -> e.path("id").asText()).containsOnly("chatcmpl-b5e1c2f04d6a4e0f");
        assertThat(count(out, "\"role\"")).isEqualTo(1);
        JsonNode continuation = json(sentTo(B).get(0));
        assertThat(continuation.path("messages").get(1).path("content").asText()).isEqualTo("Hello,");
        assertThat(continuation.path("continue_final_message").asBoolean()).isTrue();
        assertThat(sentTo(A)).hasSize(1);
        assertThat(sentTo(B)).hasSize(1);
        assertThat(router.stats().servers().get(0).requests().failed()).as("the error is the backend's failure").isEqualTo(1);
        assertThat(records).singleElement().extracting(RouterListener.RequestRecord::outcome).isEqualTo(RequestOutcome.RESUMED);
    }

    @Test
    void anAnswerWhoseDoneWasPassedIsNotResumedWhenItsBackendDrops() throws Exception {
        start(A, B);
        String answer = SseFixtures.text("chat.sse");
        transport.answer(A, r -> sse(new Chunks(reset(), answer)));
        transport.answer(B, r -> sse(Chunks.of("data: {\"never\":true}\n\n", "data: [DONE]\n\n")));

        assertThat(chat(HI)).isEqualTo(answer);
        assertThat(sentTo(A)).hasSize(1);
        assertThat(sentTo(B)).isEmpty();
        assertThat(records).singleElement().extracting(RouterListener.RequestRecord::outcome).isEqualTo(RequestOutcome.SUCCESS);
    }

    @Test
    void anAnswerWhoseFinalFinishReasonWasPassedEndsWithItsUsageAndDoneInsteadOfAContinuation() throws Exception {
        start(A, B);
        String full = SseFixtures.text("chat-continuous-usage.sse");
        String upToFinish = full.substring(0, full.indexOf("data: {\"id\":\"chatcmpl-b5e1c2f04d6a4e0f\",\"object\":\"chat.completion.chunk\","
                + "\"created\":1767225600,\"model\":\"meta-llama/Llama-3.1-8B-Instruct\",\"choices\":[],"));
        transport.answer(A, r -> sse(new Chunks(reset(), upToFinish)));
        transport.answer(B, r -> sse(Chunks.of("data: {\"never\":true}\n\n", "data: [DONE]\n\n")));

        String out = chat("{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");

        assertThat(field(out, "content")).isEqualTo("Hello, world!");
        List<JsonNode> events = events(out);
        assertThat(events.subList(0, events.size() - 1)).as("usage only the router asked for is taken out")
                .allSatisfy(e -> assertThat(e.has("usage")).isFalse());
        JsonNode last = events.get(events.size() - 1);
        assertThat(last.path("choices")).isEmpty();
        assertThat(last.path("usage").path("completion_tokens").asInt()).isEqualTo(4);
        assertThat(last.path("usage").path("prompt_tokens").asInt()).isEqualTo(17);
        assertThat(last.path("id").asText()).isEqualTo("chatcmpl-b5e1c2f04d6a4e0f");
        assertThat(out).endsWith("data: [DONE]\n\n");
        assertThat(sentTo(B)).isEmpty();
        JsonNode sent = json(sentTo(A).get(0));
        assertThat(sent.path("stream_options").path("continuous_usage_stats").asBoolean())
                .as("the router asks for usage in every chunk to count tokens").isTrue();
    }

    @Test
    void aReasoningModelsThinkingAndAnswerKeepTheirFieldsAcrossAContinuation() throws Exception {
        start(A, B, C);
        // A streams reasoning under the older name, reasoning_content, and is cut while still thinking.
        List<String> a = SseFixtures.events(SseFixtures.text("chat-reasoning-content.sse"));
        transport.answer(A, r -> sse(new Chunks(reset(), a.get(0), a.get(1), a.get(2))));
        // B is a newer vLLM: its reasoning comes in delta.reasoning; it is cut after the answer started.
        transport.answer(B, r -> sse(new Chunks(reset(), event("b", ROLE, null, null),
                event("b", "{\"reasoning\":\", so I greet back.\"}", null, null), event("b", "{\"content\":\"Hi\"}", null, null))));
        transport.answer(C, r -> sse(Chunks.of(event("c", ROLE, null, null), event("c", "{\"content\":\"! How can I help?\"}", "stop", null),
                "data: [DONE]\n\n")));

        String out = chat(HI);

        assertThat(field(out, "reasoning_content")).isEqualTo("The user says hi, so I greet back.");
        assertThat(field(out, "reasoning")).as("named as the caller first saw it").isEmpty();
        assertThat(field(out, "content")).isEqualTo("Hi! How can I help?");
        JsonNode toB = json(sentTo(B).get(0)).path("messages").get(1);
        assertThat(toB.path("content").asText()).isEmpty();
        assertThat(toB.path("reasoning").asText()).isEqualTo("The user says hi");
        assertThat(toB.path("reasoning_content").asText()).isEqualTo("The user says hi");
        JsonNode toC = json(sentTo(C).get(0)).path("messages").get(1);
        assertThat(toC.path("content").asText()).isEqualTo("Hi");
        assertThat(toC.path("reasoning").asText()).isEqualTo("The user says hi, so I greet back.");
        assertThat(List.of(sentTo(A).size(), sentTo(B).size(), sentTo(C).size())).containsExactly(1, 1, 1);
    }

    @Test
    void tokenLimitsShrinkByTheTokensVllmCountedNotByEvents() throws Exception {
        start(A, B);
        // stream_interval = 3: each event carries three tokens, as its running usage says
        transport.answer(A, r -> sse(new Chunks(reset(), event("a", ROLE, null, usage(12, 0)),
                event("a", "{\"content\":\"one two three \"}", null, usage(12, 3)),
                event("a", "{\"content\":\"four five six \"}", null, usage(12, 6)))));
        transport.answer(B, r -> sse(Chunks.of(event("b", ROLE, null, usage(18, 0)),
                event("b", "{\"content\":\"seven\"}", "stop", usage(18, 1)),
                "data: {\"id\":\"b\",\"object\":\"chat.completion.chunk\",\"created\":2,\"model\":\"m\",\"choices\":[],\"usage\":"
                        + usage(18, 1) + "}\n\n", "data: [DONE]\n\n")));

        String out = chat("{\"model\":\"m\",\"stream\":true,\"max_tokens\":20,\"min_tokens\":10,"
                + "\"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":\"user\",\"content\":\"count\"}]}");

        JsonNode continuation = json(sentTo(B).get(0));
        assertThat(continuation.path("max_tokens").asInt()).isEqualTo(14);
        assertThat(continuation.path("min_tokens").asInt()).isEqualTo(4);
        assertThat(field(out, "content")).isEqualTo("one two three four five six seven");
        List<JsonNode> events = events(out);
        assertThat(events.stream().filter(e -> e.has("usage")).toList()).singleElement().satisfies(u -> {
            assertThat(u.path("usage").path("prompt_tokens").asInt()).as("the caller's prompt, not the continuation's").isEqualTo(12);
            assertThat(u.path("usage").path("completion_tokens").asInt()).isEqualTo(7);
            assertThat(u.path("usage").path("total_tokens").asInt()).isEqualTo(19);
        });
        assertThat(List.of(sentTo(A).size(), sentTo(B).size())).containsExactly(1, 1);
    }

    @Test
    void usageInEveryChunkReachesACallerWhoAskedForItCountedForTheWholeAnswer() throws Exception {
        start(A, B);
        transport.answer(A, r -> sse(new Chunks(reset(), event("a", ROLE, null, usage(12, 0)),
                event("a", "{\"content\":\"one \"}", null, usage(12, 1)))));
        transport.answer(B, r -> sse(Chunks.of(event("b", ROLE, null, usage(15, 0)),
                event("b", "{\"content\":\"two\"}", "stop", usage(15, 1)), "data: [DONE]\n\n")));

        String out = chat("{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true,"
                + "\"continuous_usage_stats\":true},\"messages\":[{\"role\":\"user\",\"content\":\"count\"}]}");

        assertThat(events(out)).extracting(e -> e.path("usage").path("completion_tokens").asInt()).containsExactly(0, 1, 2);
        assertThat(events(out)).extracting(e -> e.path("usage").path("prompt_tokens").asInt()).containsOnly(12);
    }

    @Test
    void aStreamWithCrlfLineEndsIsContinuedFromTheRightText() throws Exception {
        start(A, B);
        String crlf = SseFixtures.withLineEnds(SseFixtures.text("chat.sse"), "\r\n");
        List<String> events = List.of(crlf.split("(?<=\r\n\r\n)"));
        // role, "Hello", "," then half of " world"
        transport.answer(A, r -> sse(new Chunks(reset(), events.get(0) + events.get(1), events.get(2), events.get(3).substring(0, 40))));
        transport.answer(B, r -> sse(Chunks.of(event("b", ROLE, null, null), event("b", "{\"content\":\" world!\"}", "stop", null),
                "data: [DONE]\n\n")));

        String out = chat(HI);

        assertThat(out).startsWith(events.get(0) + events.get(1) + events.get(2));
        assertThat(json(sentTo(B).get(0)).path("messages").get(1).path("content").asText()).isEqualTo("Hello,");
        assertThat(field(out.replace("\r\n", "\n"), "content")).isEqualTo("Hello, world!");
        assertThat(List.of(sentTo(A).size(), sentTo(B).size())).containsExactly(1, 1);
    }

    @Test
    void anEventTooLongToHoldEndsItsBackendsTurnWithBoundedBufferingAndTheAnswerGoesOnElsewhere() throws Exception {
        start(A, B);
        List<byte[]> chunks = new ArrayList<>();
        chunks.add((event("a", ROLE, null, null) + event("a", "{\"content\":\"Hello\"}", null, null) + "data: ")
                .getBytes(StandardCharsets.UTF_8));
        byte[] piece = "z".repeat(256 * 1024).getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < 120; i++) {     // 30 MiB of one event, if it were all read
            chunks.add(piece);
        }
        Chunks huge = Chunks.bytes(null, false, chunks);
        transport.answer(A, r -> sse(huge));
        transport.answer(B, r -> sse(Chunks.of(event("b", ROLE, null, null), event("b", "{\"content\":\" there\"}", "stop", null),
                "data: [DONE]\n\n")));

        String out = chat(HI);

        assertThat(huge.cancelled).isTrue();
        assertThat(huge.delivered.get()).as("read no further than one event's limit and a chunk")
                .isLessThanOrEqualTo(SseParser.MAX_EVENT_BYTES + 2L * piece.length);
        assertThat(out).doesNotContain("zzz");
        assertThat(field(out, "content")).isEqualTo("Hello there");
        assertThat(List.of(sentTo(A).size(), sentTo(B).size())).containsExactly(1, 1);
        assertThat(router.stats().servers().get(0).requests().failed()).isEqualTo(1);
    }

    @Test
    void chunksWithoutANullFinishReasonAsVllm090SentThemAreSplicedWithOneRoleEvent() throws Exception {
        start(A, B);
        String role = "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
                + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n";
        String token = "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
                + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"T\",\"tool_calls\":[]}}]}\n\n";
        transport.answer(A, r -> sse(new Chunks(reset(), role, token.replace("T", "Hello"))));
        transport.answer(B, r -> sse(Chunks.of(role, token.replace("T", " there"), "data: [DONE]\n\n")));

        String out = chat(HI);

        assertThat(count(out, "\"role\"")).isEqualTo(1);
        assertThat(field(out, "content")).isEqualTo("Hello there");
        assertThat(List.of(sentTo(A).size(), sentTo(B).size())).containsExactly(1, 1);
    }

    @Test
    void aContinuationThatOpensWithAnInBandErrorIsTriedOnTheNextBackend() throws Exception {
        start(A, B, C);
        transport.answer(A, r -> sse(new Chunks(reset(), event("a", ROLE, null, null), event("a", "{\"content\":\"Hello\"}", null, null))));
        transport.answer(B, r -> sse(Chunks.of(SseFixtures.text("chat-error-first.sse"))));
        transport.answer(C, r -> sse(Chunks.of(event("c", ROLE, null, null), event("c", "{\"content\":\" again\"}", "stop", null),
                "data: [DONE]\n\n")));

        String out = chat(HI);

        assertThat(field(out, "content")).isEqualTo("Hello again");
        assertThat(out).doesNotContain("error");
        assertThat(List.of(sentTo(A).size(), sentTo(B).size(), sentTo(C).size())).containsExactly(1, 1, 1);
        assertThat(router.stats().servers().get(1).requests().failed()).isEqualTo(1);
    }
}
