package io.vllmrouter.core;

import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.time.Ticker;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * Request counters and latency of one backend, for stats only: nothing routes on them. Updated
 * on request threads without locks, read by {@code stats()}.
 */
final class BackendCounters {

    private static final double EWMA_ALPHA = 0.2;

    private final LongAdder total = new LongAdder();
    private final LongAdder succeeded = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final AtomicLong latencyBits = new AtomicLong(Double.doubleToRawLongBits(Double.NaN));
    private final AtomicLong ttfbBits = new AtomicLong(Double.doubleToRawLongBits(Double.NaN));
    private final RateMeter completions;

    BackendCounters(Ticker ticker) {
        this.completions = new RateMeter(ticker);
    }

    /** One attempt sent to the backend. */
    void attemptStarted() {
        total.increment();
    }

    void headersArrived(long ttfbNanos) {
        ewma(ttfbBits, ttfbNanos / 1e6);
    }

    /** An attempt ended; {@code failure} when it counts against the backend, null when cancelled. */
    void attemptEnded(Boolean failure, long latencyNanos) {
        if (failure == null) {
            return;
        }
        if (failure) {
            failed.increment();
        } else {
            succeeded.increment();
            ewma(latencyBits, latencyNanos / 1e6);
        }
        completions.mark();
    }

    private static void ewma(AtomicLong bits, double sample) {
        while (true) {
            long cur = bits.get();
            double old = Double.longBitsToDouble(cur);
            double next = Double.isNaN(old) ? sample : old + EWMA_ALPHA * (sample - old);
            if (bits.compareAndSet(cur, Double.doubleToRawLongBits(next))) {
                return;
            }
        }
    }

    BackendStats.RequestStats stats() {
        return new BackendStats.RequestStats(total.sum(), succeeded.sum(), failed.sum(), completions.perSecond(),
                Double.longBitsToDouble(latencyBits.get()), Double.longBitsToDouble(ttfbBits.get()));
    }

    /**
     * Completions per second over the last {@value #SECONDS} whole seconds, without a lock: each
     * slot is one second's count, stamped with its second. Marking from several threads at a second's
     * turn may lose a count or two in a slot being reset, which a rate for display can afford.
     */
    static final class RateMeter {
        static final int SECONDS = 5;
        private final Ticker ticker;
        private final AtomicLongArray counts = new AtomicLongArray(SECONDS + 1);
        private final AtomicLongArray secondOf = new AtomicLongArray(SECONDS + 1);

        RateMeter(Ticker ticker) {
            this.ticker = ticker;
        }

        void mark() {
            long sec = ticker.nanoTime() / 1_000_000_000L;
            int i = (int) Math.floorMod(sec, (long) SECONDS + 1);
            long stamped = secondOf.get(i);
            if (stamped != sec && secondOf.compareAndSet(i, stamped, sec)) {
                counts.set(i, 0); // this thread turned the slot over to the new second
            }
            counts.incrementAndGet(i);
        }

        double perSecond() {
            long sec = ticker.nanoTime() / 1_000_000_000L;
            long sum = 0;
            for (int i = 0; i <= SECONDS; i++) {
                long s = secondOf.get(i);
                // whole seconds before the current one
                if (s < sec && s >= sec - SECONDS) {
                    sum += counts.get(i);
                }
            }
            return (double) sum / SECONDS;
        }
    }
}
