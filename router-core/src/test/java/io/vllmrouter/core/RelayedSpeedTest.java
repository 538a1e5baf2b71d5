package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.core.transport.UpstreamResponse;
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
    static final class Paced implements Flow.Publisher<List<ByteBuffer>> {
        private Flow.Subscriber<? super List<ByteBuffer>> subscriber;
        private long demand;

        @Override
        public synchronized void subscribe(Flow.Subscriber<? super List<ByteBuffer>> s) {
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
            subscriber.onNext(List.of(ByteBuffer.wrap(event.getBytes(StandardCharsets.UTF_8))));
        }

        void end() {
            subscriber.onComplete();
        }
    }

    /** Reads the router's answer as the proxy does: as a publisher, everything asked for at once. */
    private static void readAll(RouterResponse r) {
        r.bodyPublisher().subscribe(new Flow.Subscriber<>() {
            @Override public void onSubscribe(Flow.Subscription s) { s.request(Long.MAX_VALUE); }
            @Override public void onNext(List<ByteBuffer> item) { }
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
    private void relay64Tokens(Paced body, Duration firstToken, Duration perToken) {
        clock.advance(firstToken);
        body.send("data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"t1\"}}]}\n\n");
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
        try (RouterResponse r = router.route(streamed())) {
            readAll(r);
            relay64Tokens(body, Duration.ofMillis(120), Duration.ofMillis(30));
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
        RouterResponse held = router.route(streamed());
        readAll(held);
        Paced second = answerWithAStream();
        try (RouterResponse r = router.route(streamed())) {   // two outstanding on one slot: it waited
            readAll(r);
            relay64Tokens(second, Duration.ofMillis(900), Duration.ofMillis(30));
        }
        first.send("data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"t1\"}}]}\n\n");
        held.close();   // the caller went away: its stream says nothing

        clock.advance(Duration.ofSeconds(2));

        BackendStats.SpeedStats s = router.stats().servers().get(0).speed();
        assertThat(s.timeToFirstTokenMillis()).as("the default: no sample").isCloseTo(200.0, within(1e-9));
        double history = (63 * 30.0 + 16 * 20.0) / (63 + 16);
        assertThat(s.timePerOutputTokenMillis()).isCloseTo((63 * 30.0 + 16 * history) / (63 + 16), within(1e-6));
    }
}
