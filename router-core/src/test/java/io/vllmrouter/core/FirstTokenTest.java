package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vllmrouter.api.RequestOutcome;
import io.vllmrouter.api.RouterListener;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.api.UpstreamException;
import io.vllmrouter.api.UpstreamTimeoutException;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.RouterConfigBuilder;
import io.vllmrouter.api.transport.TransportException;
import io.vllmrouter.api.transport.UpstreamResponse;
import io.vllmrouter.testing.FakeClock;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Timeouts that measure what they say, and vLLM's in-band error, without stream failover: a
 * non-streaming answer is bounded by the request's deadline only (vLLM sends its headers when it is
 * done); a stream must bring its first data event within {@code first_token_timeout}, and until it
 * does nothing reaches the caller, so a stall or an opening error event is retried elsewhere; an
 * error event later is passed on and the stream ends as a cut one. The transport is scripted, time
 * is a {@link FakeClock}, and vLLM's own stream shapes come from the fixtures.
 */
class FirstTokenTest {

    private static final String A = "http://gpu-a:8000";
    private static final String B = "http://gpu-b:8000";
    private static final String CHAT = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    private static final String STREAM = "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    private final ScriptedFleet fleet = new ScriptedFleet();
    private final FakeClock clock = fleet.clock;
    private final ScriptedTransport transport = fleet.transport;
    private final List<RouterListener.RequestRecord> records = fleet.records;
    private DefaultVllmRouter router;

    @AfterEach
    void stop() {
        fleet.close();
    }

    private void start(RouterConfigBuilder config, String... urls) {
        start(clock, config, urls);
    }

    /** With {@code timers} as the request scheduler (a request's deadline and first-token timers). */
    private void start(FakeClock timers, RouterConfigBuilder config, String... urls) {
        router = fleet.start(config, timers, urls);
    }

    private static RouterRequest post(String body) {
        return RouterRequest.post("/v1/chat/completions", body.getBytes(StandardCharsets.UTF_8))
                .header("Content-Type", "application/json").build();
    }

    private static CompletableFuture<UpstreamResponse> sse(Chunks body) {
        return ScriptedFleet.sse(body);
    }

    private long sentTo(String base) {
        return fleet.sentTo(base).size();
    }

    private static String read(RouterResponse r) throws IOException {
        return new String(r.body().readAllBytes(), StandardCharsets.UTF_8);
    }

    @Test
    void aNonStreamingAnswerThreeTimesLongerThanTheFirstTokenTimeoutSucceedsAndRunsOnce() throws Exception {
        FakeClock timers = new FakeClock();
        start(timers, RouterConfig.builder().firstTokenTimeout(Duration.ofSeconds(2)).requestTimeout(Duration.ofSeconds(60)), A, B);
        CompletableFuture<UpstreamResponse> generating = new CompletableFuture<>();
        transport.answer(A, r -> generating);

        CompletableFuture<RouterResponse> f = router.routeAsync(post(CHAT));
        assertThat(timers.pendingTasks()).as("only the request's deadline (60 s) runs for it").isEqualTo(1);
        clock.advance(Duration.ofSeconds(6));          // vLLM sends the headers when the answer is done
        timers.advance(Duration.ofSeconds(6));
        assertThat(f).isNotDone();
        generating.complete(UpstreamResponse.of(200, Map.of("content-type", List.of("application/json")),
                Chunks.of("{\"choices\":[{\"message\":{\"content\":\"a long answer\"}}]}")));

        try (RouterResponse r = f.get(5, TimeUnit.SECONDS)) {
            assertThat(r.status()).isEqualTo(200);
            assertThat(read(r)).contains("a long answer");
            assertThat(r.attempts()).isEqualTo(1);
        }
        assertThat(sentTo(A)).isEqualTo(1);
        assertThat(sentTo(B)).isZero();
        assertThat(router.stats().servers().get(0).requests().failed()).isZero();
        assertThat(records).singleElement().satisfies(rec -> {
            assertThat(rec.outcome()).isEqualTo(RequestOutcome.SUCCESS);
            assertThat(rec.retries()).isZero();
        });
    }

    @Test
    void aNonStreamingAnswerStillGeneratingAtTheDeadlineIs504AndNotRunAgain() {
        start(RouterConfig.builder().firstTokenTimeout(Duration.ofSeconds(2)).requestTimeout(Duration.ofSeconds(10)), A, B);
        CompletableFuture<UpstreamResponse> generating = new CompletableFuture<>();
        transport.answer(A, r -> generating);
        CompletableFuture<RouterResponse> f = router.routeAsync(post(CHAT));
        // the transport's own timer, given the time left, ends it at the deadline
        generating.completeExceptionally(new TransportException(TransportException.Kind.TIMEOUT, "no headers", null));
        assertThatThrownBy(f::join).hasCauseInstanceOf(UpstreamTimeoutException.class);
        assertThat(transport.sent).hasSize(1);
    }

    @Test
    void aStreamStalledAfterItsHeadersIsRetriedElsewhereAndCompletes() throws Exception {
        start(RouterConfig.builder().firstTokenTimeout(Duration.ofSeconds(5)), A, B);
        Chunks stalled = Chunks.hanging(": keep-alive comments are not tokens\n\n");
        transport.answer(A, r -> sse(stalled));
        String answer = SseFixtures.text("chat.sse");
        transport.answer(B, r -> sse(Chunks.of(answer)));

        CompletableFuture<RouterResponse> f = router.routeAsync(post(STREAM));
        assertThat(f).as("the headers alone do not answer a stream").isNotDone();
        clock.advance(Duration.ofMillis(4_999));
        assertThat(f).isNotDone();
        assertThat(sentTo(B)).isZero();
        clock.advance(Duration.ofMillis(1));

        try (RouterResponse r = f.get(5, TimeUnit.SECONDS)) {
            assertThat(r.backendId()).isEqualTo(B);
            assertThat(read(r)).as("nothing of the stalled stream reached the caller").isEqualTo(answer);
        }
        assertThat(stalled.cancelled).isTrue();
        assertThat(sentTo(A)).isEqualTo(1);
        assertThat(sentTo(B)).isEqualTo(1);
        assertThat(router.stats().servers().get(0).requests().failed()).isEqualTo(1);
        assertThat(router.stats().servers().get(0).inFlight()).isZero();
        assertThat(records).singleElement().satisfies(rec -> {
            assertThat(rec.outcome()).isEqualTo(RequestOutcome.SUCCESS);
            assertThat(rec.retries()).isEqualTo(1);
        });
    }

    @Test
    void aStartedStreamKeepsItsFirstTokenTimerToTheRequestsDeadline() throws Exception {
        FakeClock timers = new FakeClock();
        start(timers, RouterConfig.builder().firstTokenTimeout(Duration.ofSeconds(5)).requestTimeout(Duration.ofSeconds(30)), A, B);
        String first = "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n";
        Chunks body = Chunks.hanging(first); // the first token, then nothing
        transport.answer(A, r -> sse(body));

        try (RouterResponse r = router.routeAsync(post(STREAM)).get(5, TimeUnit.SECONDS)) {
            InputStream in = r.body();
            assertThat(new String(in.readNBytes(first.length()), StandardCharsets.UTF_8)).isEqualTo(first);
            assertThat(timers.scheduledTasks()).as("the first-token wait's timer, handed over to the body").isEqualTo(1);
            timers.advance(Duration.ofSeconds(5));      // its wait ends: the token came, nothing fails
            assertThat(body.cancelled).isFalse();
            assertThat(timers.scheduledTasks()).as("then the rest of the request's time").isEqualTo(2);
            assertThat(timers.pendingTasks()).isEqualTo(1);
            timers.advance(Duration.ofMillis(24_999));
            assertThat(body.cancelled).isFalse();
            timers.advance(Duration.ofMillis(1));       // 30 s after the send
            assertThat(body.cancelled).isTrue();
            assertThatThrownBy(in::read).isInstanceOf(IOException.class).hasMessageContaining("timed out after 30000 ms");
        }
        assertThat(timers.pendingTasks()).isZero();
        assertThat(transport.sent).hasSize(1);
        assertThat(records).singleElement().extracting(RouterListener.RequestRecord::outcome)
                .isEqualTo(RequestOutcome.TIMEOUT);
    }

    @Test
    void aStreamEndingBeforeItsFirstTokenWaitLeavesNoTimer() throws Exception {
        FakeClock timers = new FakeClock();
        start(timers, RouterConfig.builder().firstTokenTimeout(Duration.ofSeconds(5)).requestTimeout(Duration.ofSeconds(30)), A, B);
        String answer = SseFixtures.text("chat.sse");
        transport.answer(A, r -> sse(Chunks.of(answer)));
        try (RouterResponse r = router.routeAsync(post(STREAM)).get(5, TimeUnit.SECONDS)) {
            assertThat(read(r)).isEqualTo(answer);
        }
        assertThat(timers.scheduledTasks()).as("one timer for the attempt, wait and body").isEqualTo(1);
        assertThat(timers.pendingTasks()).isZero();
        timers.advance(Duration.ofSeconds(60));
        assertThat(timers.scheduledTasks()).isEqualTo(1);
    }

    @Test
    void whenEveryStreamStallsTheCallerGetsA502NamingTheFirstTokenTimeout() {
        start(RouterConfig.builder().firstTokenTimeout(Duration.ofSeconds(5)).maxRetries(1), A, B);
        transport.answer(A, r -> sse(Chunks.hanging()));
        transport.answer(B, r -> sse(Chunks.hanging()));
        CompletableFuture<RouterResponse> f = router.routeAsync(post(STREAM));
        clock.advance(Duration.ofSeconds(5));
        clock.advance(Duration.ofSeconds(5));
        assertThatThrownBy(f::join).cause().isInstanceOf(UpstreamException.class)
                .hasMessageContaining("last: no first token within 5000 ms from " + B);
        assertThat(transport.sent).hasSize(2);
    }

    @Test
    void aStreamWithoutItsFirstTokenByTheDeadlineIs504() {
        start(RouterConfig.builder().requestTimeout(Duration.ofSeconds(10)), A, B);  // first token timeout: the deadline
        transport.answer(A, r -> sse(Chunks.hanging()));
        CompletableFuture<RouterResponse> f = router.routeAsync(post(STREAM));
        clock.advance(Duration.ofSeconds(10));
        assertThatThrownBy(f::join).hasCauseInstanceOf(UpstreamTimeoutException.class);
        assertThat(transport.sent).hasSize(1);
    }

    @Test
    void aStreamOpeningWithAnInBandErrorIsRetriedElsewhere() throws Exception {
        start(RouterConfig.builder(), A, B);
        transport.answer(A, r -> sse(Chunks.of(SseFixtures.text("chat-error-first.sse"))));
        String answer = SseFixtures.text("chat.sse");
        transport.answer(B, r -> sse(Chunks.of(answer)));
        try (RouterResponse r = router.route(post(STREAM))) {
            assertThat(read(r)).isEqualTo(answer);
        }
        assertThat(sentTo(A)).isEqualTo(1);
        assertThat(router.stats().servers().get(0).requests().failed()).isEqualTo(1);
    }

    @Test
    void anInBandErrorMidStreamReachesTheCallerAndEndsTheStreamAsACutOne() throws Exception {
        start(RouterConfig.builder(), A, B);
        String stream = SseFixtures.text("chat-error.sse");
        Chunks body = Chunks.of(stream);
        transport.answer(A, r -> sse(body));
        String upToTheError = stream.substring(0, stream.indexOf("data: [DONE]"));
        try (RouterResponse r = router.route(post(STREAM))) {
            InputStream in = r.body();
            byte[] got = in.readNBytes(upToTheError.length());
            assertThat(new String(got, StandardCharsets.UTF_8)).isEqualTo(upToTheError).contains("\"error\": {");
            assertThatThrownBy(in::read).isInstanceOf(IOException.class).hasMessageContaining("error event");
        }
        assertThat(transport.sent).hasSize(1);
        assertThat(router.stats().servers().get(0).requests().failed()).isEqualTo(1);
        assertThat(router.stats().servers().get(0).inFlight()).isZero();
        assertThat(records).singleElement().extracting(RouterListener.RequestRecord::outcome)
                .isEqualTo(RequestOutcome.CUT_SHORT);
    }

    @Test
    void aStreamThatEndsCleanlyBeforeDoneIsCutShort() throws Exception {
        start(RouterConfig.builder(), A, B);
        String answer = SseFixtures.text("chat.sse");
        String withoutDone = answer.substring(0, answer.indexOf("data: [DONE]")); // a server shutting down
        transport.answer(A, r -> sse(Chunks.of(withoutDone)));
        try (RouterResponse r = router.route(post(STREAM))) {
            InputStream in = r.body();
            assertThat(new String(in.readNBytes(withoutDone.length()), StandardCharsets.UTF_8)).isEqualTo(withoutDone);
            assertThatThrownBy(in::read).isInstanceOf(IOException.class).hasMessageContaining("before data: [DONE]");
        }
        assertThat(records).singleElement().extracting(RouterListener.RequestRecord::outcome)
                .isEqualTo(RequestOutcome.CUT_SHORT);
    }

    @Test
    void aConnectionLostAfterDoneIsACompleteAnswer() throws Exception {
        start(RouterConfig.builder(), A, B);
        String answer = SseFixtures.text("chat.sse");
        transport.answer(A, r -> sse(new Chunks(new TransportException(TransportException.Kind.RESET, "reset", null), answer)));
        try (RouterResponse r = router.route(post(STREAM))) {
            assertThat(read(r)).isEqualTo(answer);
        }
        assertThat(transport.sent).hasSize(1);
        assertThat(router.stats().servers().get(0).requests().failed()).isZero();
        assertThat(records).singleElement().extracting(RouterListener.RequestRecord::outcome).isEqualTo(RequestOutcome.SUCCESS);
    }

    @Test
    void aCallerLeavingWhileTheFirstTokenIsAwaitedCancelsUpstream() {
        start(RouterConfig.builder(), A);
        Chunks stalled = Chunks.hanging();
        transport.answer(A, r -> sse(stalled));
        CompletableFuture<RouterResponse> f = router.routeAsync(post(STREAM));
        f.cancel(true);
        assertThat(stalled.cancelled).isTrue();
        assertThat(router.stats().servers().get(0).inFlight()).isZero();
        assertThat(router.stats().servers().get(0).requests().failed()).isZero();
        assertThat(records).singleElement().extracting(RouterListener.RequestRecord::outcome)
                .isEqualTo(RequestOutcome.CANCELLED);
    }

    @Test
    void aFirstEventLongerThanTheHoldLimitIsPassedOnAsItComes() throws Exception {
        start(RouterConfig.builder(), A);
        byte[] piece = "z".repeat(256 * 1024).getBytes(StandardCharsets.US_ASCII);
        List<byte[]> chunks = new java.util.ArrayList<>();
        chunks.add("data: ".getBytes(StandardCharsets.US_ASCII));
        for (int i = 0; i < 40; i++) {          // 10 MiB without a separator
            chunks.add(piece);
        }
        Chunks body = Chunks.bytes(null, true, chunks);
        transport.answer(A, r -> sse(body));
        try (RouterResponse r = router.route(post(STREAM))) {
            assertThat(body.delivered.get()).as("held at most one event's limit and a chunk")
                    .isLessThanOrEqualTo(SseParser.MAX_EVENT_BYTES + piece.length + 6);
            byte[] start = r.body().readNBytes(10);
            assertThat(new String(start, StandardCharsets.US_ASCII)).isEqualTo("data: zzzz");
        }
        assertThat(body.cancelled).isTrue();
    }

    static List<String> passedThrough() {
        return List.of("chat.sse", "chat-usage.sse", "chat-continuous-usage.sse", "chat-reasoning.sse",
                "chat-reasoning-content.sse", "completions.sse");
    }

    @ParameterizedTest
    @MethodSource("passedThrough")
    void vllmsStreamsPassByteForByteWhateverTheChunksAndLineEnds(String fixture) throws Exception {
        start(RouterConfig.builder(), A);
        for (String lineEnd : List.of("\n", "\r\n", "\r")) {
            byte[] stream = SseFixtures.withLineEnds(SseFixtures.text(fixture), lineEnd).getBytes(StandardCharsets.UTF_8);
            for (int size : new int[] {1, 7, stream.length}) {
                transport.answer(A, r -> sse(Chunks.bytes(null, false, Chunks.split(stream, size))));
                try (RouterResponse r = router.route(post(STREAM))) {
                    assertThat(r.body().readAllBytes()).as("%s in chunks of %d", fixture, size).isEqualTo(stream);
                }
            }
        }
        assertThat(records).hasSize(9).allSatisfy(rec -> assertThat(rec.outcome()).isEqualTo(RequestOutcome.SUCCESS));
    }

    @Test
    void anInBandErrorSentByteByByteIsStillCaught() throws Exception {
        start(RouterConfig.builder(), A);
        for (String lineEnd : List.of("\n", "\r\n", "\r")) {
            String stream = SseFixtures.withLineEnds(SseFixtures.text("chat-error.sse"), lineEnd);
            byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);
            transport.answer(A, r -> sse(Chunks.bytes(null, false, Chunks.split(bytes, 1))));
            try (RouterResponse r = router.route(post(STREAM))) {
                InputStream in = r.body();
                StringBuilder got = new StringBuilder();
                assertThatThrownBy(() -> {
                    int b;
                    while ((b = in.read()) >= 0) {
                        got.append((char) b);
                    }
                }).isInstanceOf(IOException.class);
                assertThat(got.toString()).contains("InternalServerError").doesNotContain("[DONE]");
            }
        }
        assertThat(records).hasSize(3).allSatisfy(rec -> assertThat(rec.outcome()).isEqualTo(RequestOutcome.CUT_SHORT));
    }
}
