package io.vllmrouter.core;

import io.vllmrouter.api.BackendLease;
import io.vllmrouter.api.RouterException;
import io.vllmrouter.api.RouterListener;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.api.UpstreamException;
import io.vllmrouter.api.time.Scheduler;
import io.vllmrouter.api.time.Ticker;
import io.vllmrouter.api.transport.Transport;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * The request path: a client of the published {@link Snapshot} (the picker), with a clock, a
 * scheduler for deadlines and retry pauses, a listener, and a {@link Transport}. It holds no
 * reference to the router or the fleet and never changes fleet state: requests only move their
 * backends' in-flight counts, counters and breakers.
 *
 * <p>Called on request threads, many at once; takes no lock.
 */
final class Forwarder {

    private final Supplier<Snapshot> snapshots;
    private final Transport transport;
    private final Ticker ticker;
    private final Scheduler scheduler;
    private final RouterListener listener;
    /** Whether the listener hears attempts; when not, an attempt's events are not prepared. */
    private final boolean hearsAttempts;
    /** The strategies' tie-breaking source, or null for {@link ThreadLocalRandom}. */
    private final RandomGenerator random;
    /** Requests waiting for a saturated fleet ({@code max_queue}), oldest first; no thread waits. */
    private final java.util.concurrent.ConcurrentLinkedDeque<Exchange> waiting =
            new java.util.concurrent.ConcurrentLinkedDeque<>();
    private final java.util.concurrent.atomic.AtomicInteger waitingCount = new java.util.concurrent.atomic.AtomicInteger();
    /** Which server holds each Responses API object. */
    private final ResponsesAffinity responses;

    Forwarder(Supplier<Snapshot> snapshots, Transport transport, Ticker ticker, Scheduler scheduler,
              RouterListener listener, RandomGenerator random, ResponsesAffinity responses) {
        this.snapshots = Objects.requireNonNull(snapshots, "snapshots");
        this.transport = Objects.requireNonNull(transport, "transport");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.listener = Objects.requireNonNull(listener, "listener");
        this.hearsAttempts = SafeListener.hearsAttempts(listener);
        this.random = random;
        this.responses = Objects.requireNonNull(responses, "responses");
    }

    Snapshot snapshot() { return snapshots.get(); }
    Transport transport() { return transport; }
    Ticker ticker() { return ticker; }
    Scheduler scheduler() { return scheduler; }
    RouterListener listener() { return listener; }
    boolean hearsAttempts() { return hearsAttempts; }
    ResponsesAffinity responses() { return responses; }
    RandomGenerator random() { return random != null ? random : ThreadLocalRandom.current(); }

    /** Queues {@code e} at the tail if fewer than {@code max} wait. */
    boolean enqueue(Exchange e, int max) {
        while (true) {
            int n = waitingCount.get();
            if (n >= max) {
                return false;
            }
            if (waitingCount.compareAndSet(n, n + 1)) {
                waiting.addLast(e);
                return true;
            }
        }
    }

    /** Puts back at the head a request that was woken but found no room; it keeps its place in the count. */
    void requeue(Exchange e) {
        waitingCount.incrementAndGet();
        waiting.addFirst(e);
    }

    /** Takes {@code e} out of the queue; false when it was not there (woken meanwhile). */
    boolean dequeue(Exchange e) {
        if (waiting.removeFirstOccurrence(e)) {
            waitingCount.decrementAndGet();
            return true;
        }
        return false;
    }

    /** A slot was freed: the oldest waiting request tries again. */
    void wakeOne() {
        Exchange e;
        while ((e = waiting.pollFirst()) != null) {
            waitingCount.decrementAndGet();
            if (e.wake()) {
                return;
            }
            // Its thread is stopping and it failed: the slot is the next waiter's, in this loop
            // rather than by recursion, however long the queue.
        }
    }

    /** Requests waiting now. */
    int queued() {
        return waitingCount.get();
    }

    /** {@link io.vllmrouter.api.VllmRouter#routeAsync}. */
    CompletableFuture<RouterResponse> routeAsync(RouterRequest request) {
        Objects.requireNonNull(request, "request");
        RequestInfo info;
        try {
            info = RequestInfo.of(request, snapshots.get().settings.sessionHeader());
        } catch (RouterException e) {
            return CompletableFuture.failedFuture(e);
        }
        Snapshot.Settings settings = snapshots.get().settings;
        Duration timeout = request.timeout() != null ? request.timeout() : settings.requestTimeout();
        return new Exchange(this, request, info, RequestIdHeader.of(request), timeout, settings.retry()).start();
    }

    /** {@link io.vllmrouter.api.VllmRouter#route}: waits for the headers on the calling thread. */
    RouterResponse route(RouterRequest request) {
        CompletableFuture<RouterResponse> f = routeAsync(request);
        try {
            return f.get();
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            Snapshot s = snapshots.get();
            throw new UpstreamException(null, 0, null, e, s.total, s.healthy, s.open);
        } catch (ExecutionException e) {
            Throwable cause = Failures.unwrap(e);
            if (cause instanceof RouterException re) {
                throw re;
            }
            Snapshot s = snapshots.get();
            throw new UpstreamException(null, 0, null, cause, s.total, s.healthy, s.open);
        }
    }

    /** {@link io.vllmrouter.api.VllmRouter#choose}. */
    BackendLease choose(RouterRequest request) {
        Objects.requireNonNull(request, "request");
        Snapshot snap = snapshots.get();
        RequestInfo info = RequestInfo.of(request, snap.settings.sessionHeader());
        List<Backend> candidates = snap.candidates(info.model(), request.path());
        double objective = SloGate.objective(request, info.model(), snap.settings.ttftSlo());
        if (!Double.isNaN(objective) && !candidates.isEmpty()) {
            candidates = SloGate.meeting(candidates, info.size(), objective, info.model(), snap);
        }
        Attempt a = candidates.isEmpty() ? null : snap.pick(candidates, info, 1, random(), ticker);
        if (a == null) {
            throw snap.unavailable(info.model());
        }
        return new Lease(a, info, RequestIdHeader.of(request), listener, ticker);
    }
}
