package io.vllmrouter.examples.loadgen;

import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.api.spi.BackendView;
import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.RouteContext;
import io.vllmrouter.core.VllmRouters;
import io.vllmrouter.core.config.KvEventsConfig;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.RouterConfigBuilder;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.examples.bench.CacheRoutingBenchmark;
import io.vllmrouter.examples.bench.ChatWorkload;
import io.vllmrouter.examples.bench.FleetSimulation;
import io.vllmrouter.examples.bench.ReplicaChart;
import io.vllmrouter.examples.bench.RunResult;
import io.vllmrouter.examples.kvevents.KvEventEncoder;
import io.vllmrouter.examples.server.ProxyOptions;
import io.vllmrouter.examples.server.ProxyServer;
import io.vllmrouter.examples.sim.DemoFleet;
import io.vllmrouter.examples.sim.KvEventsSettings;
import io.vllmrouter.examples.sim.SimConfig;
import io.vllmrouter.examples.sim.SimulatedVllm;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Router replicas against one fleet, live on loopback: N independent router + proxy instances in
 * front of simulated vLLM servers that keep a prefix cache and publish its KV-cache events, each
 * request sent to one replica at random (as a Service spreads connections), for the
 * {@code cache-aware} strategy with its approximate index (each replica's own guess) and with
 * {@code index = "kv-events"} (every replica follows every server's events, {@code tokenizer =
 * "backend"}), against an oracle that partitions the system prompts over the servers.
 *
 * <p>Workload: multi-turn conversations over 16 system prompts of 1,500 tokens (6,000 characters);
 * four servers of 8 batch slots, prefill on one GPU, each caching 1,152 blocks of 16 tokens, three
 * quarters of all the system prompts' tokens; 80 % of the fleet's capacity (no cache hits counted).
 * Each configuration starts a fresh fleet (cold caches, new random hash seeds; two servers publish
 * the map shape, two the array shape). Time is scaled as in {@link LiveRoutingBenchmark}: latencies
 * are in simulated units, and a millisecond of machinery (HTTP, the tokenizer's round trip) counts
 * {@code --time-scale} simulated ones.
 *
 * <pre>{@code
 * java -cp router-examples/benchmarks/target/benchmarks.jar io.vllmrouter.examples.loadgen.ReplicaRoutingBenchmark --out target/bench
 * }</pre>
 */
@Command(name = "replica-routing-benchmark", mixinStandardHelpOptions = true,
        description = "Router replicas on one fleet: cache-aware's approximate index vs the KV-event index vs an oracle, live on loopback.")
public final class ReplicaRoutingBenchmark implements Callable<Integer> {

    /** 16 system prompts of 1,500 tokens; 2 to 8 turns; 30-300 token questions; 50-400 token answers; 5-20 s apart. */
    public static final ChatWorkload.Shape SHAPE = new ChatWorkload.Shape(16, 1500, 2, 8, 30, 300, 50, 400, 5_000, 20_000);

    /** Each server's prefix cache: 1,152 blocks of 16 tokens = 18,432 tokens, 0.77 of the 24,000 system-prompt tokens. */
    public static final int CACHE_BLOCKS = 1152;

    @Option(names = "--out", defaultValue = "target/bench", description = "Output directory (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--seed", defaultValue = "42", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--duration", defaultValue = "180",
            description = "Arrival window per run in simulated seconds, the first 10% not measured (default: ${DEFAULT-VALUE}).")
    double durationSeconds;

    @Option(names = "--time-scale", defaultValue = "5", description = "Simulated ms per wall ms (default: ${DEFAULT-VALUE}).")
    double timeScale;

    @Option(names = "--load", defaultValue = "0.8", description = "Offered load, share of fleet capacity (default: ${DEFAULT-VALUE}).")
    double load;

    @Option(names = "--replicas", split = ",", defaultValue = "1,3",
            description = "Router replica counts to run (default: ${DEFAULT-VALUE}).")
    List<Integer> replicas;

    @Option(names = "--indexes", split = ",", defaultValue = "approximate,kv-events",
            description = "cache-aware indexes to compare (default: ${DEFAULT-VALUE}).")
    List<String> indexes;

    @Option(names = "--stand-in-answers", description = "Resend each answer as a stand-in text of its length "
            + "instead of the answer received, and send every turn at its arrival time (no cache can hold those answers).")
    boolean standInAnswers;

    @Option(names = "--cache-blocks", defaultValue = "" + CACHE_BLOCKS,
            description = "Each server's prefix cache in blocks of 16 tokens (default: ${DEFAULT-VALUE}).")
    int cacheBlocks;

    @Option(names = "--load-margins", split = ",", defaultValue = "0.5",
            description = "cache-aware's load_margin, one run per value for each index and replica count; the oracle "
                    + "keeps the default rule (default: ${DEFAULT-VALUE}).")
    List<Double> loadMargins;

    @Option(names = "--metrics-interval", defaultValue = "2",
            description = "Router scrape interval in simulated seconds (default: ${DEFAULT-VALUE}).")
    double metricsIntervalSeconds;

    @Override
    public Integer call() throws Exception {
        BenchSupport.setup();
        for (String i : indexes) {
            if (!i.equals("approximate") && !i.equals("kv-events")) {
                System.err.println("replica-routing-benchmark: indexes: " + i + " (expected: approximate or kv-events)");
                return 2;
            }
        }
        if (!(load > 0 && load < 2) || !(timeScale > 0) || !(durationSeconds >= 20) || replicas.stream().anyMatch(n -> n < 1)
                || cacheBlocks < 1 || loadMargins.stream().anyMatch(m -> !(m >= 0) || Double.isInfinite(m))) {
            System.err.println("replica-routing-benchmark: load: " + load + ", time-scale: " + timeScale + ", duration: "
                    + durationSeconds + ", replicas: " + replicas + ", cache-blocks: " + cacheBlocks + ", load-margins: " + loadMargins
                    + " (expected: 0 < load < 2, time-scale > 0, duration >= 20, replicas >= 1, cache-blocks >= 1, "
                    + "load-margins >= 0)");
            return 2;
        }
        PrintStream o = System.out;
        double capacity = CacheRoutingBenchmark.capacityRps(CacheRoutingBenchmark.CHAT_FLEET, SHAPE.meanPromptTokens(),
                SHAPE.meanOutputTokens(), true);
        double rps = capacity * load;
        o.println("Router replicas on one fleet, live on loopback. " + BenchSupport.machine());
        o.printf(Locale.ROOT, "4 servers x 8 slots, prefill 0.1 ms/token on one GPU, prefix cache %d blocks (%d tokens) each; "
                        + "16 system prompts x %d tokens; %.0f%% of %.3f req/s = %.3f req/s; %.0f simulated s per run at time scale %.0f "
                        + "(first 10%% not measured); seed %d%n", cacheBlocks, cacheBlocks * 16, SHAPE.systemTokens(), load * 100,
                capacity, rps, durationSeconds, timeScale, seed);
        List<ChatWorkload.Turn> turns = ChatWorkload.turns(SHAPE, rps, durationSeconds * 1000, seed);
        List<RunResult> results = new ArrayList<>();
        long errors = 0;
        List<String[]> runs = new ArrayList<>();
        runs.add(new String[] {"oracle", "1", "0.5"});
        for (int n : replicas) {
            for (String index : indexes) {
                for (double margin : loadMargins) {
                    runs.add(new String[] {index, Integer.toString(n), Double.toString(margin)});
                }
            }
        }
        for (String[] run : runs) {
            String mode = run[0];
            int n = Integer.parseInt(run[1]);
            String label = mode.equals("oracle") ? "oracle" : mode + " x" + n
                    + (loadMargins.size() > 1 ? " margin " + run[2] : "");
            String before = BenchSupport.loadAverage();
            long t0 = System.nanoTime();
            LiveRun r = runOne(mode, n, run[2], label, turns, rps);
            errors += r.errors();
            results.add(r.result());
            o.printf(Locale.ROOT, "  %-26s %d requests, %d failed, %.1f s wall, load average %s -> %s%s%n", label, turns.size(),
                    r.errors(), (System.nanoTime() - t0) / 1e9, before, BenchSupport.loadAverage(), r.figures());
        }
        o.println();
        o.print(table(results));
        Files.createDirectories(out);
        Path csv = out.resolve("replica-routing.csv");
        Files.writeString(csv, CacheRoutingBenchmark.csv(List.of(new CacheRoutingBenchmark.Section("replicas", capacity,
                results))), StandardCharsets.UTF_8);
        Path png = out.resolve("replica-routing-ttft.png");
        ReplicaChart.write(results, String.format(Locale.ROOT, "Router replicas, shared prefixes at %.0f%% load: time to first token (seed %d)",
                load * 100, seed), png);
        o.println();
        o.println("wrote " + csv + " and " + png);
        return errors == 0 ? 0 : 1;
    }

    /** One configuration's figures, failed requests, and the replicas' index and tokenizer figures. */
    private record LiveRun(RunResult result, long errors, String figures) {
    }

    private LiveRun runOne(String mode, int n, String loadMargin, String label, List<ChatWorkload.Turn> turns, double rps) throws Exception {
        List<SimulatedVllm> fleet = startFleet();
        List<VllmRouter> routers = new ArrayList<>();
        List<ProxyServer> proxies = new ArrayList<>();
        try {
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            List<URI> targets = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                VllmRouters.Builder b = VllmRouters.builder().config(config(fleet, mode, loadMargin));
                if (mode.equals("oracle")) {
                    b.strategy(new Oracle());
                }
                VllmRouter router = b.build();
                routers.add(router);
                ProxyServer proxy = ProxyServer.start(router, ProxyOptions.builder().host("127.0.0.1").port(0)
                        .grace(Duration.ZERO).build());
                proxies.add(proxy);
                URI target = URI.create("http://127.0.0.1:" + proxy.port() + "/v1/chat/completions");
                targets.add(target);
                LiveRoutingBenchmark.awaitReady(client, target, router);
            }
            if (mode.equals("kv-events")) {
                for (SimulatedVllm s : fleet) {
                    if (!s.awaitKvEventSubscribers(n, Duration.ofSeconds(30))) {
                        throw new IllegalStateException("the replicas did not subscribe to " + s.baseUrl() + " in 30 s");
                    }
                }
            }
            LiveRun run = send(client, targets, fleet, turns, label, rps, mode.equals("oracle"));
            LiveRoutingBenchmark.awaitIdle(fleet);
            return new LiveRun(run.result(), run.errors(), run.figures() + figures(routers));
        } finally {
            proxies.forEach(ProxyServer::close);
            routers.forEach(VllmRouter::close);
            fleet.forEach(SimulatedVllm::close);
        }
    }

    private static String figures(List<VllmRouter> routers) {
        StringBuilder b = new StringBuilder();
        for (String k : List.of("picks_cache_hit", "picks_session", "picks_cold", "picks_load_override", "prompt_blocks", "matched_blocks", "picks_kv_events", "picks_without_tokens", "kv_index_entries",
                "kv_events_batches", "kv_events_gaps", "tokenizer_calls", "tokenizer_prefix_hits", "tokenizer_cache_hits",
                "tokenizer_call_micros_mean", "tokenizer_timeouts")) {
            long sum = 0;
            boolean any = false;
            for (VllmRouter r : routers) {
                Long v = r.stats().strategyStats().get(k);
                if (v != null) {
                    sum += k.endsWith("_mean") ? v / routers.size() : v;
                    any = true;
                }
            }
            if (any) {
                b.append(b.length() == 0 ? "; " : ", ").append(k).append(' ').append(sum);
            }
        }
        return b.toString();
    }

    private List<SimulatedVllm> startFleet() throws java.io.IOException {
        List<SimulatedVllm> started = new ArrayList<>();
        try {
            for (int i = 0; i < CacheRoutingBenchmark.CHAT_FLEET.size(); i++) {
                DemoFleet.Spec spec = CacheRoutingBenchmark.CHAT_FLEET.get(i);
                started.add(SimulatedVllm.start(SimConfig.builder().models(spec.models()).maxNumSeqs(spec.maxNumSeqs())
                        .serviceModel(spec.serviceModel()).kvCacheBlocks(1 << 20).prefixCache(true)
                        .prefixCacheBlocks(cacheBlocks).sharedPrefill(true).stepMs(FleetSimulation.STEP_MS)
                        .timeScale(timeScale).seed(seed + i)
                        .kvEvents(KvEventsSettings.on(0, 0).withShape(i % 2 == 0 ? KvEventEncoder.Shape.MAP
                                : KvEventEncoder.Shape.ARRAY))
                        .build()));
            }
        } catch (java.io.IOException | RuntimeException e) {
            started.forEach(SimulatedVllm::close);
            throw e;
        }
        return started;
    }

    private RouterConfig config(List<SimulatedVllm> fleet, String mode, String loadMargin) {
        RouterConfigBuilder b = RouterConfig.builder().strategy("cache-aware")
                .metricsInterval(Duration.ofMillis(Math.max(10, Math.round(metricsIntervalSeconds * 1000 / timeScale))))
                .requestTimeout(Duration.ofMinutes(10));
        b.strategySettings("cache-aware", mode.equals("kv-events")
                ? Map.of("index", "kv-events", "tokenizer", "backend", "load_margin", loadMargin)
                : Map.of("load_margin", loadMargin));
        for (int i = 0; i < fleet.size(); i++) {
            SimulatedVllm s = fleet.get(i);
            DemoFleet.Spec spec = CacheRoutingBenchmark.CHAT_FLEET.get(i);
            b.server(new ServerConfig(s.baseUrl(), spec.maxNumSeqs(), spec.models(), null, spec.name(), 0,
                    mode.equals("kv-events") ? new KvEventsConfig("tcp://127.0.0.1:" + s.kvEventsPort(),
                            "tcp://127.0.0.1:" + s.kvEventsReplayPort(), 1) : null));
        }
        return b.build();
    }

    /**
     * Sends every turn at its arrival time, each to a replica drawn at random, with the answers its
     * conversation got so far as the assistant messages (what a chat client resends); a turn whose
     * previous answer is not complete by then goes when it is (a person reads the answer before the
     * next question), and its times count from then. The oracle's requests carry their system prompt.
     */
    private LiveRun send(HttpClient client, List<URI> targets, List<SimulatedVllm> fleet, List<ChatWorkload.Turn> turns,
                         String label, double rps, boolean oracle) throws InterruptedException {
        long hitsBefore = 0;
        long queriesBefore = 0;
        long[] perServer = new long[fleet.size()];
        for (int i = 0; i < fleet.size(); i++) {
            hitsBefore += fleet.get(i).prefixCacheHits();
            queriesBefore += fleet.get(i).prefixCacheQueries();
            perServer[i] = -fleet.get(i).prefixCacheQueries();
        }
        SplittableRandom pick = new SplittableRandom(seed ^ 0x5EED);
        List<CompletableFuture<long[]>> futures = new ArrayList<>(turns.size());
        Map<String, List<CompletableFuture<String>>> answers = new HashMap<>();
        AtomicInteger delayed = new AtomicInteger();
        AtomicInteger substituted = new AtomicInteger();
        long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
        for (ChatWorkload.Turn t : turns) {
            long at = start + (long) (t.request().arrivalMs() / timeScale * 1e6);
            long wait;
            while ((wait = at - System.nanoTime()) > 0) {
                LockSupport.parkNanos(wait);
            }
            String session = oracle ? "system-" + ChatWorkload.systemPrompt(SHAPE, t) : t.request().session();
            URI target = targets.get(pick.nextInt(targets.size()));
            List<CompletableFuture<String>> history = answers.computeIfAbsent(t.request().session(), k -> new ArrayList<>());
            CompletableFuture<String> previous = history.isEmpty() ? CompletableFuture.completedFuture(null)
                    : history.get(history.size() - 1);
            CompletableFuture<String> answer = new CompletableFuture<>();
            CompletableFuture<long[]> times = new CompletableFuture<>();
            List<CompletableFuture<String>> earlier = standInAnswers ? List.of() : List.copyOf(history);
            history.add(answer);
            futures.add(times);
            Runnable go = () -> {
                HttpRequest req = HttpRequest.newBuilder(target)
                        .header("Content-Type", "application/json").header("X-Session-Id", session)
                        .timeout(Duration.ofMinutes(10))
                        .POST(HttpRequest.BodyPublishers.ofByteArray(LiveRoutingBenchmark.chatBody(t, earlier, substituted))).build();
                long sent = System.nanoTime();
                client.sendAsync(req, SseLines.keepingText()).whenComplete((resp, err) -> {
                    boolean ok = err == null && resp.statusCode() == 200 && resp.body().done();
                    answer.complete(ok ? resp.body().text() : null);
                    times.complete(ok ? new long[] {sent, resp.body().firstEventNanos(), resp.body().lastEventNanos()} : null);
                });
            };
            if (standInAnswers || previous.isDone()) {
                go.run();
            } else {
                delayed.incrementAndGet();
                previous.whenComplete((a, e) -> go.run());
            }
        }
        try {
            CompletableFuture.allOf(futures.toArray(new CompletableFuture<?>[0])).get(15, TimeUnit.MINUTES);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            // counted below as failed
        }
        double durationMs = durationSeconds * 1000;
        double[] ttft = new double[turns.size()];
        double[] e2e = new double[turns.size()];
        int measured = 0;
        int failed = 0;
        long errors = 0;
        for (int k = 0; k < turns.size(); k++) {
            long[] t = futures.get(k).getNow(null);
            double arrival = turns.get(k).request().arrivalMs();
            if (t == null) {
                errors++;
            }
            if (arrival < durationMs * 0.1) {
                continue;
            }
            if (t == null) {
                failed++;
                continue;
            }
            ttft[measured] = (t[1] - t[0]) / 1e6 * timeScale;
            e2e[measured] = (t[2] - t[0]) / 1e6 * timeScale;
            measured++;
        }
        ttft = Arrays.copyOf(ttft, measured);
        e2e = Arrays.copyOf(e2e, measured);
        Arrays.sort(ttft);
        Arrays.sort(e2e);
        long hits = -hitsBefore;
        long queries = -queriesBefore;
        for (int i = 0; i < fleet.size(); i++) {
            hits += fleet.get(i).prefixCacheHits();
            queries += fleet.get(i).prefixCacheQueries();
            perServer[i] += fleet.get(i).prefixCacheQueries();
        }
        double[] share = new double[fleet.size()];     // of the prompt tokens each server was sent
        for (int i = 0; i < share.length; i++) {
            share[i] = queries == 0 ? 0 : perServer[i] / (double) queries;
        }
        RunResult result = new RunResult(label, load, rps, measured + failed, failed, FleetSimulation.mean(e2e),
                FleetSimulation.percentile(e2e, 0.50), FleetSimulation.percentile(e2e, 0.99), FleetSimulation.mean(ttft),
                FleetSimulation.percentile(ttft, 0.99), measured / (durationMs * 0.9 / 1000), share,
                FleetSimulation.percentile(ttft, 0.50), FleetSimulation.percentile(ttft, 0.90),
                queries == 0 ? Double.NaN : hits / (double) queries);
        return new LiveRun(result, errors, String.format(Locale.ROOT, "; %d turns waited for the previous answer,"
                + " %d answers missing (a stand-in text sent)", delayed.get(), substituted.get()));
    }

    static String table(List<RunResult> results) {
        RunResult oracle = results.get(0);
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%-26s %6s %9s %9s %9s %9s %9s %7s %11s %11s%n",
                "configuration", "reqs", "TTFT mean", "TTFT p50", "TTFT p90", "TTFT p99", "e2e p99", "hit",
                "mean/oracle", "p90/oracle"));
        for (RunResult r : results) {
            b.append(String.format(Locale.ROOT, "%-26s %6d %9.3f %9.3f %9.3f %9.3f %9.2f %6.1f%% %10.2fx %10.2fx%n",
                    r.strategy(), r.requests(), r.ttftMeanMs() / 1000, r.ttftP50Ms() / 1000, r.ttftP90Ms() / 1000,
                    r.ttftP99Ms() / 1000, r.p99Ms() / 1000, r.cacheHitRate() * 100, r.ttftMeanMs() / oracle.ttftMeanMs(),
                    r.ttftP90Ms() / oracle.ttftP90Ms()));
        }
        return b.toString();
    }

    /**
     * The oracle: each system prompt's conversations go to one server, the prompts split evenly over
     * the servers in configuration order (prompt {@code k} to server {@code k mod n}; its requests
     * carry {@code system-k} as their session key), so every prompt is cached exactly once and every
     * later turn finds its history, with no index at all; unless that server is overloaded by
     * cache-aware's own rule (load above the lowest by more than {@code load_margin} 0.5 and more
     * than {@code load_ratio} 1.5 times it), when the least loaded takes the request.
     */
    static final class Oracle implements BalancingStrategy {
        @Override
        public BackendView pick(List<? extends BackendView> candidates, RouteContext context) {
            String key = context.affinityKey();
            int k = key != null && key.startsWith("system-") ? Integer.parseInt(key.substring(7)) : 0;
            BackendView home = null;
            BackendView least = null;
            double min = Double.POSITIVE_INFINITY;
            for (BackendView b : candidates) {
                double l = b.outstanding() / b.capacity();
                if (least == null || l < min) {
                    least = b;
                    min = l;
                }
                if (b.index() == k % CacheRoutingBenchmark.CHAT_FLEET.size()) {
                    home = b;
                }
            }
            if (home == null) {
                return least;
            }
            double homeLoad = home.outstanding() / home.capacity();
            return homeLoad > Math.max(min + 0.5, min * 1.5) ? least : home;
        }
    }

    public static void main(String[] args) {
        io.vllmrouter.examples.server.JvmSettings.apply();
        System.exit(new CommandLine(new ReplicaRoutingBenchmark()).execute(args));
    }
}
