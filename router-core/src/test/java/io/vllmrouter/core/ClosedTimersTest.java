package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.api.RouterStoppingException;
import io.vllmrouter.api.time.Scheduler;
import io.vllmrouter.api.transport.TransportException;
import io.vllmrouter.api.transport.UpstreamResponse;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.testing.FakeClock;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A request scheduler closed under live requests (the event loops stopping under a router, or a
 * host closing its timers first): every request it then cannot time fails with a plain 503, gives
 * its backend's slot and its queue place back, and is not sent on untimed.
 */
class ClosedTimersTest {

    private static final String A = "http://gpu-a:8000";
    private static final String B = "http://gpu-b:8000";
    private static final byte[] CHAT = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
            .getBytes(StandardCharsets.UTF_8);

    private final FakeClock clock = new FakeClock();
    private final ClosableTimers timers = new ClosableTimers(clock);
    private final ScriptedTransport transport = new ScriptedTransport();
    private DefaultVllmRouter router;

    /** Timers on the fake clock that refuse new tasks once closed, as Netty's loops and the JDK's executors do. */
    private static final class ClosableTimers implements Scheduler {
        private final FakeClock clock;
        volatile boolean closed;
        int refused;

        ClosableTimers(FakeClock clock) {
            this.clock = clock;
        }

        @Override
        public Cancellable schedule(Runnable task, Duration delay) {
            refuseWhenClosed();
            return clock.schedule(task, delay);
        }

        @Override
        public Cancellable scheduleAtFixedRate(Runnable task, Duration initialDelay, Duration period) {
            refuseWhenClosed();
            return clock.scheduleAtFixedRate(task, initialDelay, period);
        }

        private void refuseWhenClosed() {
            if (closed) {
                refused++;
                throw new RejectedExecutionException("event executor terminated");
            }
        }

        /** A request's own thread, which refuses work once closed, as a stopped event loop does. */
        @Override
        public java.util.concurrent.Executor callerExecutor() {
            return task -> {
                refuseWhenClosed();
                task.run();
            };
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    @AfterEach
    void stop() {
        if (router != null) {
            router.close();
        }
    }

    private void start(io.vllmrouter.core.config.RouterConfigBuilder config, String... urls) {
        for (String u : urls) {
            config.server(new ServerConfig(URI.create(u), 4, List.of(), null));
        }
        router = VllmRouters.builder()
                .config(config.enableActiveHealthCheck(false).build())
                .ticker(clock).scheduler(clock).requestScheduler(timers)
                .strategy(new TestSupport.FirstStrategy())
                .probe(new TestSupport.FakeProbe())
                .transport(transport)
                .buildRouter();
    }

    private static RouterRequest chat() {
        return RouterRequest.post("/v1/chat/completions", CHAT).header("Content-Type", "application/json").build();
    }

    private BackendStats stats(int i) {
        return router.stats().servers().get(i);
    }

    private static void assertStopping(CompletableFuture<RouterResponse> f) {
        assertThat(f).isCompletedExceptionally();
        assertThatThrownBy(f::join).hasCauseInstanceOf(RouterStoppingException.class)
                .hasMessageContaining("The router is shutting down")
                .cause().satisfies(e -> {
                    RouterStoppingException r = (RouterStoppingException) e;
                    assertThat(r.httpStatus()).isEqualTo(503);
                    assertThat(r.errorCode()).isEqualTo("shutting_down");
                    assertThat(r.getCause()).isInstanceOf(RejectedExecutionException.class);
                });
    }

    @Test
    void aRequestWhoseDeadlineCannotBeSetIsStoppedAndItsSlotGivenBack() {
        start(RouterConfig.builder().retryDelay(Duration.ZERO), A, B);
        CompletableFuture<UpstreamResponse> call = new CompletableFuture<>();
        transport.answer(A, r -> call);
        timers.close();

        CompletableFuture<RouterResponse> f = router.routeAsync(chat());

        assertStopping(f);
        assertThat(call).isCancelled();                 // the call in flight is stopped, not left untimed
        assertThat(transport.sent).hasSize(1);          // and nothing is tried elsewhere
        assertThat(stats(0).inFlight()).isZero();
        assertThat(stats(1).inFlight()).isZero();
        assertThat(timers.refused).isEqualTo(1);
    }

    @Test
    void aRetryThatCannotWaitItsPauseFailsAtOnce() {
        start(RouterConfig.builder().retryDelay(Duration.ofMillis(500)), A, B);
        CompletableFuture<UpstreamResponse> call = new CompletableFuture<>();
        transport.answer(A, r -> call);
        transport.answer(B, r -> CompletableFuture.completedFuture(UpstreamResponse.of(200, Map.of(), Chunks.of("{}"))));
        CompletableFuture<RouterResponse> f = router.routeAsync(chat());
        assertThat(f).isNotDone();

        timers.close();
        call.completeExceptionally(new TransportException(TransportException.Kind.CONNECT, "connection refused", null));

        assertStopping(f);
        assertThat(transport.sent).hasSize(1);          // B is never asked without the pause's timer
        assertThat(stats(0).inFlight()).isZero();
        assertThat(stats(1).inFlight()).isZero();
        assertThat(timers.refused).isEqualTo(1);
    }

    /**
     * One backend of capacity 4 with {@code max_in_flight_factor} 0.25, so one request in flight
     * saturates it and the next ones wait, up to {@code maxQueue}: the first request's answer is the
     * returned future, every later one is answered at once.
     */
    private CompletableFuture<UpstreamResponse> saturated(int maxQueue) {
        start(RouterConfig.builder().maxInFlightFactor(0.25).maxQueue(maxQueue).queueTimeout(Duration.ofSeconds(2)), A);
        CompletableFuture<UpstreamResponse> slow = new CompletableFuture<>();
        transport.answer(A, r -> transport.sent.size() == 1 ? slow
                : CompletableFuture.completedFuture(UpstreamResponse.of(200, Map.of(), Chunks.of("{}"))));
        return slow;
    }

    @Test
    void aRequestThatCannotWaitForASlotLeavesTheQueue() {
        CompletableFuture<UpstreamResponse> slow = saturated(1);
        CompletableFuture<RouterResponse> first = router.routeAsync(chat());
        timers.close();

        CompletableFuture<RouterResponse> waiting = router.routeAsync(chat());

        assertStopping(waiting);
        assertThat(stats(0).inFlight()).isEqualTo(1);
        timers.closed = false;
        CompletableFuture<RouterResponse> next = router.routeAsync(chat());
        assertThat(next).as("the failed request's place in the queue (max_queue 1) is free again").isNotDone();
        slow.complete(UpstreamResponse.of(200, Map.of(), Chunks.of("{}")));
        first.join().close();
        next.join().close();
        assertThat(transport.sent).hasSize(2);          // the freed slot went to the next one, not the failed one
        assertThat(stats(0).inFlight()).isZero();
    }

    @Test
    void aLongQueueWhoseThreadsAreStoppingIsFailedInALoopNotByRecursion() {
        CompletableFuture<UpstreamResponse> slow = saturated(50_000);
        CompletableFuture<RouterResponse> first = router.routeAsync(chat());
        List<CompletableFuture<RouterResponse>> waiting = new java.util.ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            waiting.add(router.routeAsync(chat()));
        }
        timers.close();

        slow.complete(UpstreamResponse.of(200, Map.of(), Chunks.of("{}")));
        first.join().close();

        for (CompletableFuture<RouterResponse> w : waiting) {
            assertStopping(w);
        }
        assertThat(transport.sent).hasSize(1);
        assertThat(stats(0).inFlight()).isZero();
    }

    @Test
    void aQueuedRequestWhoseThreadIsStoppingWhenWokenFailsAndPassesTheSlotOn() {
        CompletableFuture<UpstreamResponse> slow = saturated(4);
        CompletableFuture<RouterResponse> first = router.routeAsync(chat());
        CompletableFuture<RouterResponse> waiting = router.routeAsync(chat());
        assertThat(waiting).isNotDone();

        timers.close();                                 // its thread stops before the slot is freed
        slow.complete(UpstreamResponse.of(200, Map.of(), Chunks.of("{}")));
        first.join().close();                           // the freeing request is not disturbed

        assertStopping(waiting);
        assertThat(transport.sent).hasSize(1);
        assertThat(stats(0).inFlight()).isZero();
    }
}
