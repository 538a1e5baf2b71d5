package io.vllmrouter.core;

import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.time.Ticker;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.LongAdder;

/**
 * Request counters and latency of one backend, for stats only: nothing routes on them. Updated
 * on request threads without locks, read by {@code stats()}.
 *
 * <p>Every attempt updates them, from whichever event loop carries it, so they are striped: the
 * counts are {@link LongAdder}s, and the latency averages and per-second completions live in one
 * {@link Stripe} per thread (chosen by thread id, several threads may share one), each on its own
 * cache lines. Two threads finishing requests on the same backend then write no common line; a
 * read merges the stripes.
 */
final class BackendCounters {

    private static final double EWMA_ALPHA = 0.2;
    /** A power of two: stripes are picked by the low bits of the thread id. */
    private static final int STRIPES = 8;

    private final LongAdder total = new LongAdder();
    private final LongAdder succeeded = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final Ticker ticker;
    private final Stripe[] stripes = new Stripe[STRIPES];

    BackendCounters(Ticker ticker) {
        this.ticker = ticker;
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new Stripe();
        }
    }

    private Stripe stripe() {
        return stripes[(int) Thread.currentThread().getId() & (STRIPES - 1)];
    }

    /** One attempt sent to the backend. */
    void attemptStarted() {
        total.increment();
    }

    void headersArrived(long ttfbNanos) {
        stripe().ewma(Stripe.TTFB, ttfbNanos / 1e6);
    }

    /** An attempt ended; {@code failure} when it counts against the backend, null when cancelled. */
    void attemptEnded(Boolean failure, long latencyNanos) {
        if (failure == null) {
            return;
        }
        Stripe s = stripe();
        if (failure) {
            failed.increment();
        } else {
            succeeded.increment();
            s.ewma(Stripe.LATENCY, latencyNanos / 1e6);
        }
        s.mark(ticker.nanoTime() / 1_000_000_000L);
    }

    /**
     * The counts, the completions per second, and the averages merged over the stripes, each
     * weighted by the completions its stripe saw lately (the current second and the
     * {@value Stripe#SECONDS} before it), so that a thread that carried a request long ago does
     * not hold the figure back; with no recent completion anywhere, the stripes' plain mean.
     */
    BackendStats.RequestStats stats() {
        long sec = ticker.nanoTime() / 1_000_000_000L;
        long completed = 0;
        long[] weights = new long[STRIPES];
        long weight = 0;
        for (int i = 0; i < STRIPES; i++) {
            completed += stripes[i].completed(sec - Stripe.SECONDS, sec); // whole seconds only
            weights[i] = stripes[i].completed(sec - Stripe.SECONDS, sec + 1); // the current one too
            weight += weights[i];
        }
        return new BackendStats.RequestStats(total.sum(), succeeded.sum(), failed.sum(),
                (double) completed / Stripe.SECONDS, merged(Stripe.LATENCY, weights, weight),
                merged(Stripe.TTFB, weights, weight));
    }

    private double merged(int figure, long[] weights, long weight) {
        double sum = 0;
        double of = 0;
        for (int i = 0; i < STRIPES; i++) {
            double v = stripes[i].average(figure);
            long w = weight == 0 ? 1 : weights[i];
            if (!Double.isNaN(v) && w > 0) {
                sum += v * w;
                of += w;
            }
        }
        return of == 0 ? Double.NaN : sum / of;
    }

    /**
     * One stripe's figures in one array, padded on both sides so that no other stripe's writes
     * share its cache lines: two averages (milliseconds, exponentially weighted, NaN before the
     * first sample) and completions per second over the last {@value #SECONDS} whole seconds, each
     * slot one second's count stamped with its second. Marking from several threads at a second's
     * turn may lose a count or two in a slot being reset, which a rate for display can afford.
     */
    static final class Stripe {
        static final int SECONDS = 5;
        /** Longs of padding before and after the figures: 128 bytes, two cache lines. */
        private static final int PAD = 16;
        static final int LATENCY = PAD;
        static final int TTFB = PAD + 1;
        private static final int COUNTS = PAD + 2;
        private static final int STAMPS = COUNTS + SECONDS + 1;
        private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(long[].class);

        private final long[] slots = new long[STAMPS + SECONDS + 1 + PAD];

        Stripe() {
            slots[LATENCY] = Double.doubleToRawLongBits(Double.NaN);
            slots[TTFB] = Double.doubleToRawLongBits(Double.NaN);
            VarHandle.releaseFence(); // the NaNs are seen by any thread that reads the stripe
        }

        void ewma(int at, double sample) {
            while (true) {
                long cur = (long) SLOT.getVolatile(slots, at);
                double old = Double.longBitsToDouble(cur);
                double next = Double.isNaN(old) ? sample : old + EWMA_ALPHA * (sample - old);
                if (SLOT.compareAndSet(slots, at, cur, Double.doubleToRawLongBits(next))) {
                    return;
                }
            }
        }

        double average(int at) {
            return Double.longBitsToDouble((long) SLOT.getVolatile(slots, at));
        }

        void mark(long sec) {
            int i = (int) Math.floorMod(sec, (long) SECONDS + 1);
            long stamped = (long) SLOT.getVolatile(slots, STAMPS + i);
            if (stamped != sec && SLOT.compareAndSet(slots, STAMPS + i, stamped, sec)) {
                SLOT.setVolatile(slots, COUNTS + i, 0L); // this thread turned the slot over to the new second
            }
            SLOT.getAndAdd(slots, COUNTS + i, 1L);
        }

        /** Completions in the seconds from {@code from} up to, not including, {@code until}. */
        long completed(long from, long until) {
            long sum = 0;
            for (int i = 0; i <= SECONDS; i++) {
                long s = (long) SLOT.getVolatile(slots, STAMPS + i);
                if (s >= from && s < until) {
                    sum += (long) SLOT.getVolatile(slots, COUNTS + i);
                }
            }
            return sum;
        }
    }
}
