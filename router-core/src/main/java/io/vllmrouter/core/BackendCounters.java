package io.vllmrouter.core;

import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.time.Ticker;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Request counters and latency of one backend, for stats only: nothing routes on them. Updated
 * on request threads without locks (the rate meter's tiny lock aside), read by {@code stats()}.
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

    /** Completions per second over the last {@value #SECONDS} whole seconds. Per backend, tiny lock. */
    static final class RateMeter {
        static final int SECONDS = 5;
        private final Ticker ticker;
        private final long[] counts = new long[SECONDS + 1];
        private final long[] secondOf = new long[SECONDS + 1];

        RateMeter(Ticker ticker) {
            this.ticker = ticker;
        }

        synchronized void mark() {
            long sec = ticker.nanoTime() / 1_000_000_000L;
            int i = (int) Math.floorMod(sec, (long) counts.length);
            if (secondOf[i] != sec) {
                secondOf[i] = sec;
                counts[i] = 0;
            }
            counts[i]++;
        }

        synchronized double perSecond() {
            long sec = ticker.nanoTime() / 1_000_000_000L;
            long sum = 0;
            for (int i = 0; i < counts.length; i++) {
                // whole seconds before the current one
                if (secondOf[i] < sec && secondOf[i] >= sec - SECONDS) {
                    sum += counts[i];
                }
            }
            return (double) sum / SECONDS;
        }
    }
}
