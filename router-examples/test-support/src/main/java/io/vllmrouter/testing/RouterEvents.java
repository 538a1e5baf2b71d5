package io.vllmrouter.testing;

import io.vllmrouter.api.CircuitState;
import io.vllmrouter.api.RouterListener;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;

/**
 * A {@link RouterListener} that records every event, so that a test waits for what the router did
 * instead of polling its state: each wait wakes when an event arrives (never on a timer) and fails
 * after its timeout. Thread-safe; waits may start before or after the event they wait for.
 *
 * <pre>{@code
 * RouterEvents events = new RouterEvents();
 * VllmRouter router = VllmRouters.builder().config(config).listener(events).build();
 * events.await(RouterEvents.HealthChange.class, e -> !e.healthy(), Duration.ofSeconds(20));
 * events.awaitUntil("2 models", () -> router.models().size() == 2, Duration.ofSeconds(20));
 * }</pre>
 *
 * <p>Because the router calls its listener after it has published the change, a condition on the
 * router's state that becomes true does so at one of its events; {@link #awaitUntil} re-checks the
 * condition after each.
 */
public final class RouterEvents implements RouterListener {

    /** One recorded event. */
    public sealed interface Event permits RequestComplete, Retry, HealthCheck, HealthChange, CircuitChange,
            ConfigReload, MetricsScraped, ModelsRefreshed {
    }

    /** {@link RouterListener#onRequestComplete}. */
    public record RequestComplete(RequestRecord record) implements Event {
    }

    /** {@link RouterListener#onRetry}. */
    public record Retry(String requestId, String failedBackend, String reason) implements Event {
    }

    /** {@link RouterListener#onHealthCheck}. */
    public record HealthCheck(String backend, boolean passed, String reason) implements Event {
    }

    /** {@link RouterListener#onHealthChange}. */
    public record HealthChange(String backend, boolean healthy, String reason) implements Event {
    }

    /** {@link RouterListener#onCircuitStateChange}. */
    public record CircuitChange(String backend, CircuitState from, CircuitState to) implements Event {
    }

    /** {@link RouterListener#onConfigReload}. */
    public record ConfigReload(boolean applied, String error) implements Event {
    }

    /** {@link RouterListener#onMetricsScraped}. */
    public record MetricsScraped(String backend, boolean ok) implements Event {
    }

    /** {@link RouterListener#onModelsRefreshed}. */
    public record ModelsRefreshed(String backend, List<String> models) implements Event {
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition arrived = lock.newCondition();
    private final List<Event> events = new ArrayList<>();

    @Override
    public void onRequestComplete(RequestRecord record) {
        add(new RequestComplete(record));
    }

    @Override
    public void onRetry(String requestId, String failedBackend, String reason) {
        add(new Retry(requestId, failedBackend, reason));
    }

    @Override
    public void onHealthCheck(String backend, boolean passed, String reason) {
        add(new HealthCheck(backend, passed, reason));
    }

    @Override
    public void onHealthChange(String backend, boolean healthy, String reason) {
        add(new HealthChange(backend, healthy, reason));
    }

    @Override
    public void onCircuitStateChange(String backend, CircuitState from, CircuitState to) {
        add(new CircuitChange(backend, from, to));
    }

    @Override
    public void onConfigReload(boolean applied, String error) {
        add(new ConfigReload(applied, error));
    }

    @Override
    public void onMetricsScraped(String backend, boolean ok) {
        add(new MetricsScraped(backend, ok));
    }

    @Override
    public void onModelsRefreshed(String backend, List<String> models) {
        add(new ModelsRefreshed(backend, List.copyOf(models)));
    }

    private void add(Event e) {
        lock.lock();
        try {
            events.add(e);
            arrived.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Every event so far, oldest first. */
    public List<Event> events() {
        lock.lock();
        try {
            return List.copyOf(events);
        } finally {
            lock.unlock();
        }
    }

    /** The events of one type so far, oldest first. */
    public <E extends Event> List<E> events(Class<E> type) {
        List<E> out = new ArrayList<>();
        for (Event e : events()) {
            if (type.isInstance(e)) {
                out.add(type.cast(e));
            }
        }
        return out;
    }

    /** The first event of {@code type} matching {@code match}, recorded before or during the wait. */
    public <E extends Event> E await(Class<E> type, Predicate<? super E> match, Duration timeout) {
        return awaitCount(type, match, 1, timeout).get(0);
    }

    /**
     * Waits until {@code n} events of {@code type} match, counting those recorded before the call;
     * returns the first {@code n}.
     */
    public <E extends Event> List<E> awaitCount(Class<E> type, Predicate<? super E> match, int n, Duration timeout) {
        long left = timeout.toNanos();
        lock.lock();
        try {
            while (true) {
                List<E> found = new ArrayList<>();
                for (Event e : events) {
                    if (type.isInstance(e) && match.test(type.cast(e))) {
                        found.add(type.cast(e));
                        if (found.size() == n) {
                            return found;
                        }
                    }
                }
                if (left <= 0) {
                    throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for " + n + " "
                            + type.getSimpleName() + " event(s); recorded: " + recent());
                }
                left = arrived.awaitNanos(left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted waiting for " + type.getSimpleName(), e);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until {@code servers} of the router's servers are eligible (a server gets no requests
     * before its first health check passed). This recorder must be one of the router's listeners.
     */
    public void awaitEligible(io.vllmrouter.api.VllmRouter router, int servers, Duration timeout) {
        awaitUntil(servers + " eligible server(s)", () -> router.stats().servers().stream()
                .filter(io.vllmrouter.api.BackendStats::status).count() >= servers, timeout);
    }

    /**
     * Waits until {@code condition} holds, checking it now and again after each event the router
     * reports (it runs outside this recorder's lock, so it may call the router).
     */
    public void awaitUntil(String what, BooleanSupplier condition, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            int seen;
            lock.lock();
            try {
                seen = events.size();
            } finally {
                lock.unlock();
            }
            if (condition.getAsBoolean()) {
                return;
            }
            lock.lock();
            try {
                while (events.size() == seen) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for "
                                + what + "; recorded: " + recent());
                    }
                    arrived.awaitNanos(left);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what, e);
            } finally {
                lock.unlock();
            }
        }
    }

    /** The last events, for failure messages (callers hold the lock). */
    private String recent() {
        int from = Math.max(0, events.size() - 20);
        return (from > 0 ? "... " + from + " earlier, then " : "") + events.subList(from, events.size());
    }
}
