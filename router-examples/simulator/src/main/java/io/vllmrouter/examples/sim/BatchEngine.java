package io.vllmrouter.examples.sim;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;

/**
 * vLLM's continuous batching as a time-stepped model, in simulated milliseconds. Up to
 * {@code maxNumSeqs} sequences run, the rest wait in FIFO order; each step admits waiting
 * sequences while slots and KV-cache blocks allow, advances each running sequence's prefill, then
 * its decoding at {@link ServiceModel#tpotMs(int)} for the current batch size.
 *
 * <pre>{@code
 * BatchEngine engine = new BatchEngine(model, 4, 2048, 0, 5.0);
 * engine.submit(new Sequence(300, 100, null, 0.0, "length"));
 * engine.advanceTo(10_000);   // ten simulated seconds
 * }</pre>
 *
 * <p>Not thread-safe: one thread calls {@link #submit} and {@link #advanceTo}. The figures read by
 * {@code /metrics} ({@link #running()}, {@link #waiting()}, counters) are volatile and may be read
 * from any thread.
 */
public final class BatchEngine {

    /** Tokens per KV-cache block (vLLM's default block size). */
    public static final int BLOCK_SIZE = 16;

    private final ServiceModel model;
    private final int maxNumSeqs;
    private final int kvCacheBlocks;
    private final double stepMs;
    private final int prefixCacheBlocks;
    private final boolean sharedPrefill;
    /** Null when off. */
    private final PrefixCache prefixCache;
    /** Told of blocks cached and evicted (KV-cache events); NONE by default. Engine thread. */
    private CacheListener cacheListener = CacheListener.NONE;

    /**
     * Hears what the prefix cache does, on the engine thread, when vLLM would report it
     * ({@link PrefixCache}): {@code BlockStored}, {@code BlockRemoved}, {@code AllBlocksCleared}, and
     * the end of each engine step, after which vLLM publishes the step's events as one batch.
     */
    public interface CacheListener {
        CacheListener NONE = new CacheListener() { };

        /** Blocks {@code [from, to)} of {@code s}'s chain of block hashes (prompt, then answer) were newly cached. */
        default void stored(Sequence s, int from, int to) {
        }

        /** The block with this hash was evicted. */
        default void evicted(long hash) {
        }

        /** Every block was dropped. */
        default void cleared() {
        }

        /** An engine step ended: what was reported during it is one batch. */
        default void stepEnded() {
        }
    }

    /** The latency histograms fed in simulated time, or null (the routing benchmarks need none). */
    private volatile LatencyHistograms histograms;
    /** The drift in force and the simulated time it started at. */
    private volatile Drifting drifting = new Drifting(SpeedDrift.NONE, 0);

    private record Drifting(SpeedDrift drift, double originMs) {
        double factorAt(double ms) {
            return drift.factorAt(ms - originMs);
        }
    }

    private final ArrayDeque<Sequence> waitingQueue = new ArrayDeque<>();
    private final ArrayList<Sequence> runningList = new ArrayList<>();
    private double now;

    private volatile int running;
    private volatile int waiting;
    private volatile double kvUsage;
    private volatile long promptTokensTotal;
    private volatile long generationTokensTotal;
    private volatile long successStop;
    private volatile long successLength;
    private volatile long successAbort;
    private volatile long prefixQueries;
    private volatile long prefixHits;

    /**
     * @param model              timing
     * @param maxNumSeqs         batch slots, {@code >= 1}
     * @param kvCacheBlocks      KV-cache capacity in blocks of {@link #BLOCK_SIZE} tokens, {@code >= 1}
     * @param prefixCacheBlocks  blocks the prefix cache remembers (LRU); 0 turns it off
     * @param stepMs             simulated length of one scheduler step, {@code > 0}
     */
    public BatchEngine(ServiceModel model, int maxNumSeqs, int kvCacheBlocks, int prefixCacheBlocks, double stepMs) {
        this(model, maxNumSeqs, kvCacheBlocks, prefixCacheBlocks, stepMs, false);
    }

    /**
     * @param sharedPrefill whether prefills share one GPU: each step has {@code stepMs} of prefill
     *                      time, spent on the sequences in prefill in admission order, so a long
     *                      uncached prompt delays the first token of those admitted after it (as on
     *                      a real server). When false every sequence prefills in parallel.
     * @see #BatchEngine(ServiceModel, int, int, int, double)
     */
    public BatchEngine(ServiceModel model, int maxNumSeqs, int kvCacheBlocks, int prefixCacheBlocks, double stepMs,
                       boolean sharedPrefill) {
        if (model == null) {
            throw new NullPointerException("model");
        }
        if (maxNumSeqs < 1) {
            throw new IllegalArgumentException("maxNumSeqs: " + maxNumSeqs + " (expected: >= 1)");
        }
        if (kvCacheBlocks < 1) {
            throw new IllegalArgumentException("kvCacheBlocks: " + kvCacheBlocks + " (expected: >= 1)");
        }
        if (prefixCacheBlocks < 0) {
            throw new IllegalArgumentException("prefixCacheBlocks: " + prefixCacheBlocks + " (expected: >= 0)");
        }
        ServiceModel.requireFinite("stepMs", stepMs, 0, true);
        this.model = model;
        this.maxNumSeqs = maxNumSeqs;
        this.kvCacheBlocks = kvCacheBlocks;
        this.stepMs = stepMs;
        this.prefixCacheBlocks = prefixCacheBlocks;
        this.sharedPrefill = sharedPrefill;
        this.prefixCache = prefixCacheBlocks == 0 ? null : new PrefixCache(prefixCacheBlocks);
    }

    public ServiceModel model() { return model; }

    /** Sets who hears of blocks cached and evicted. Before the engine runs, or on its thread. */
    public void cacheListener(CacheListener listener) {
        this.cacheListener = listener == null ? CacheListener.NONE : listener;
        if (prefixCache != null) {
            prefixCache.listener(cacheListener);
        }
    }

    /** Drops every cached block (vLLM's {@code reset_prefix_cache}). Engine thread. */
    public void resetPrefixCache() {
        if (prefixCache != null) {
            prefixCache.reset();
        }
    }

    /** Feeds {@code h} from now on (null: none). Any thread. */
    public void histograms(LatencyHistograms h) {
        this.histograms = h;
    }

    /**
     * Applies {@code drift} from simulated time {@code originMs}: the time per output token and the
     * prefill of sequences admitted from then on are multiplied by its factor. Any thread.
     */
    public void drift(SpeedDrift drift, double originMs) {
        this.drifting = new Drifting(java.util.Objects.requireNonNull(drift, "drift"), originMs);
    }

    /** The speed factor in force at simulated time {@code ms}. */
    public double speedFactorAt(double ms) {
        return drifting.factorAt(ms);
    }

    public int maxNumSeqs() { return maxNumSeqs; }

    /** Adds a sequence to the waiting queue; it is admitted at the next step at the earliest. */
    public void submit(Sequence s) {
        waitingQueue.addLast(s);
        waiting = waitingQueue.size();
    }

    /** The engine's simulated time. */
    public double nowMs() {
        return now;
    }

    /** Whether nothing is running or waiting. */
    public boolean idle() {
        return runningList.isEmpty() && waitingQueue.isEmpty();
    }

    /**
     * Runs whole steps up to {@code nowMs}. An idle engine jumps there at once, so a long idle
     * spell costs nothing.
     */
    public void advanceTo(double nowMs) {
        if (idle()) {
            if (nowMs > now) {
                now = nowMs;
            }
            return;
        }
        while (now + stepMs <= nowMs) {
            step();
            if (idle()) {
                now = nowMs;
                return;
            }
        }
    }

    /** Aborts every sequence (server shutting down). */
    public void abortAll() {
        for (Sequence s : runningList) {
            finish(s, Sequence.ABORTED, now);
        }
        runningList.clear();
        for (Sequence s : waitingQueue) {
            finish(s, Sequence.ABORTED, now);
        }
        waitingQueue.clear();
        publish();
    }

    private void step() {
        double t0 = now;
        double t1 = now + stepMs;
        for (Iterator<Sequence> it = waitingQueue.iterator(); it.hasNext(); ) {
            Sequence s = it.next();
            if (s.abortRequested()) {
                it.remove();
                finish(s, Sequence.ABORTED, t0);
            }
        }
        int usedBlocks = usedBlocks();
        while (!waitingQueue.isEmpty() && runningList.size() < maxNumSeqs) {
            Sequence s = waitingQueue.peekFirst();
            int need = blocks(s.promptTokens() + 1);
            if (usedBlocks + need > kvCacheBlocks && !runningList.isEmpty()) {
                break;
            }
            waitingQueue.pollFirst();
            usedBlocks += need;
            admit(s, t0);
        }
        LatencyHistograms h = histograms;
        double tpot = model.tpotMs(runningList.size()) * drifting.factorAt(t0);
        double prefillBudget = stepMs;  // GPU time for prefills this step, when they share one GPU
        int kept = 0;
        for (int i = 0, n = runningList.size(); i < n; i++) {
            Sequence s = runningList.get(i);
            if (s.abortRequested()) {
                finish(s, Sequence.ABORTED, t0);
                continue;
            }
            boolean changed = false;
            int produced = s.produced();
            if (produced == 0 && sharedPrefill) {
                double use = Math.min(prefillBudget, s.prefillLeftMs);
                double doneAt = t0 + (stepMs - prefillBudget) + use;
                prefillBudget -= use;
                s.prefillLeftMs -= use;
                prefillProgress(s);
                if (s.prefillLeftMs <= 0) {
                    s.decodeCarryMs = t1 - doneAt;
                    s.setFirstTokenMs(doneAt);
                    produced = 1;
                    changed = true;
                    promptDone(s, h);
                }
            } else if (produced == 0) {
                s.prefillLeftMs -= stepMs;
                prefillProgress(s);
                if (s.prefillLeftMs <= 0) {
                    s.decodeCarryMs = -s.prefillLeftMs;
                    s.setFirstTokenMs(t1 + s.prefillLeftMs);
                    produced = 1;
                    changed = true;
                    promptDone(s, h);
                }
            } else {
                s.decodeCarryMs += stepMs;
            }
            if (produced >= 1) {
                while (produced < s.outputTokens() && s.decodeCarryMs >= tpot) {
                    s.decodeCarryMs -= tpot;
                    produced++;
                    changed = true;
                    if (h != null) {
                        h.tokenGap(tpot);
                    }
                }
                if (changed) {
                    generationTokensTotal += produced - s.produced();
                    s.setProduced(produced);
                    if (prefixCache != null) {
                        // The step that produced token k fed back token k - 1: its blocks are computed.
                        prefixCache.schedule(s, s.promptTokens() + produced - 1);
                        prefixCache.publish(s);
                    }
                }
                if (produced >= s.outputTokens()) {
                    finish(s, Sequence.FINISHED, t1 - s.decodeCarryMs);
                    continue;
                }
            }
            runningList.set(kept++, s);
            if (changed) {
                s.onProgress();
            }
        }
        for (int i = runningList.size() - 1; i >= kept; i--) {
            runningList.remove(i);
        }
        now = t1;
        publish();
        cacheListener.stepEnded();
    }

    /**
     * A prompt in prefill: when the prefill has computed the chunk scheduled last, that chunk's
     * blocks are reported and the next chunk is scheduled (and cached).
     */
    private void prefillProgress(Sequence s) {
        if (prefixCache == null) {
            return;
        }
        int prompt = s.promptTokens();
        double done = s.prefillTotalMs <= 0 ? 1 : 1 - Math.max(0, s.prefillLeftMs) / s.prefillTotalMs;
        int computed = s.cachedTokens + (int) ((prompt - s.cachedTokens) * done);
        while (s.scheduledTokens < prompt && computed >= s.scheduledTokens) {
            prefixCache.publish(s);
            s.scheduledTokens = Math.min(prompt, s.scheduledTokens + PrefixCache.PREFILL_CHUNK);
            prefixCache.schedule(s, s.scheduledTokens);
        }
    }

    private void admit(Sequence s, double t0) {
        int cached = 0;
        if (prefixCache != null && s.prefixBlocks() != null) {
            cached = prefixCache.lookup(s);
            prefixQueries += s.promptTokens();
            prefixHits += cached;
            // Scheduled for its first chunk: vLLM caches the chunk's full blocks now, before computing them.
            s.scheduledTokens = Math.min(s.promptTokens(), cached + PrefixCache.PREFILL_CHUNK);
            prefixCache.schedule(s, s.scheduledTokens);
        }
        s.cachedTokens = cached;
        // A sequence that arrived inside this step starts its prefill when it arrived, not before.
        double start = Math.max(t0, s.arrivalMs());
        s.admittedMs = start;
        s.prefillLeftMs = model.prefillMs(s.promptTokens() - cached) * drifting.factorAt(start) + (start - t0);
        s.prefillTotalMs = s.prefillLeftMs;
        s.setState(Sequence.RUNNING);
        runningList.add(s);
    }

    private void promptDone(Sequence s, LatencyHistograms h) {
        if (h != null) {
            h.firstToken(s.arrivalMs(), s.firstTokenMs());
        }
        promptTokensTotal += s.promptTokens();
    }

    private void finish(Sequence s, int state, double at) {
        if (prefixCache != null) {
            prefixCache.publish(s);   // what its last pass computed
        }
        if (state == Sequence.ABORTED) {
            successAbort++;
        } else if ("stop".equals(s.finishReason())) {
            successStop++;
        } else {
            successLength++;
        }
        s.setFinishMs(at);
        LatencyHistograms h = histograms;
        if (h != null && state == Sequence.FINISHED) {
            h.finished(s.arrivalMs(), s.admittedMs, s.firstTokenMs(), at, s.promptTokens(), s.produced());
        }
        s.setState(state);
        s.onProgress();
    }

    private int usedBlocks() {
        int used = 0;
        for (int i = 0, n = runningList.size(); i < n; i++) {
            Sequence s = runningList.get(i);
            used += blocks(s.promptTokens() + Math.max(1, s.produced()));
        }
        return used;
    }

    private static int blocks(int tokens) {
        return (tokens + BLOCK_SIZE - 1) / BLOCK_SIZE;
    }

    private void publish() {
        running = runningList.size();
        waiting = waitingQueue.size();
        kvUsage = Math.min(1.0, usedBlocks() / (double) kvCacheBlocks);
    }

    /** Sequences in the batch (vllm:num_requests_running). */
    public int running() { return running; }
    /** Sequences queued for a slot (vllm:num_requests_waiting). */
    public int waiting() { return waiting; }
    /** KV-cache blocks held by running sequences over capacity, 0..1. */
    public double kvCacheUsage() { return kvUsage; }
    public long promptTokensTotal() { return promptTokensTotal; }
    public long generationTokensTotal() { return generationTokensTotal; }
    /** Finished requests by reason: "stop", "length" or "abort". */
    public long successTotal(String reason) {
        switch (reason) {
            case "stop": return successStop;
            case "length": return successLength;
            case "abort": return successAbort;
            default: throw new IllegalArgumentException("reason: " + reason + " (expected: stop, length or abort)");
        }
    }
    public long prefixCacheQueries() { return prefixQueries; }
    /** Blocks the prefix cache holds at most; 0 when it is off. */
    public int prefixCacheBlocks() { return prefixCacheBlocks; }
    /** KV-cache capacity in blocks of {@link #BLOCK_SIZE} tokens. */
    public int kvCacheBlocks() { return kvCacheBlocks; }
    public long prefixCacheHits() { return prefixHits; }
}
