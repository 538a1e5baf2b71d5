package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.api.BodyChunk;
import io.vllmrouter.api.transport.UpstreamResponse;
import io.vllmrouter.testing.FakeClock;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The router times the streams it relays, per chunk and without reading them, and its fleet owner
 * folds the figures into the backend's speed estimate at the next scrape round. Time is a
 * {@link FakeClock}; the backend's events arrive when the test sends them.
 */
class RelayedSpeedTest {

    private static final String A = "http://gpu-a:8000";
    private static final byte[] STREAM = ("{\"model\":\"m\",\"stream\":true,\"max_tokens\":64,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").getBytes(StandardCharsets.UTF_8);

    private final FakeClock clock = new FakeClock();
    private final ScriptedTransport transport = new ScriptedTransport();
    private DefaultVllmRouter router;

    @AfterEach
    void stop() {
        if (router != null) {
            router.close();
        }
    }

    private void start(int capacity) {
        router = VllmRouters.builder()
                .config(RouterConfig.builder().server(new ServerConfig(URI.create(A), capacity, List.of(), null))
                        .enableActiveHealthCheck(false).metricsInterval(Duration.ofSeconds(2)).build())
                .ticker(clock).scheduler(clock)
                .strategy(new TestSupport.FirstStrategy())
                .probe(new TestSupport.FakeProbe())
                .transport(transport)
                .buildRouter();
    }

    /** A backend's event stream that the test sends one chunk at a time. */
    static final class Paced implements Flow.Publisher<BodyChunk> {
        private Flow.Subscriber<? super BodyChunk> subscriber;
        private long demand;

        @Override
        public synchronized void subscribe(Flow.Subscriber<? super BodyChunk> s) {
            subscriber = s;
            s.onSubscribe(new Flow.Subscription() {
                @Override
                public void request(long n) {
                    synchronized (Paced.this) {
                        demand = demand + n < 0 ? Long.MAX_VALUE : demand + n;
                    }
                }

                @Override
                public void cancel() {
                }
            });
        }

        synchronized void send(String event) {
            if (demand <= 0) {
                throw new AssertionError("the reader asked for no more");
            }
            demand--;
            subscriber.onNext(BodyChunk.of(ByteBuffer.wrap(event.getBytes(StandardCharsets.UTF_8))));
        }

        void end() {
            subscriber.onComplete();
        }
    }

    /** Reads the router's answer as the proxy does: as a publisher, everything asked for at once. */
    private static void readAll(RouterResponse r) {
        r.bodyPublisher().subscribe(new Flow.Subscriber<>() {
            @Override public void onSubscribe(Flow.Subscription s) { s.request(Long.MAX_VALUE); }
            @Override public void onNext(BodyChunk item) { item.release(); }
            @Override public void onError(Throwable t) { }
            @Override public void onComplete() { }
        });
    }

    private Paced answerWithAStream() {
        Paced body = new Paced();
        transport.answer(A, r -> CompletableFuture.completedFuture(
                UpstreamResponse.of(200, Map.of("content-type", List.of("text/event-stream")), body)));
        return body;
    }

    private static RouterRequest streamed() {
        return RouterRequest.post("/v1/chat/completions", STREAM).header("Content-Type", "application/json").build();
    }

    /** vLLM's layout: the first event comes with the first token, one event per token, then [DONE]. */
    private void firstToken(Paced body, Duration firstToken) {
        clock.advance(firstToken);
        body.send("data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"t1\"}}]}\n\n");
    }

    private void restOf64Tokens(Paced body, Duration perToken) {
        for (int i = 2; i <= 64; i++) {
            clock.advance(perToken);
            body.send("data: {\"choices\":[{\"delta\":{\"content\":\"t" + i + "\"}}]}\n\n");
        }
        body.send("data: [DONE]\n\n");
        body.end();
    }

    @Test
    void aRelayedStreamTimesItsBackendAtTheNextScrapeRound() {
        start(4);
        Paced body = answerWithAStream();
        // The answer starts with its first event: the router holds the stream until then.
        CompletableFuture<RouterResponse> answer = router.routeAsync(streamed());
        firstToken(body, Duration.ofMillis(120));
        try (RouterResponse r = answer.join()) {
            readAll(r);
            restOf64Tokens(body, Duration.ofMillis(30));
        }
        BackendStats.SpeedStats before = router.stats().servers().get(0).speed();
        assertThat(before.confidence()).as("folded in at the scrape round, not on the request path").isZero();

        clock.advance(Duration.ofSeconds(2));  // the next scrape round

        BackendStats.SpeedStats s = router.stats().servers().get(0).speed();
        // 65 chunks: 63 token gaps of 30 ms between the first and the last, over the history (the
        // same gaps over the default seed, 20 ms, as 16 gaps) as 16 gaps. First token 120 ms, one
        // request, over its history (over the default 200 ms as 2 requests) as 2; 64 tokens.
        double history = (63 * 30.0 + 16 * 20.0) / (63 + 16);
        assertThat(s.timePerOutputTokenMillis()).isCloseTo((63 * 30.0 + 16 * history) / (63 + 16), within(1e-6));
        double ttftHistory = (120.0 + 2 * 200.0) / 3;
        assertThat(s.timeToFirstTokenMillis()).isCloseTo((120.0 + 2 * ttftHistory) / 3, within(1e-6));
        double answerHistory = (64.0 + 2 * 256) / 3;
        assertThat(s.typicalOutputTokens()).isCloseTo((64.0 + 2 * answerHistory) / 3, within(1e-9));
        assertThat(s.confidence()).isCloseTo(63.0 / 79, within(1e-12));
        assertThat(s.prefillMillisPerToken()).as("the router's own streams give no prefill rate").isNaN();
    }

    @Test
    void aStreamThatWaitedForASlotGivesNoFirstTokenTimeAndACancelledOneNothing() {
        start(1);
        Paced first = answerWithAStream();
        CompletableFuture<RouterResponse> held = router.routeAsync(streamed());
        Paced second = answerWithAStream();
        CompletableFuture<RouterResponse> waited = router.routeAsync(streamed());   // two outstanding on one slot
        firstToken(second, Duration.ofMillis(900));
        try (RouterResponse r = waited.join()) {
            readAll(r);
            restOf64Tokens(second, Duration.ofMillis(30));
        }
        first.send("data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"t1\"}}]}\n\n");
        RouterResponse left = held.join();
        readAll(left);
        left.close();   // the caller went away: its stream says nothing

        clock.advance(Duration.ofSeconds(2));

        BackendStats.SpeedStats s = router.stats().servers().get(0).speed();
        assertThat(s.timeToFirstTokenMillis()).as("the default: no sample").isCloseTo(200.0, within(1e-9));
        double history = (63 * 30.0 + 16 * 20.0) / (63 + 16);
        assertThat(s.timePerOutputTokenMillis()).isCloseTo((63 * 30.0 + 16 * history) / (63 + 16), within(1e-6));
    }
}
