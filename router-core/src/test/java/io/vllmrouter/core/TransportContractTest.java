package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vllmrouter.api.RequestOutcome;
import io.vllmrouter.api.RouterListener;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.api.UpstreamException;
import io.vllmrouter.api.UpstreamTimeoutException;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.testing.FakeClock;
import io.vllmrouter.api.transport.Transport;
import io.vllmrouter.api.transport.TransportException;
import io.vllmrouter.api.transport.UpstreamRequest;
import io.vllmrouter.api.transport.UpstreamResponse;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Retries, timeouts, header filtering, accounting and cancellation live in core, for any
 * {@link Transport}: here one scripted in memory, as a Netty transport would plug in.
 */
class TransportContractTest {

    private static final String A = "http://gpu-a:8000";
    private static final String B = "http://gpu-b:8000";
    private static final byte[] CHAT = "{\"model\":\"m\",\"stream\":true}".getBytes(StandardCharsets.UTF_8);

    private final FakeClock clock = new FakeClock();
    private final ScriptedTransport transport = new ScriptedTransport();
    private final List<RouterListener.RequestRecord> records = new CopyOnWriteArrayList<>();
    private final List<String> retries = new CopyOnWriteArrayList<>();
    private VllmRouter router;

    @AfterEach
    void stop() {
        if (router != null) {
            router.close();
        }
    }

    private void start(String keyOfA) {
        start(keyOfA, RouterConfig.DEFAULT_FIRST_BYTE_TIMEOUT);
    }

    private void start(String keyOfA, Duration firstTokenTimeout) {
        router = VllmRouters.builder()
                .config(RouterConfig.builder()
                        .server(new ServerConfig(URI.create(A), 4, List.of(), keyOfA))
                        .server(new ServerConfig(URI.create(B), 4, List.of(), null))
                        .enableActiveHealthCheck(false).retryDelay(Duration.ZERO).maxRetries(1)
                        .firstTokenTimeout(firstTokenTimeout).build())
                .ticker(clock).scheduler(clock)
                .strategy(new TestSupport.FirstStrategy())
                .probe(new TestSupport.FakeProbe())
                .transport(transport)
                .listener(new RouterListener() {
                    @Override
                    public void onRequestComplete(RequestRecord record) {
                        records.add(record);
                    }

                    @Override
                    public void onRetry(String requestId, String failedBackend, String reason) {
                        retries.add(failedBackend + " " + reason);
                    }
                })
                .build();
    }

    private static RouterRequest chat() {
        return RouterRequest.post("/v1/chat/completions", CHAT)
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer caller")
                .header("Connection", "keep-alive, X-Hop")
                .header("X-Hop", "dropped")
                .header("X-Trace", "kept")
                .build();
    }

    @Test
    void aConnectFailureIsRetriedOnAnotherBackendAndCountsAgainstTheFirst() throws Exception {
        start(null);
        transport.answer(A, r -> CompletableFuture.failedFuture(
                new TransportException(TransportException.Kind.CONNECT, "refused", null)));
        transport.answer(B, r -> CompletableFuture.completedFuture(
                UpstreamResponse.of(200, Map.of("content-type", List.of("text/event-stream")), Chunks.of("data: hi\n\n", "data: [DONE]\n\n"))));
        try (RouterResponse r = router.route(chat())) {
            assertThat(r.status()).isEqualTo(200);
            assertThat(new String(r.body().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("data: hi\n\ndata: [DONE]\n\n");
            assertThat(r.backendId()).isEqualTo(B);
            assertThat(r.attempts()).isEqualTo(2);
        }
        assertThat(retries).singleElement().asString().startsWith(A).contains("CONNECT");
        assertThat(records).singleElement().satisfies(rec -> {
            assertThat(rec.outcome()).isEqualTo(RequestOutcome.SUCCESS);
            assertThat(rec.retries()).isEqualTo(1);
        });
        assertThat(router.stats().servers().get(0).requests().failed()).isEqualTo(1);
        assertThat(router.stats().servers().get(1).requests().succeeded()).isEqualTo(1);
    }

    @Test
    void noHeadersByTheRequestsDeadlineIs504AndNotRetried() {
        start(null, RouterConfig.DEFAULT_REQUEST_TIMEOUT);
        transport.answer(A, r -> CompletableFuture.failedFuture(
                new TransportException(TransportException.Kind.TIMEOUT, "no headers", null)));
        assertThatThrownBy(() -> router.route(chat())).isInstanceOf(UpstreamTimeoutException.class);
        assertThat(transport.sent).extracting(r -> r.uri().getHost()).containsExactly("gpu-a");
        assertThat(records).singleElement().extracting(RouterListener.RequestRecord::outcome)
                .isEqualTo(RequestOutcome.TIMEOUT);
    }

    @Test
    void resetsOnEveryBackendEndIn502AfterTheRetries() {
        start(null);
        Function<UpstreamRequest, CompletableFuture<UpstreamResponse>> reset = r -> CompletableFuture.failedFuture(
                new TransportException(TransportException.Kind.RESET, "reset by peer", null));
        transport.answer(A, reset);
        transport.answer(B, reset);
        assertThatThrownBy(() -> router.route(chat())).isInstanceOfSatisfying(UpstreamException.class,
                e -> assertThat(e.attempts()).isEqualTo(2));
        assertThat(transport.sent).hasSize(2);
    }

    @Test
    void theTransportGetsFilteredHeadersTheBackendKeyAndTheTimeLeft() throws Exception {
        start("key-of-a");
        transport.answer(A, r -> CompletableFuture.completedFuture(UpstreamResponse.of(200, Map.of(), Chunks.of("ok"))));
        try (RouterResponse r = router.route(chat())) {
            r.body().readAllBytes();
        }
        UpstreamRequest sent = transport.sent.get(0);
        assertThat(sent.uri()).isEqualTo(URI.create(A + "/v1/chat/completions"));
        assertThat(sent.method()).isEqualTo("POST");
        assertThat(sent.body()).isSameAs(CHAT);
        assertThat(sent.headers()).containsEntry("Authorization", List.of("Bearer key-of-a"))
                .containsEntry("X-Trace", List.of("kept"))
                .doesNotContainKeys("Connection", "X-Hop");
    }

    @Test
    void closingTheResponseEarlyCancelsTheUpstreamSubscription() throws Exception {
        start(null);
        Chunks body = Chunks.of("data: 1\n\n", "data: 2\n\n");
        transport.answer(A, r -> CompletableFuture.completedFuture(UpstreamResponse.of(200, Map.of(), body)));
        try (RouterResponse r = router.route(chat())) {
            byte[] first = new byte[9];
            assertThat(r.body().read(first)).isEqualTo(9);
        }
        assertThat(body.cancelled).isTrue();
        assertThat(records).singleElement().extracting(RouterListener.RequestRecord::outcome)
                .isEqualTo(RequestOutcome.CANCELLED);
        assertThat(router.stats().servers().get(0).inFlight()).isZero();
    }
}
