package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vllmrouter.api.RequestOutcome;
import io.vllmrouter.api.RouterException;
import io.vllmrouter.api.RouterListener;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.RouterConfigBuilder;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.api.transport.TransportException;
import io.vllmrouter.api.transport.UpstreamResponse;
import io.vllmrouter.testing.FakeClock;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Each {@link RequestOutcome} of the closed set, as {@link RequestReport} decides it, on a scripted transport. */
class RequestOutcomeTest {

    private static final String A = "http://gpu-a:8000";
    private static final String B = "http://gpu-b:8000";

    private final FakeClock clock = new FakeClock();
    private final ScriptedTransport transport = new ScriptedTransport();
    private final List<RouterListener.RequestRecord> records = new CopyOnWriteArrayList<>();
    private DefaultVllmRouter router;

    @AfterEach
    void stop() {
        if (router != null) {
            router.close();
        }
    }

    /** A router on {@code urls} without active checks (every server eligible at once). */
    private void start(RouterConfigBuilder c, String... urls) {
        build(c.enableActiveHealthCheck(false), urls);
    }

    /** A router on {@code urls} as {@code c} says; with checks on, no server is eligible until the fake clock runs one. */
    private void build(RouterConfigBuilder c, String... urls) {
        c.retryDelay(Duration.ZERO);
        for (String u : urls) {
            c.server(new ServerConfig(URI.create(u), 4, List.of(), null));
        }
        router = VllmRouters.builder().config(c.build()).ticker(clock).scheduler(clock)
                .strategy(new TestSupport.FirstStrategy()).probe(new TestSupport.FakeProbe()).transport(transport)
                .listener(new RouterListener() {
                    @Override
                    public void onRequestComplete(RequestRecord r) {
                        records.add(r);
                    }
                }).buildRouter();
    }

    private static RouterRequest chat(boolean stream) {
        return RouterRequest.post("/v1/chat/completions", ("{\"model\":\"m\",\"stream\":" + stream
                + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").getBytes(StandardCharsets.UTF_8))
                .header("Content-Type", "application/json").build();
    }

    private static CompletableFuture<UpstreamResponse> answer(int status, Throwable failure, String... chunks) {
        return CompletableFuture.completedFuture(UpstreamResponse.of(status,
                Map.of("content-type", List.of("text/event-stream")), new Chunks(failure, chunks)));
    }

    private static String event(String content) {
        return "data: {\"id\":\"x\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\""
                + content + "\"},\"finish_reason\":null}]}\n\n";
    }

    private RequestOutcome outcome() {
        assertThat(records).hasSize(1);
        return records.get(0).outcome();
    }

    private void readAll(RouterRequest request) throws IOException {
        try (RouterResponse r = router.route(request)) {
            r.body().readAllBytes();
        }
    }

    @Test
    void aWholeAnswerIsASuccess() throws IOException {
        start(RouterConfig.builder(), A);
        transport.answer(A, r -> answer(200, null, event("hi"), "data: [DONE]\n\n"));
        readAll(chat(true));
        assertThat(outcome()).isEqualTo(RequestOutcome.SUCCESS);
        assertThat(outcome().isFailure()).isFalse();
    }

    @Test
    void aBackends4xxIsTheClientsError() throws IOException {
        start(RouterConfig.builder(), A);
        transport.answer(A, r -> answer(400, null, "{\"error\":{\"message\":\"bad\"}}"));
        readAll(chat(false));
        assertThat(outcome()).isEqualTo(RequestOutcome.CLIENT_ERROR);
        assertThat(outcome().isFailure()).isFalse();
    }

    @Test
    void failuresBeforeAnyAnswerAreUpstreamErrors() {
        start(RouterConfig.builder().maxRetries(1), A, B);
        transport.answer(A, r -> answer(500, null, "oops"));
        transport.answer(B, r -> CompletableFuture.failedFuture(
                new TransportException(TransportException.Kind.CONNECT, "refused", null)));
        assertThatThrownBy(() -> router.route(chat(false))).isInstanceOf(RouterException.class);
        assertThat(outcome()).isEqualTo(RequestOutcome.UPSTREAM_ERROR);
        assertThat(records.get(0).status()).isEqualTo(502);
    }

    @Test
    void aStreamCutAfterItBeganIsCutShortThoughItsStatusWas200() {
        start(RouterConfig.builder(), A);
        transport.answer(A, r -> answer(200, new TransportException(TransportException.Kind.RESET, "cut", null),
                event("Hel")));
        assertThatThrownBy(() -> readAll(chat(true))).isInstanceOf(IOException.class);
        assertThat(outcome()).isEqualTo(RequestOutcome.CUT_SHORT);
        assertThat(records.get(0).status()).isEqualTo(200);
        assertThat(outcome().isFailure()).isTrue();
    }

    @Test
    void aStreamThatWentOnElsewhereIsResumed() throws IOException {
        start(RouterConfig.builder().streamFailover(true).streamFailoverMax(1), A, B);
        transport.answer(A, r -> answer(200, new TransportException(TransportException.Kind.RESET, "cut", null),
                event("Hel")));
        transport.answer(B, r -> answer(200, null, event("lo"), "data: [DONE]\n\n"));
        readAll(chat(true));
        assertThat(outcome()).isEqualTo(RequestOutcome.RESUMED);
        assertThat(outcome().isFailure()).isFalse();
    }

    @Test
    void everyBackendAnswering429IsARejection() {
        start(RouterConfig.builder().maxRetries(1), A, B);
        transport.answer(A, r -> answer(429, null, "busy"));
        transport.answer(B, r -> answer(429, null, "busy"));
        assertThatThrownBy(() -> router.route(chat(false))).isInstanceOf(RouterException.class);
        assertThat(outcome()).isEqualTo(RequestOutcome.REJECTED);
        assertThat(records.get(0).status()).isEqualTo(429);
    }

    @Test
    void noEligibleBackendIsNoBackend() {
        build(RouterConfig.builder(), A);
        // no health check has run yet: the server is not eligible
        assertThatThrownBy(() -> router.route(chat(false))).isInstanceOf(RouterException.class);
        assertThat(outcome()).isEqualTo(RequestOutcome.NO_BACKEND);
        assertThat(records.get(0).status()).isEqualTo(503);
    }

    @Test
    void aCallerThatLeavesMidStreamIsCancelled() throws IOException {
        start(RouterConfig.builder(), A);
        // one event, then the backend goes on generating: the body never ends by itself
        java.util.concurrent.Flow.Publisher<io.vllmrouter.api.BodyChunk> endless = s -> s.onSubscribe(
                new java.util.concurrent.Flow.Subscription() {
                    private boolean sent;

                    @Override
                    public synchronized void request(long n) {
                        if (!sent) {
                            sent = true;
                            s.onNext(io.vllmrouter.api.BodyChunk.of(java.nio.ByteBuffer.wrap(event("a").getBytes(StandardCharsets.UTF_8))));
                        }
                    }

                    @Override
                    public void cancel() {
                    }
                });
        transport.answer(A, r -> CompletableFuture.completedFuture(UpstreamResponse.of(200,
                Map.of("content-type", List.of("text/event-stream")), endless)));
        try (RouterResponse r = router.route(chat(true))) {
            InputStream in = r.body();
            assertThat(in.read(new byte[4])).isPositive();
        }
        assertThat(outcome()).isEqualTo(RequestOutcome.CANCELLED);
        assertThat(records.get(0).status()).isEqualTo(499);
    }
}
