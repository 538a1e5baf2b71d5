package io.vllmrouter.examples.bench;

import io.vllmrouter.api.spi.BackendSpeed;
import io.vllmrouter.api.spi.BackendView;
import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.RequestSize;
import io.vllmrouter.api.spi.RouteContext;
import io.vllmrouter.examples.sim.BatchEngine;
import io.vllmrouter.examples.sim.DemoFleet;
import io.vllmrouter.examples.sim.Sequence;
import io.vllmrouter.examples.sim.ServiceModel;

import java.net.URI;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A deterministic discrete-event run of one strategy over a simulated fleet: each server is a
 * {@link BatchEngine} (the simulator's own model), the strategy picks for each arrival, and it sees
 * load the way the router's engine shows it: the figures of the last scrape (one every
 * {@code metricsIntervalMs}) plus the requests this router sent minus those it finished since.
 *
 * <p>Single-threaded and seeded: the same arguments give the same result.
 */
public final class FleetSimulation {

    /** Scheduler step of every simulated server, ms. */
    public static final double STEP_MS = 5;

    private FleetSimulation() {
    }

    /** Fleet capacity in requests per second: sum of {@code max_num_seqs / mean service time at full batch}. */
    public static double capacityRps(List<DemoFleet.Spec> fleet) {
        double rps = 0;
        for (DemoFleet.Spec s : fleet) {
            rps += s.maxNumSeqs() / (s.serviceModel().serviceMs(Workload.MEAN_PROMPT_TOKENS, Workload.MEAN_OUTPUT_TOKENS,
                    s.maxNumSeqs()) / 1000);
        }
        return rps;
    }

    /**
     * Runs {@code workload} through {@code strategy}.
     *
     * @param durationMs         arrival window; requests are then drained to completion (bounded)
     * @param warmupMs           requests arriving before this are served but not measured
     * @param metricsIntervalMs  simulated scrape interval
     */
    public static RunResult run(List<DemoFleet.Spec> fleet, String strategyName, BalancingStrategy strategy, double load,
                                double offeredRps, List<Workload.Request> workload, double durationMs, double warmupMs,
                                double metricsIntervalMs, long seed) {
        return run(fleet, Servers.PLAIN, strategyName, strategy, load, offeredRps, workload, durationMs, warmupMs,
                metricsIntervalMs, seed);
    }

    /**
     * How the simulated servers treat prompts.
     *
     * @param prefixCacheBlocks blocks of {@link BatchEngine#BLOCK_SIZE} tokens each server's prefix
     *                          cache holds (LRU); 0: no prefix cache. Published to the strategy as
     *                          {@link BackendView#cacheBlocks()}, as vLLM's cache_config_info does.
     * @param sharedPrefill     whether prefills share each server's one GPU ({@link BatchEngine})
     */
    public record Servers(int prefixCacheBlocks, boolean sharedPrefill) {
        /** No prefix cache, prefills in parallel: the model of the routing-quality benchmark. */
        public static final Servers PLAIN = new Servers(0, false);
    }

    /**
     * Runs {@code workload} through {@code strategy} over servers with a prefix cache. Requests that
     * carry block hashes show them to the strategy as {@link RouteContext#promptBlockHashes} for
     * 64-character blocks (16 tokens of 4 characters, one server block), with their session key.
     */
    public static RunResult run(List<DemoFleet.Spec> fleet, Servers servers, String strategyName, BalancingStrategy strategy,
                                double load, double offeredRps, List<Workload.Request> workload, double durationMs,
                                double warmupMs, double metricsIntervalMs, long seed) {
        int n = fleet.size();
        BatchEngine[] engines = new BatchEngine[n];
        List<View> views = new ArrayList<>(n);
        double meanPrompt = workload.stream().mapToInt(Workload.Request::promptTokens).average().orElse(1);
        double meanOutput = workload.stream().mapToInt(Workload.Request::outputTokens).average().orElse(1);
        for (int i = 0; i < n; i++) {
            DemoFleet.Spec s = fleet.get(i);
            engines[i] = new BatchEngine(s.serviceModel(), s.maxNumSeqs(), 1 << 20, servers.prefixCacheBlocks(), STEP_MS,
                    servers.sharedPrefill());
            views.add(new View(i, s, engines[i], servers.prefixCacheBlocks(), meanPrompt, meanOutput));
        }
        List<View> candidates = List.copyOf(views);
        SplittableRandom random = new SplittableRandom(seed);
        strategy.backendsChanged(views);
        Tracked[] tracked = new Tracked[workload.size()];
        long[] sentTo = new long[n];
        double nextScrape = 0;
        for (int k = 0; k < workload.size(); k++) {
            Workload.Request r = workload.get(k);
            while (nextScrape <= r.arrivalMs()) {
                advance(engines, nextScrape);
                scrape(views);
                nextScrape += metricsIntervalMs;
            }
            advance(engines, r.arrivalMs());
            RouteContext ctx = r.blocks() == null
                    ? RouteContext.ofSize(DemoFleet.MODEL, r.session(), new RequestSize(r.promptTokens(), r.outputTokens()), random)
                    : new Prompted(r, random);
            BackendView pick = strategy.pick(candidates, ctx);
            if (pick == null) {
                continue;
            }
            View v = views.get(pick.index());
            Tracked t = new Tracked(r, v);
            tracked[k] = t;
            sentTo[v.index]++;
            v.inFlight++;
            v.delta++;
            engines[v.index].submit(t);
        }
        // Drain: let every request finish, bounded so that an overloaded run still ends.
        double limit = durationMs * 10 + 3_600_000;
        double now = nextScrape;
        while (now < limit && !allIdle(engines)) {
            advance(engines, now);
            scrape(views);
            now += metricsIntervalMs;
        }
        long hits = 0;
        long queries = 0;
        for (BatchEngine e : engines) {
            hits += e.prefixCacheHits();
            queries += e.prefixCacheQueries();
        }
        double hitRate = queries == 0 ? Double.NaN : hits / (double) queries;
        if (Boolean.getBoolean("bench.debug")) {
            System.err.println(strategyName + " " + load + " " + strategy.stats());
        }
        return summarize(strategyName, load, offeredRps, tracked, sentTo, durationMs, warmupMs, hitRate);
    }

    /** A request's prompt as the strategy sees it: its block hashes for 64-character blocks. */
    private record Prompted(Workload.Request request, SplittableRandom random) implements RouteContext {
        /** Characters per server block: {@link BatchEngine#BLOCK_SIZE} tokens of 4 characters. */
        static final int BLOCK_CHARS = BatchEngine.BLOCK_SIZE * 4;

        @Override public String model() { return DemoFleet.MODEL; }
        @Override public boolean stream() { return true; }
        @Override public String affinityKey() { return request.session(); }
        @Override public int attempt() { return 1; }
        @Override public RequestSize size() { return new RequestSize(request.promptTokens(), request.outputTokens()); }

        @Override
        public long[] promptBlockHashes(int blockChars) {
            if (blockChars != BLOCK_CHARS) {
                throw new IllegalArgumentException("block_chars: " + blockChars + " (expected: " + BLOCK_CHARS
                        + " in the simulation, one server block)");
            }
            return request.blocks();
        }
    }

    private static RunResult summarize(String name, double load, double offeredRps, Tracked[] tracked, long[] sentTo,
                                       double durationMs, double warmupMs, double hitRate) {
        double[] e2e = new double[tracked.length];
        double[] ttft = new double[tracked.length];
        int measured = 0;
        int unfinished = 0;
        int finishedInWindow = 0;
        for (Tracked t : tracked) {
            if (t == null) {
                continue;
            }
            if (t.state() == Sequence.FINISHED && t.finishMs() <= durationMs) {
                finishedInWindow++;
            }
            if (t.arrivalMs() < warmupMs) {
                continue;
            }
            if (t.state() != Sequence.FINISHED) {
                unfinished++;
                continue;
            }
            e2e[measured] = t.finishMs() - t.arrivalMs();
            ttft[measured] = t.firstTokenMs() - t.arrivalMs();
            measured++;
        }
        e2e = Arrays.copyOf(e2e, measured);
        ttft = Arrays.copyOf(ttft, measured);
        Arrays.sort(e2e);
        Arrays.sort(ttft);
        long total = Arrays.stream(sentTo).sum();
        double[] share = new double[sentTo.length];
        for (int i = 0; i < share.length; i++) {
            share[i] = total == 0 ? 0 : sentTo[i] / (double) total;
        }
        return new RunResult(name, load, offeredRps, measured + unfinished, unfinished, mean(e2e), percentile(e2e, 0.50),
                percentile(e2e, 0.99), mean(ttft), percentile(ttft, 0.99), finishedInWindow / (durationMs / 1000), share,
                percentile(ttft, 0.50), percentile(ttft, 0.90), hitRate);
    }

    /** Mean of the values, NaN for none; shared with the live benchmark so both modes report alike. */
    public static double mean(double[] sorted) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        double sum = 0;
        for (double v : sorted) {
            sum += v;
        }
        return sum / sorted.length;
    }

    /** Nearest-rank percentile of a sorted array. */
    public static double percentile(double[] sorted, double q) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(q * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    private static void advance(BatchEngine[] engines, double t) {
        for (BatchEngine e : engines) {
            e.advanceTo(t);
        }
    }

    private static boolean allIdle(BatchEngine[] engines) {
        for (BatchEngine e : engines) {
            if (!e.idle()) {
                return false;
            }
        }
        return true;
    }

    private static void scrape(List<View> views) {
        for (View v : views) {
            v.scrapedRunning = v.engine.running();
            v.scrapedWaiting = v.engine.waiting();
            v.scrapedKv = v.engine.kvCacheUsage();
            v.delta = 0;
        }
    }

    /** A request in flight; tells its server's view when it is done. */
    private static final class Tracked extends Sequence {
        private final View view;
        private boolean counted;

        Tracked(Workload.Request r, View view) {
            super(r.promptTokens(), r.outputTokens(), r.blocks(), r.arrivalMs(), "length");
            this.view = view;
        }

        @Override
        protected void onProgress() {
            if (done() && !counted) {
                counted = true;
                view.inFlight--;
                view.delta--;
            }
        }
    }

    /**
     * The backend as a strategy sees it, with the engine's estimate: {@code total = max(0, running +
     * waiting + delta)}, {@code running' = min(total, max(running, capacity))}, {@code waiting' = total - running'}.
     * Its {@link #speed()} is the server's true one, steady as the router's decayed estimate is: time
     * per output token with a full batch, prefill of the workload's mean prompt, the workload's mean
     * answer.
     */
    private static final class View implements BackendView {
        final int index;
        final DemoFleet.Spec spec;
        final BatchEngine engine;
        final URI url;
        final int cacheBlocks;
        final double meanPrompt;
        final double meanOutput;
        int inFlight;
        int delta;
        int scrapedRunning;
        int scrapedWaiting;
        double scrapedKv;

        View(int index, DemoFleet.Spec spec, BatchEngine engine, int cacheBlocks, double meanPrompt, double meanOutput) {
            this.cacheBlocks = cacheBlocks;
            this.meanPrompt = meanPrompt;
            this.meanOutput = meanOutput;
            this.index = index;
            this.spec = spec;
            this.engine = engine;
            this.url = URI.create("http://sim-" + spec.name() + ".invalid:8000");
        }

        private double total() {
            return Math.max(0, scrapedRunning + scrapedWaiting + delta);
        }

        @Override public String id() { return url.toString(); }
        @Override public URI url() { return url; }
        @Override public int capacity() { return spec.maxNumSeqs(); }
        @Override public int inFlight() { return inFlight; }
        @Override public double running() { return Math.min(total(), Math.max(scrapedRunning, spec.maxNumSeqs())); }
        @Override public double waiting() { return total() - running(); }
        @Override public double kvCacheUsage() { return scrapedKv; }
        @Override public boolean metricsFresh() { return true; }
        @Override public List<String> models() { return spec.models(); }
        @Override public int index() { return index; }
        @Override public long cacheBlocks() { return cacheBlocks > 0 ? cacheBlocks : -1; }
        @Override public int cacheBlockSize() { return cacheBlocks > 0 ? BatchEngine.BLOCK_SIZE : -1; }

        @Override
        public BackendSpeed speed() {
            ServiceModel m = spec.serviceModel();
            double prefillMs = m.prefillMs(meanPrompt);
            return new BackendSpeed(m.tpotMs(spec.maxNumSeqs()) / 1000, prefillMs / 1000,
                    prefillMs / meanPrompt / 1000, meanOutput, 1);
        }
    }
}
