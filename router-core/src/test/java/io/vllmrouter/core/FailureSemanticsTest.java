package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.BackendsBusyException;
import io.vllmrouter.api.CircuitState;
import io.vllmrouter.api.RequestOutcome;
import io.vllmrouter.api.RouterListener;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.api.UpstreamException;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.RouterConfigBuilder;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.testing.FakeClock;
import io.vllmrouter.api.transport.TransportException;
import io.vllmrouter.api.transport.UpstreamResponse;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What the router promises when backends fail (docs/resilience.md): retried statuses, a bounded
 * time to a stream's first token, a clean 502, visible mid-stream failures, and breakers that hear only the
 * backends' own failures. The transport is scripted in memory and time is a {@link FakeClock}.
 */
class FailureSemanticsTest {

    private static final String A = "http://gpu-a:8000";
    private static final String B = "http://gpu-b:8000";
    private static final String C = "http://gpu-c:8000";
    private static final byte[] CHAT = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
            .getBytes(StandardCharsets.UTF_8);
    private static final byte[] STREAM_CHAT = "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
            .getBytes(StandardCharsets.UTF_8);

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

    private void start(RouterConfigBuilder config, String... urls) {
        start(b -> { }, config, urls);
    }

    private void start(java.util.function.Consumer<VllmRouters.Builder> extra, RouterConfigBuilder config, String... urls) {
        for (String u : urls) {
            config.server(new ServerConfig(URI.create(u), 4, List.of(), null));
        }
        VllmRouters.Builder builder = VllmRouters.builder();
        extra.accept(builder);
        router = builder
                .config(config.enableActiveHealthCheck(false).retryDelay(Duration.ZERO).build())
                .ticker(clock).scheduler(clock)
                .strategy(new TestSupport.FirstStrategy())
                .probe(new TestSupport.FakeProbe())
                .transport(transport)
                .listener(new RouterListener() {
                    @Override
                    public void onRequestComplete(RequestRecord record) {
                        records.add(record);
                    }
                })
                .buildRouter();
    }

    private static RouterRequest chat() {
        return RouterRequest.post("/v1/chat/completions", CHAT).header("Content-Type", "application/json").build();
    }

    private static RouterRequest streamedChat() {
        return RouterRequest.post("/v1/chat/completions", STREAM_CHAT).header("Content-Type", "application/json").build();
    }

    private static CompletableFuture<UpstreamResponse> status(int status, String body) {
        return CompletableFuture.completedFuture(UpstreamResponse.of(status, Map.of(), Chunks.of(body)));
    }

    private static CompletableFuture<UpstreamResponse> reset() {
        return CompletableFuture.failedFuture(new TransportException(TransportException.Kind.RESET, "reset by peer", null));
    }

    private BackendStats stats(int i) {
        return router.stats().servers().get(i);
    }

    @Test
    void a500IsRetriedOnAnotherBackendAndCountsAgainstTheFirst() throws Exception {
        start(RouterConfig.builder(), A, B);
        transport.answer(A, r -> status(500, "<html>Internal Server Error</html>"));
        transport.answer(B, r -> status(200, "{\"ok\":true}"));
        try (RouterResponse r = router.route(chat())) {
            assertThat(r.status()).isEqualTo(200);
            assertThat(new String(r.body().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("{\"ok\":true}");
            assertThat(r.attempts()).isEqualTo(2);
        }
        assertThat(stats(0).requests().failed()).isEqualTo(1);
        assertThat(stats(0).inFlight()).isZero();
        assertThat(stats(1).requests().succeeded()).isEqualTo(1);
    }

    @Test
    void aRequestLineThatCannotBeWrittenIsTheCallersError400AndNothingIsSent() {
        start(RouterConfig.builder(), A, B);
        transport.answer(A, r -> status(200, "{\"ok\":true}"));
        transport.answer(B, r -> status(200, "{\"ok\":true}"));
        RouterRequest split = RouterRequest.post("/v1/chat/completions HTTP/1.1\r\nX-Injected: 1", CHAT)
                .header("Content-Type", "application/json").build();
        assertThatThrownBy(() -> router.route(split)).isInstanceOfSatisfying(io.vllmrouter.api.RouterException.class, e -> {
            assertThat(e.httpStatus()).isEqualTo(400);
            assertThat(e.getMessage()).startsWith("Cannot forward the request: target: ")
                    .contains("expected: no space, control or character past U+00FF").doesNotContain("\r");
        });
        assertThat(transport.sent).isEmpty();
        assertThat(stats(0).inFlight()).isZero();
        assertThat(stats(1).inFlight()).isZero();
    }

    @Test
    void whenEveryAttemptFailsTheCallerGetsA502NamingThemAndNoBackendPage() {
        start(RouterConfig.builder().maxRetries(1), A, B);
        transport.answer(A, r -> status(500, "<html>Traceback (most recent call last)</html>"));
        transport.answer(B, r -> status(503, "<html>Service Unavailable</html>"));
        assertThatThrownBy(() -> router.route(chat())).isInstanceOfSatisfying(UpstreamException.class, e -> {
            assertThat(e.httpStatus()).isEqualTo(502);
            assertThat(e.attempts()).isEqualTo(2);
            assertThat(e.getMessage())
                    .startsWith("all 2 attempts failed (backends tried: 2; last: status 503 from " + B + ")")
                    .doesNotContain("<html>").doesNotContain("Exception").doesNotContain("Traceback");
        });
        assertThat(records).singleElement().satisfies(rec -> {
            assertThat(rec.status()).isEqualTo(502);
            assertThat(rec.outcome()).isEqualTo(RequestOutcome.UPSTREAM_ERROR);
        });
    }

    @Test
    void retryOnStatusDecidesWhichStatusesAreRetried() throws Exception {
        start(RouterConfig.builder().retryOnStatus(List.of(503)), A, B);
        transport.answer(A, r -> status(500, "{\"error\":\"boom\"}"));
        try (RouterResponse r = router.route(chat())) {
            assertThat(r.status()).isEqualTo(500);
            r.body().readAllBytes();
        }
        assertThat(transport.sent).hasSize(1);
    }

    @Test
    void aHungStreamIsGivenUpAfterTheFirstTokenTimeoutAndTheRequestServedElsewhere() throws Exception {
        start(RouterConfig.builder().firstTokenTimeout(Duration.ofSeconds(5)), A, B);
        CompletableFuture<UpstreamResponse> hung = new CompletableFuture<>();
        transport.answer(A, r -> hung);
        transport.answer(B, r -> status(200, "fine"));

        CompletableFuture<RouterResponse> f = router.routeAsync(streamedChat());
        assertThat(f).isNotDone();
        assertThat(stats(0).inFlight()).isEqualTo(1);

        clock.advance(Duration.ofMillis(4_999));
        assertThat(f).isNotDone();
        clock.advance(Duration.ofMillis(1));

        try (RouterResponse r = f.get(5, TimeUnit.SECONDS)) {
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.backendId()).isEqualTo(B);
            assertThat(new String(r.body().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("fine");
        }
        assertThat(hung).isCancelled();
        assertThat(stats(0).requests().failed()).isEqualTo(1);
        assertThat(stats(0).inFlight()).isZero();
        assertThat(records).singleElement().satisfies(rec -> {
            assertThat(rec.outcome()).isEqualTo(RequestOutcome.SUCCESS);
            assertThat(rec.retries()).isEqualTo(1);
        });
    }

    @Test
    void requestTimersRunOnTheRequestSchedulerWhenOneIsGiven() throws Exception {
        FakeClock timers = new FakeClock();
        start(b -> b.requestScheduler(timers), RouterConfig.builder().firstTokenTimeout(Duration.ofSeconds(5)), A, B);
        CompletableFuture<UpstreamResponse> hung = new CompletableFuture<>();
        transport.answer(A, r -> hung);
        transport.answer(B, r -> status(200, "fine"));

        CompletableFuture<RouterResponse> f = router.routeAsync(streamedChat());
        assertThat(timers.pendingTasks()).isEqualTo(1); // A's first-token timer
        clock.advance(Duration.ofSeconds(6));            // the background scheduler does not own it
        assertThat(f).isNotDone();

        timers.advance(Duration.ofSeconds(5));
        try (RouterResponse r = f.get(5, TimeUnit.SECONDS)) {
            assertThat(r.backendId()).isEqualTo(B);
            assertThat(timers.pendingTasks()).isEqualTo(1); // B's deadline, while its body is open
            assertThat(new String(r.body().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("fine");
        }
        assertThat(hung).isCancelled();
        assertThat(timers.pendingTasks()).isZero();
    }

    @Test
    void aPlainAnswerKeepsOneTimerFromTheSendToItsDeadline() throws Exception {
        FakeClock timers = new FakeClock();
        start(b -> b.requestScheduler(timers), RouterConfig.builder().requestTimeout(Duration.ofSeconds(30)), A);
        Chunks body = Chunks.hanging("{\"partial\":");
        transport.answer(A, r -> CompletableFuture.completedFuture(UpstreamResponse.of(200, Map.of(), body)));

        try (RouterResponse r = router.route(chat())) {
            // the wait's timer, ending at the request's deadline, went on as the body's deadline
            assertThat(timers.scheduledTasks()).isEqualTo(1);
            assertThat(timers.pendingTasks()).isEqualTo(1);
            timers.advance(Duration.ofSeconds(29));
            assertThat(body.cancelled).isFalse();
            timers.advance(Duration.ofSeconds(1));
            assertThat(body.cancelled).isTrue();
            assertThatThrownBy(() -> r.body().readAllBytes()).hasMessageContaining("timed out after 30000 ms");
        }
        assertThat(timers.pendingTasks()).isZero();
        assertThat(records).singleElement().satisfies(rec -> assertThat(rec.outcome()).isEqualTo(RequestOutcome.TIMEOUT));
    }

    @Test
    void firstTokenTimeoutMayNotExceedTheRequestTimeout() {
        assertThatThrownBy(() -> RouterConfig.builder().requestTimeout(Duration.ofSeconds(10))
                .firstTokenTimeout(Duration.ofSeconds(20)).build())
                .hasMessage("first_token_timeout: 20.0 (expected: seconds > 0 and <= request_timeout, 10.0)");
        // unset, it follows a shorter request_timeout
        assertThat(RouterConfig.builder().requestTimeout(Duration.ofSeconds(10)).build().firstTokenTimeout())
                .isEqualTo(Duration.ofSeconds(10));
    }

    @Test
    void aQueryOfDeathIsNotRetriedOnEveryBackendNorOpensTheirBreakers() {
        start(RouterConfig.builder().maxRetries(3).circuitBreakerMinimumCalls(1).circuitBreakerWindow(1), A, B, C);
        transport.answer(A, r -> reset());
        transport.answer(B, r -> reset());
        transport.answer(C, r -> reset());
        assertThatThrownBy(() -> router.route(chat())).isInstanceOfSatisfying(UpstreamException.class, e -> {
            assertThat(e.httpStatus()).isEqualTo(502);
            assertThat(e.getMessage()).contains("failed the same way (connection reset) on 2 backends")
                    .doesNotContain("Exception");
        });
        assertThat(transport.sent).hasSize(2);
        // only the first failure is held against a backend: one breaker at most, not the fleet
        assertThat(stats(1).requests().failed()).isZero();
        assertThat(stats(1).circuitState()).isEqualTo(CircuitState.CLOSED);
        assertThat(stats(2).circuitState()).isEqualTo(CircuitState.CLOSED);
        assertThat(router.stats().servers()).filteredOn(s -> s.circuitState() != CircuitState.CLOSED).hasSizeLessThan(2);
    }

    @Test
    void a429IsRetriedElsewhereAndIsLoadNotABreakerFailure() throws Exception {
        start(RouterConfig.builder().circuitBreakerMinimumCalls(1).circuitBreakerWindow(1), A, B);
        transport.answer(A, r -> status(429, "slow down"));
        transport.answer(B, r -> status(200, "ok"));
        try (RouterResponse r = router.route(chat())) {
            assertThat(r.status()).isEqualTo(200);
            r.body().readAllBytes();
        }
        assertThat(stats(0).requests().failed()).isZero();
        assertThat(stats(0).circuitState()).isEqualTo(CircuitState.CLOSED);

        transport.answer(B, r -> status(429, "slow down"));
        assertThatThrownBy(() -> router.route(chat())).isInstanceOfSatisfying(BackendsBusyException.class, e -> {
            assertThat(e.httpStatus()).isEqualTo(429);
            assertThat(e.retryAfterSeconds()).isPositive();
            assertThat(e.errorType()).isEqualTo("rate_limit_error");
        });
        assertThat(stats(1).circuitState()).isEqualTo(CircuitState.CLOSED);
    }

    @Test
    void theRoutersOwnErrorsCountAgainstNoBackend() {
        start(RouterConfig.builder().circuitBreakerMinimumCalls(1).circuitBreakerWindow(1), A, B);
        transport.answer(A, r -> CompletableFuture.failedFuture(new OutOfMemoryError("Java heap space")));
        transport.answer(B, r -> CompletableFuture.failedFuture(new OutOfMemoryError("Java heap space")));
        assertThatThrownBy(() -> router.route(chat())).isInstanceOfSatisfying(UpstreamException.class, e ->
                assertThat(e.getMessage()).startsWith("the router could not forward the request (Java heap space)")
                        .doesNotContain("Error"));
        assertThat(transport.sent).hasSize(1);
        assertThat(stats(0).requests().failed()).isZero();
        assertThat(stats(0).circuitState()).isEqualTo(CircuitState.CLOSED);
        assertThat(stats(0).inFlight()).isZero();
    }

    @Test
    void aStreamCutMidwayIsAnIOExceptionForTheReaderNotAnEnd() throws Exception {
        start(RouterConfig.builder(), A);
        transport.answer(A, r -> CompletableFuture.completedFuture(UpstreamResponse.of(200,
                Map.of("content-type", List.of("text/event-stream")),
                new Chunks(new TransportException(TransportException.Kind.RESET, "connection reset mid-body", null),
                        "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"))));
        try (RouterResponse r = router.route(chat())) {
            InputStream in = r.body();
            byte[] first = new byte[8];
            assertThat(in.read(first)).isPositive();
            assertThatThrownBy(in::readAllBytes).isInstanceOf(IOException.class);
        }
        assertThat(records).singleElement().extracting(RouterListener.RequestRecord::outcome)
                .isEqualTo(RequestOutcome.CUT_SHORT);
        assertThat(stats(0).requests().failed()).isEqualTo(1);
    }

    @Test
    void aSaturatedFleetQueuesBrieflyInOrderThenAnswers429() throws Exception {
        // capacity 4 x 0.25: one request in flight saturates the backend
        start(RouterConfig.builder().maxInFlightFactor(0.25).maxQueue(1).queueTimeout(Duration.ofSeconds(2)), A);
        CompletableFuture<UpstreamResponse> slow = new CompletableFuture<>();
        transport.answer(A, r -> transport.sent.size() == 1 ? slow : status(200, "queued one"));

        CompletableFuture<RouterResponse> first = router.routeAsync(chat());
        CompletableFuture<RouterResponse> waiting = router.routeAsync(chat());
        assertThat(waiting).isNotDone();
        assertThat(transport.sent).hasSize(1);
        assertThatThrownBy(() -> router.route(chat())).isInstanceOfSatisfying(BackendsBusyException.class, e -> {
            assertThat(e.httpStatus()).isEqualTo(429);
            assertThat(e.retryAfterSeconds()).isEqualTo(2);
            assertThat(e.getMessage()).contains("1 requests are waiting");
        });

        slow.complete(UpstreamResponse.of(200, Map.of(), Chunks.of("first")));
        try (RouterResponse r = first.get(5, TimeUnit.SECONDS)) {
            assertThat(new String(r.body().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("first");
        }
        // the first one's slot went to the waiting request
        try (RouterResponse r = waiting.get(5, TimeUnit.SECONDS)) {
            assertThat(new String(r.body().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("queued one");
        }
        assertThat(transport.sent).hasSize(2);
        assertThat(stats(0).inFlight()).isZero();
    }

    @Test
    void aQueuedRequestGets429WhenTheQueueTimeoutPasses() {
        start(RouterConfig.builder().maxInFlightFactor(0.25).maxQueue(4).queueTimeout(Duration.ofSeconds(2)), A);
        transport.answer(A, r -> new CompletableFuture<>());
        CompletableFuture<RouterResponse> first = router.routeAsync(chat());
        CompletableFuture<RouterResponse> waiting = router.routeAsync(chat());
        clock.advance(Duration.ofMillis(1_999));
        assertThat(waiting).isNotDone();
        clock.advance(Duration.ofMillis(1));
        assertThat(waiting).isCompletedExceptionally();
        assertThatThrownBy(waiting::join).hasCauseInstanceOf(BackendsBusyException.class)
                .hasMessageContaining("waited 2000 ms for a free slot");
        assertThat(transport.sent).hasSize(1);
        first.cancel(true);
    }

    @Test
    void aQueuedRequestCancelledByItsCallerIsReportedOnceAndGivesUpItsPlace() {
        start(RouterConfig.builder().maxInFlightFactor(0.25).maxQueue(1).queueTimeout(Duration.ofSeconds(2)), A);
        transport.answer(A, r -> new CompletableFuture<>());
        CompletableFuture<RouterResponse> first = router.routeAsync(chat());
        CompletableFuture<RouterResponse> waiting = router.routeAsync(chat());
        assertThat(waiting).isNotDone();

        waiting.cancel(true); // the client hung up while its request waited for a slot
        assertThat(records).singleElement().satisfies(r -> {
            assertThat(r.outcome()).isEqualTo(RequestOutcome.CANCELLED);
            assertThat(r.status()).isEqualTo(499);
        });
        CompletableFuture<RouterResponse> next = router.routeAsync(chat()); // the place is free again
        assertThat(next).isNotDone();
        clock.advance(Duration.ofSeconds(2));
        assertThatThrownBy(next::join).hasCauseInstanceOf(BackendsBusyException.class);
        assertThat(records).hasSize(2); // the cancelled one's timer reported nothing more
        assertThat(transport.sent).hasSize(1);
        first.cancel(true);
    }

    @Test
    void aRetryThatMustWaitAgainWaitsAsANewRequestWithItsOwnTimeout() throws Exception {
        // capacity 4 x 0.25: one request in flight fills a backend
        start(RouterConfig.builder().maxInFlightFactor(0.25).maxQueue(1).queueTimeout(Duration.ofSeconds(2)), A, B);
        CompletableFuture<UpstreamResponse> firstOnA = new CompletableFuture<>();
        int[] onA = {0};
        transport.answer(A, r -> ++onA[0] == 1 ? firstOnA : reset()); // the woken request is reset on A
        transport.answer(B, r -> new CompletableFuture<>());          // B stays full
        CompletableFuture<RouterResponse> first = router.routeAsync(chat());
        CompletableFuture<RouterResponse> onB = router.routeAsync(chat());
        CompletableFuture<RouterResponse> waiting = router.routeAsync(chat());
        assertThat(waiting).isNotDone();

        firstOnA.complete(UpstreamResponse.of(200, Map.of(), Chunks.of("first")));
        try (RouterResponse r = first.get(5, TimeUnit.SECONDS)) {
            r.body().readAllBytes(); // A's slot is free: the waiting request is woken, sent to A, reset there
        }
        assertThat(onA[0]).isEqualTo(2);
        // Its retry may not go to A (the request may have run there) and B is full: it waits again,
        // with a timeout of its own, not forever.
        clock.advance(Duration.ofSeconds(2));
        assertThat(waiting).isCompletedExceptionally();
        assertThatThrownBy(waiting::join).hasCauseInstanceOf(BackendsBusyException.class);
        assertThat(stats(0).inFlight() + stats(1).inFlight()).isEqualTo(1); // B's request only
        onB.cancel(true);
    }

    @Test
    void aSlotFreedForAWaiterThatLeftBeforeItsTurnGoesToTheNext() throws Exception {
        // A woken request goes on on its own thread later (its event loop in the proxy): here, when the test says.
        List<Runnable> later = new java.util.ArrayList<>();
        io.vllmrouter.api.time.Scheduler onItsThread = new io.vllmrouter.api.time.Scheduler() {
            @Override public Cancellable schedule(Runnable task, Duration delay) {
                return clock.schedule(task, delay);
            }

            @Override public Cancellable scheduleAtFixedRate(Runnable task, Duration initialDelay, Duration period) {
                return clock.scheduleAtFixedRate(task, initialDelay, period);
            }

            @Override public java.util.concurrent.Executor callerExecutor() {
                return later::add;
            }

            @Override public void close() {
            }
        };
        start(b -> b.requestScheduler(onItsThread),
                RouterConfig.builder().maxInFlightFactor(0.25).maxQueue(2).queueTimeout(Duration.ofSeconds(2)), A);
        CompletableFuture<UpstreamResponse> slow = new CompletableFuture<>();
        transport.answer(A, r -> transport.sent.size() == 1 ? slow : status(200, "next"));
        CompletableFuture<RouterResponse> first = router.routeAsync(chat());
        CompletableFuture<RouterResponse> leaving = router.routeAsync(chat());
        CompletableFuture<RouterResponse> next = router.routeAsync(chat());

        slow.complete(UpstreamResponse.of(200, Map.of(), Chunks.of("first")));
        try (RouterResponse r = first.get(5, TimeUnit.SECONDS)) {
            r.body().readAllBytes(); // the slot is free: the oldest waiter is woken, its turn queued on its thread
        }
        leaving.cancel(true); // its client hangs up before its turn runs
        while (!later.isEmpty()) {
            later.remove(0).run();
        }
        assertThat(next).as("the freed slot went to the next waiter, not to its queue timeout").isDone();
        try (RouterResponse r = next.get(5, TimeUnit.SECONDS)) {
            assertThat(new String(r.body().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("next");
        }
        assertThat(transport.sent).hasSize(2);
    }

    @Test
    void withoutAQueueASaturatedFleetAnswers429AtOnce() {
        start(RouterConfig.builder().maxInFlightFactor(0.25), A);
        transport.answer(A, r -> new CompletableFuture<>());
        CompletableFuture<RouterResponse> first = router.routeAsync(chat());
        assertThatThrownBy(() -> router.route(chat())).isInstanceOf(BackendsBusyException.class);
        assertThat(records).extracting(RouterListener.RequestRecord::status).containsExactly(429);
        first.cancel(true);
    }
}
