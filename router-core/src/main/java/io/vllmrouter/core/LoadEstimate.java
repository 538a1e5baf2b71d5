package io.vllmrouter.core;

import io.vllmrouter.api.BackendStats;
import io.vllmrouter.core.metrics.LoadMetrics;
import io.vllmrouter.api.time.Ticker;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The live load estimate of one backend, the figures strategies read: this router's exact in-flight
 * count, and the last good scrape adjusted by the requests sent or finished since.
 *
 * <p>Threads: the in-flight count moves on request threads; scrape results and staleness are
 * written in the fleet's serial context; reads (any thread) take no lock: two volatile fields and
 * one atomic per call.
 */
final class LoadEstimate {

    /** One good scrape and this router's in-flight count at that moment. */
    private record Scrape(double running, double waiting, double kvCacheUsage, double maxFds, long nanos,
                          int inFlightAtScrape) {
    }

    /** Source of cache epochs: unique across backends, so a backend object made anew never repeats one. */
    private static final java.util.concurrent.atomic.AtomicLong EPOCHS = new java.util.concurrent.atomic.AtomicLong();

    private final Ticker ticker;
    final AtomicInteger inFlight = new AtomicInteger();
    /** See {@link io.vllmrouter.api.spi.BackendView#cacheEpoch()}; changed by {@link #cacheLost()}. */
    private volatile long cacheEpoch = EPOCHS.incrementAndGet();
    private volatile long cacheBlocks = -1;
    private volatile int cacheBlockSize = -1;
    private volatile long cacheTokens = -1;
    /** vllm:prefix_cache_queries_total at the last scrape that had it; NaN before. Serial context only. */
    private double prefixQueries = Double.NaN;
    private volatile long staleAfterNanos;
    /** The last good scrape, shown in stats even when stale. */
    private volatile Scrape lastGood;
    /** {@link #lastGood} while it may steer, null once stale: picks read this one field. */
    private volatile Scrape steering;

    LoadEstimate(Ticker ticker, long staleAfterNanos) {
        this.ticker = ticker;
        this.staleAfterNanos = staleAfterNanos;
    }

    void staleAfterNanos(long nanos) {
        this.staleAfterNanos = nanos;
    }

    /** Publishes a good scrape; a page without running/waiting figures counts as a failed one. */
    void scraped(LoadMetrics m) {
        if (m == null || !m.hasLoad()) {
            scrapeFailed();
            return;
        }
        if (m.cacheBlocks() >= 0) {
            cacheBlocks = m.cacheBlocks();
        }
        if (m.cacheBlockSize() > 0) {
            cacheBlockSize = m.cacheBlockSize();
        }
        if (m.cacheTokens() > 0) {
            cacheTokens = m.cacheTokens();
        }
        double q = m.prefixCacheQueries();
        if (!Double.isNaN(q)) {
            if (q < prefixQueries) {
                cacheLost();  // a counter went back: the server restarted with an empty cache
            }
            prefixQueries = q;
        }
        Scrape fresh = new Scrape(nanToZero(m.running()), nanToZero(m.waiting()), m.kvCacheUsage(), m.maxFds(),
                ticker.nanoTime(), inFlight.get());
        lastGood = fresh;
        steering = fresh;
    }

    /**
     * Marks the figures stale once no good scrape arrived for {@code staleAfterNanos}. Called at
     * every scrape round (so staleness is judged to within one {@code metrics_interval}), which keeps
     * the clock off the request path.
     */
    void checkStaleness() {
        Scrape s = lastGood;
        if (s != null && ticker.nanoTime() - s.nanos > staleAfterNanos) {
            steering = null;
        }
    }

    /** The last scrape failed (error, timeout, malformed page): its figures stop steering now. */
    void scrapeFailed() {
        steering = null;
    }

    private static double nanToZero(double d) {
        return Double.isNaN(d) ? 0 : Math.max(0, d);
    }

    int inFlight() {
        return inFlight.get();
    }

    /** {@code num_gpu_blocks} of the last scrape that had it, kept while stale; -1 before. */
    long cacheBlocks() {
        return cacheBlocks;
    }

    /** {@code block_size} of the last scrape that had it; -1 before. */
    int cacheBlockSize() {
        return cacheBlockSize;
    }

    /** The capacity in tokens the last scrape that had it published ({@link LoadMetrics#cacheTokens()}); -1 before. */
    long cacheTokens() {
        return cacheTokens;
    }

    long cacheEpoch() {
        return cacheEpoch;
    }

    /** What the backend had cached may be gone (ejected, restarted): strategies forget it. */
    void cacheLost() {
        cacheEpoch = EPOCHS.incrementAndGet();
    }

    boolean fresh() {
        return steering != null;
    }

    double running(int capacity) {
        Scrape s = steering;
        int f = inFlight.get();
        return s == null ? f : estimatedRunning(s, f, capacity);
    }

    double waiting(int capacity) {
        Scrape s = steering;
        int f = inFlight.get();
        return s == null ? 0 : estimatedTotal(s, f) - estimatedRunning(s, f, capacity);
    }

    double outstanding() {
        Scrape s = steering;
        int f = inFlight.get();
        return s != null ? estimatedTotal(s, f) : f;
    }

    double kvCacheUsage() {
        Scrape s = steering;
        return s != null ? s.kvCacheUsage : Double.NaN;
    }

    /**
     * Requests sent since the scrape start running while the backend has room (capacity), the rest
     * wait; requests finished since free running slots, which queued requests take. With no change
     * since the scrape this is exactly the scraped figure.
     */
    private static double estimatedRunning(Scrape s, int inFlightNow, int capacity) {
        int delta = inFlightNow - s.inFlightAtScrape;
        if (delta >= 0) {
            return s.running + Math.min(delta, Math.max(0, capacity - s.running));
        }
        return Math.min(estimatedTotal(s, inFlightNow), s.running);
    }

    private static double estimatedTotal(Scrape s, int inFlightNow) {
        return Math.max(0, s.running + s.waiting + (inFlightNow - s.inFlightAtScrape));
    }

    /** The last good scrape's figures for stats. */
    BackendStats.DetailedMetrics detailed() {
        Scrape s = lastGood;
        long now = ticker.nanoTime();
        return new BackendStats.DetailedMetrics(
                s == null ? 0 : Math.round(s.running),
                s == null ? 0 : Math.round(s.waiting),
                s == null || Double.isNaN(s.kvCacheUsage) ? Double.NaN : Backend.round1(s.kvCacheUsage * 100.0),
                s == null || Double.isNaN(s.maxFds) ? -1 : Math.round(s.maxFds),
                s == null ? -1 : (now - s.nanos) / 1_000_000L,
                steering == null);
    }
}
