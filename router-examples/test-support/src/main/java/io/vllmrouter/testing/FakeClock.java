package io.vllmrouter.testing;

import io.vllmrouter.api.time.Scheduler;
import io.vllmrouter.api.time.Ticker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;

/**
 * A {@link Ticker} and {@link Scheduler} for tests: time moves only in {@link #advance}, which runs
 * every task that falls due, in time order, on the calling thread. Thread-safe.
 *
 * <pre>{@code
 * FakeClock clock = new FakeClock();
 * clock.scheduleAtFixedRate(task, Duration.ZERO, Duration.ofSeconds(10));
 * clock.advance(Duration.ofSeconds(25));   // runs task at t=0, 10s, 20s
 * }</pre>
 */
public final class FakeClock implements Ticker, Scheduler {

    private final PriorityQueue<Task> queue = new PriorityQueue<>();
    private long nanos;
    private long epochMillisAtZero = 1_767_225_600_000L; // 2026-01-01T00:00:00Z
    private long sequence;
    private boolean closed;

    @Override
    public synchronized long nanoTime() {
        return nanos;
    }

    @Override
    public synchronized long currentTimeMillis() {
        return epochMillisAtZero + nanos / 1_000_000L;
    }

    /** Moves time forward by {@code d}, running due tasks (including ones they schedule) in order. */
    public void advance(Duration d) {
        long target;
        synchronized (this) {
            target = nanos + d.toNanos();
        }
        while (true) {
            Task next;
            synchronized (this) {
                next = queue.peek();
                if (next == null || next.dueNanos > target || closed) {
                    nanos = Math.max(nanos, target);
                    return;
                }
                queue.poll();
                nanos = Math.max(nanos, next.dueNanos);
                if (next.periodNanos > 0 && !next.cancelled) {
                    next.dueNanos += next.periodNanos;
                    next.seq = sequence++;
                    queue.add(next);
                }
            }
            if (!next.cancelled) {
                next.task.run();
            }
        }
    }

    /** Runs tasks due now without moving time. */
    public void runDueTasks() {
        advance(Duration.ZERO);
    }

    /** Tasks waiting to run (periodic ones count once). */
    public synchronized int pendingTasks() {
        List<Task> live = new ArrayList<>();
        for (Task t : queue) {
            if (!t.cancelled) {
                live.add(t);
            }
        }
        return live.size();
    }

    /** Tasks scheduled so far, run or cancelled or not. */
    public synchronized long scheduledTasks() {
        return sequence;
    }

    @Override
    public synchronized Cancellable schedule(Runnable task, Duration delay) {
        return add(task, delay, 0);
    }

    @Override
    public synchronized Cancellable scheduleAtFixedRate(Runnable task, Duration initialDelay, Duration period) {
        if (period.isZero() || period.isNegative()) {
            throw new IllegalArgumentException("period: " + period + " (expected: > 0)");
        }
        return add(task, initialDelay, period.toNanos());
    }

    private Cancellable add(Runnable task, Duration delay, long periodNanos) {
        Task t = new Task(task, nanos + Math.max(0, delay.toNanos()), periodNanos, sequence++);
        queue.add(t);
        return () -> t.cancelled = true;
    }

    @Override
    public synchronized void close() {
        closed = true;
        queue.clear();
    }

    private static final class Task implements Comparable<Task> {
        final Runnable task;
        final long periodNanos;
        long dueNanos;
        long seq;
        volatile boolean cancelled;

        Task(Runnable task, long dueNanos, long periodNanos, long seq) {
            this.task = task;
            this.dueNanos = dueNanos;
            this.periodNanos = periodNanos;
            this.seq = seq;
        }

        @Override
        public int compareTo(Task o) {
            int c = Long.compare(dueNanos, o.dueNanos);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }
}
