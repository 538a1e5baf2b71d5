package io.vllmrouter.examples.loadgen;

import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.core.VllmRouters;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.RouterConfigBuilder;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.examples.bench.CacheRoutingBenchmark;
import io.vllmrouter.examples.bench.ChatWorkload;
import io.vllmrouter.examples.bench.FleetSimulation;
import io.vllmrouter.examples.bench.RoutingQualityBenchmark;
import io.vllmrouter.examples.bench.RunResult;
import io.vllmrouter.examples.bench.Workload;
import io.vllmrouter.examples.sim.DemoFleet;
import io.vllmrouter.examples.sim.SimConfig;
import io.vllmrouter.examples.sim.SimulatedVllm;
import io.vllmrouter.examples.server.ProxyOptions;
import io.vllmrouter.examples.server.ProxyServer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

/**
 * The routing-quality benchmark live on loopback: the fleet of {@link DemoFleet#SPECS} as real
 * {@link SimulatedVllm} servers (same service model, same batch slots, same 5 ms scheduler step,
 * no prefix cache, as in {@link FleetSimulation}), the real router and proxy in front, and the
 * arrivals of {@link Workload} (same generator and seeds as {@link RoutingQualityBenchmark}, so
 * both modes see the same requests) sent open-loop as streaming chat completions at 50, 80 and
 * 95 % of fleet capacity, for each strategy.
 *
 * <p>Time is scaled: the simulators run {@code --time-scale} simulated milliseconds per wall
 * millisecond, arrivals are sent at {@code arrival / scale}, the router scrapes every
 * {@code metrics-interval / scale}, and every wall-clock latency measured is multiplied by the
 * scale, so the figures are in the same simulated units as the simulated-time mode. What does not
 * scale is the cost of the machinery itself: a millisecond of router, HTTP or CPU-contention delay
 * shows as {@code scale} simulated milliseconds.
 *
 * <p>With {@code --workload chat} the fleet is {@link CacheRoutingBenchmark#CHAT_FLEET} with the
 * simulators' prefix cache on ({@link CacheRoutingBenchmark#CACHE_BLOCKS} blocks, prefills sharing
 * one GPU) and the requests are {@link ChatWorkload} conversations with real message text: the
 * system prompt, the earlier turns (questions and the answers' stand-in text) and a new question.
 * The router hashes the rendered messages, the simulators their own rendering, as vLLM would. A
 * new fleet is started for each strategy, so each begins with cold caches; the table adds the
 * fleet's prefix-cache hit rate.
 *
 * <pre>{@code
 * java -cp router-examples/target/vllm-router.jar io.vllmrouter.examples.loadgen.LiveRoutingBenchmark --out target/bench
 * }</pre>
 */
@Command(name = "live-routing-benchmark", mixinStandardHelpOptions = true,
        description = "Routing quality live on loopback: simulated vLLM fleet, real router + proxy, scaled time.")
public final class LiveRoutingBenchmark implements Callable<Integer> {

    private static final com.fasterxml.jackson.core.io.JsonStringEncoder JSON_STRINGS =
            com.fasterxml.jackson.core.io.JsonStringEncoder.getInstance();

    /** Simulated seconds of arrivals at 50 % load sent through each new router before its measured runs. */
    static final double WARMUP_SECONDS = 20;

    @Option(names = "--out", defaultValue = "target/bench", description = "Output directory (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--seed", defaultValue = "42", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--duration", defaultValue = "240",
            description = "Arrival window per run in simulated seconds (default: ${DEFAULT-VALUE}; the simulated-time mode uses 600).")
    double durationSeconds;

    @Option(names = "--time-scale", defaultValue = "20",
            description = "Simulated ms per wall ms (default: ${DEFAULT-VALUE}: 240 simulated s take 12 s).")
    double timeScale;

    @Option(names = "--metrics-interval", defaultValue = "2",
            description = "Router scrape interval in simulated seconds (default: ${DEFAULT-VALUE}; divided by the scale).")
    double metricsIntervalSeconds;

    @Option(names = "--strategies", split = ",", description = "Strategy names (default: weighted-score,least-loaded,round-robin,latency-aware; with --workload chat: round-robin,least-loaded,weighted-score,cache-aware).")
    List<String> strategies;

    @Option(names = "--no-simulated", description = "Skip the simulated-time run of the same settings shown for comparison.")
    boolean noSimulated;

    @Option(names = "--workload", defaultValue = "mixed",
            description = "mixed (the routing-quality fleet and requests) or chat (conversations over shared system prompts, prefix cache on); default: ${DEFAULT-VALUE}.")
    String workload;

    private boolean chat() {
        return "chat".equals(workload);
    }

    private List<DemoFleet.Spec> specs() {
        return chat() ? CacheRoutingBenchmark.CHAT_FLEET : DemoFleet.SPECS;
    }

    @Override
    public Integer call() throws Exception {
        BenchSupport.setup();
        RoutingQualityBenchmark.Settings settings;
        try {
            settings = new RoutingQualityBenchmark.Settings(seed, durationSeconds, metricsIntervalSeconds);
            if (!(timeScale > 0) || !Double.isFinite(timeScale)) {
                throw new IllegalArgumentException("time_scale: " + timeScale + " (expected: > 0)");
            }
            if (!workload.equals("mixed") && !workload.equals("chat")) {
                throw new IllegalArgumentException("workload: " + workload + " (expected: mixed or chat)");
            }
        } catch (IllegalArgumentException e) {
            System.err.println("live-routing-benchmark: " + e.getMessage());
            return 2;
        }
        List<String> names = strategies != null ? strategies
                : chat() ? CacheRoutingBenchmark.STRATEGIES : RoutingQualityBenchmark.DEFAULT_STRATEGIES;
        Map<String, Supplier<BalancingStrategy>> known;
        try {
            known = RoutingQualityBenchmark.strategies(names);
        } catch (IllegalArgumentException e) {
            System.err.println("live-routing-benchmark: " + e.getMessage());
            return 2;
        }
        PrintStream o = System.out;
        double capacity = chat()
                ? CacheRoutingBenchmark.capacityRps(CacheRoutingBenchmark.CHAT_FLEET, CacheRoutingBenchmark.CHAT.meanPromptTokens(),
                        CacheRoutingBenchmark.CHAT.meanOutputTokens(), true)
                : FleetSimulation.capacityRps(DemoFleet.SPECS);
        o.println("Routing quality, live on loopback. " + BenchSupport.machine());
        o.printf(Locale.ROOT, "Same fleet, service model and workload as the simulated-time mode (seed %d); %.0f simulated s of arrivals "
                        + "per run (first 10%% not measured, after a %.0f s warm-up per strategy) = %.1f s wall at time scale %.0f; router scrapes every %.1f simulated s (%.0f ms wall).%n",
                seed, durationSeconds, WARMUP_SECONDS, durationSeconds / timeScale, timeScale, metricsIntervalSeconds,
                metricsIntervalSeconds * 1000 / timeScale);
        o.printf(Locale.ROOT, "Workload %s. Fleet capacity %.3f req/s (simulated%s); one JVM holds the %d simulators, the router + proxy and the client.%n",
                workload, capacity, chat() ? ", no cache hits" : "", specs().size());
        Files.createDirectories(out);

        List<RunResult> results = new ArrayList<>();
        List<SimulatedVllm> fleet = chat() ? List.of() : startFleet();
        long errors = 0;
        try {
            for (String name : names) {
                if (chat()) {
                    fleet.forEach(SimulatedVllm::close);
                    fleet = startFleet();  // cold caches for every strategy
                }
                try (VllmRouter router = VllmRouters.builder().config(routerConfig(fleet, name)).build();
                     ProxyServer proxy = ProxyServer.start(router, ProxyOptions.builder().host("127.0.0.1").port(0)
                             .grace(Duration.ZERO).build())) {
                    URI target = URI.create("http://127.0.0.1:" + proxy.port() + "/v1/chat/completions");
                    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
                    awaitReady(client, target, router);
                    // Warm-up, not measured: JIT-compiles the path and gives the router some history.
                    run(client, target, router, fleet, requests(capacity * 0.5, WARMUP_SECONDS * 1000, seed - 1), name, 0.5,
                            capacity * 0.5);
                    awaitIdle(fleet);
                    for (int i = 0; i < RoutingQualityBenchmark.LOADS.length; i++) {
                        double load = RoutingQualityBenchmark.LOADS[i];
                        double rps = capacity * load;
                        List<Req> workload = requests(rps, settings.durationSeconds() * 1000, seed * 31 + i);
                        String loadBefore = BenchSupport.loadAverage();
                        long t0 = System.nanoTime();
                        Run run = run(client, target, router, fleet, workload, name, load, rps);
                        errors += run.errors;
                        results.add(run.result);
                        o.printf(Locale.ROOT, "  %-15s %3.0f%%: %d requests, %d failed, %.1f s wall, load average %s -> %s%n",
                                name, load * 100, workload.size(), run.errors, (System.nanoTime() - t0) / 1e9, loadBefore,
                                BenchSupport.loadAverage());
                        awaitIdle(fleet);
                    }
                }
            }
        } finally {
            fleet.forEach(SimulatedVllm::close);
        }
        RoutingQualityBenchmark.Report live = new RoutingQualityBenchmark.Report(capacity, results);
        o.println();
        o.println("Live (router + proxy over loopback, latencies in simulated seconds):");
        if (chat()) {
            CacheRoutingBenchmark.Section section = new CacheRoutingBenchmark.Section("chat-live", capacity, results);
            o.print(CacheRoutingBenchmark.table(section));
            Path csv = out.resolve("cache-routing-live.csv");
            Files.writeString(csv, CacheRoutingBenchmark.csv(List.of(section)), StandardCharsets.UTF_8);
            o.println();
            o.println("wrote " + csv);
            return errors == 0 ? 0 : 1;
        }
        o.print(live.table());
        Path csv = out.resolve("routing-live.csv");
        Files.writeString(csv, live.csv(), StandardCharsets.UTF_8);
        String wrote = "wrote " + csv;
        if (!noSimulated) {
            RoutingQualityBenchmark.Report simulated = RoutingQualityBenchmark.run(settings, known);
            o.println();
            o.println("Simulated time, same seed and settings (for comparison):");
            o.print(simulated.table());
            Path simCsv = out.resolve("routing-live-simulated.csv");
            Files.writeString(simCsv, simulated.csv(), StandardCharsets.UTF_8);
            wrote += " and " + simCsv;
        }
        o.println();
        o.println(wrote);
        return errors == 0 ? 0 : 1;
    }

    private List<SimulatedVllm> startFleet() throws IOException {
        List<SimulatedVllm> started = new ArrayList<>();
        try {
            for (int i = 0; i < specs().size(); i++) {
                DemoFleet.Spec spec = specs().get(i);
                started.add(SimulatedVllm.start(SimConfig.builder()
                        .models(spec.models())
                        .maxNumSeqs(spec.maxNumSeqs())
                        .serviceModel(spec.serviceModel())
                        .kvCacheBlocks(1 << 20)
                        .prefixCache(chat())
                        .prefixCacheBlocks(chat() ? CacheRoutingBenchmark.CACHE_BLOCKS : 0)
                        .sharedPrefill(chat())
                        .stepMs(FleetSimulation.STEP_MS)
                        .timeScale(timeScale)
                        .seed(seed + i)
                        .build()));
            }
        } catch (IOException | RuntimeException e) {
            started.forEach(SimulatedVllm::close);
            throw e;
        }
        return started;
    }

    private RouterConfig routerConfig(List<SimulatedVllm> fleet, String strategy) {
        RouterConfigBuilder b = RouterConfig.builder()
                .strategy(strategy)
                .metricsInterval(Duration.ofMillis(Math.max(10, Math.round(metricsIntervalSeconds * 1000 / timeScale))))
                .requestTimeout(Duration.ofMinutes(10));
        for (int i = 0; i < fleet.size(); i++) {
            DemoFleet.Spec spec = specs().get(i);
            b.server(new ServerConfig(fleet.get(i).baseUrl(), spec.maxNumSeqs(), spec.models(), null));
        }
        return b.build();
    }

    /** The figures of one strategy at one load, and how many requests failed. */
    private record Run(RunResult result, long errors) {
    }

    /** One request's timings, nanoTime; -1 when it failed. */
    private record Timing(long firstEventNanos, long endNanos) {
        static final Timing FAILED = new Timing(-1, -1);
    }

    /** A request and its body. */
    private record Req(Workload.Request request, byte[] body) {
        double arrivalMs() {
            return request.arrivalMs();
        }
    }

    /** The workload's requests at {@code rps}, with their bodies. */
    private List<Req> requests(double rps, double durationMs, long s) {
        List<Req> out = new ArrayList<>();
        if (chat()) {
            for (ChatWorkload.Turn t : ChatWorkload.turns(CacheRoutingBenchmark.CHAT, rps, durationMs, s)) {
                out.add(new Req(t.request(), chatBody(t)));
            }
        } else {
            for (Workload.Request r : Workload.generate(rps, durationMs, s)) {
                out.add(new Req(r, body(r)));
            }
        }
        return out;
    }

    /** A streaming chat completion with the turn's messages, its conversation as the session header's value. */
    /** A streaming chat completion with the turn's messages, every earlier answer as the workload's stand-in text. */
    static byte[] chatBody(ChatWorkload.Turn t) {
        return chatBody(t, List.of(), new AtomicInteger());
    }

    /**
     * A streaming chat completion with the turn's messages: the system prompt and questions as the
     * workload's texts, each earlier answer as it came back ({@code earlier}, complete; a failed
     * one as the workload's stand-in text, counted in {@code substituted}; none given: every answer
     * as its stand-in).
     */
    static byte[] chatBody(ChatWorkload.Turn t, List<CompletableFuture<String>> earlier, AtomicInteger substituted) {
        StringBuilder b = new StringBuilder(t.request().promptTokens() * 4 + 256);
        b.append("{\"model\":\"").append(DemoFleet.MODEL).append("\",\"stream\":true,\"max_tokens\":")
                .append(t.request().outputTokens()).append(",\"messages\":[");
        int answer = 0;
        String sep = "";
        for (long[] seg : t.segments()) {
            String text = null;
            if (seg[2] == 2 && answer < earlier.size()) {
                text = earlier.get(answer++).getNow(null);
                if (text == null) {
                    substituted.incrementAndGet();
                }
            }
            if (text == null) {
                text = ChatWorkload.segmentText(seg[0], (int) seg[1]);
            }
            b.append(sep).append("{\"role\":\"").append(ChatWorkload.ROLES.get((int) seg[2])).append("\",\"content\":");
            b.append('"').append(JSON_STRINGS.quoteAsString(text)).append("\"}");
            sep = ",";
        }
        return b.append("]}").toString().getBytes(StandardCharsets.UTF_8);
    }

    private Run run(HttpClient client, URI target, VllmRouter router, List<SimulatedVllm> fleet, List<Req> workload,
                    String strategy, double load, double rps) throws InterruptedException {
        long[] before = totals(router);
        long hitsBefore = 0;
        long queriesBefore = 0;
        for (SimulatedVllm sim : fleet) {
            hitsBefore += sim.prefixCacheHits();
            queriesBefore += sim.prefixCacheQueries();
        }
        List<CompletableFuture<Timing>> futures = new ArrayList<>(workload.size());
        long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
        for (Req r : workload) {
            long at = start + (long) (r.arrivalMs() / timeScale * 1e6);
            long wait;
            while ((wait = at - System.nanoTime()) > 0) {
                LockSupport.parkNanos(wait);
            }
            HttpRequest.Builder rb = HttpRequest.newBuilder(target).header("Content-Type", "application/json")
                    .timeout(Duration.ofMinutes(10)).POST(HttpRequest.BodyPublishers.ofByteArray(r.body()));
            if (r.request().session() != null) {
                rb.header("X-Session-Id", r.request().session());
            }
            HttpRequest req = rb.build();
            futures.add(client.sendAsync(req, SseLines.handler()).handle((resp, err) -> {
                if (err != null || resp.statusCode() != 200 || !resp.body().done()) {
                    return Timing.FAILED;
                }
                return new Timing(resp.body().firstEventNanos(), resp.body().lastEventNanos());
            }));
        }
        try {
            CompletableFuture.allOf(futures.toArray(new CompletableFuture<?>[0])).get(15, TimeUnit.MINUTES);
        } catch (ExecutionException | TimeoutException e) {
            // counted below as unfinished
        }
        long[] after = totals(router);
        double durationMs = durationSeconds * 1000;
        double warmupMs = durationMs * 0.1;
        double[] e2e = new double[workload.size()];
        double[] ttft = new double[workload.size()];
        int measured = 0;
        int unfinished = 0;
        int finishedInWindow = 0;
        long errors = 0;
        for (int k = 0; k < workload.size(); k++) {
            Req r = workload.get(k);
            Timing t = futures.get(k).getNow(Timing.FAILED);
            if (t == Timing.FAILED) {
                errors++;
            } else if (simMs(t.endNanos - start) <= durationMs) {
                finishedInWindow++;
            }
            if (r.arrivalMs() < warmupMs) {
                continue;
            }
            if (t == Timing.FAILED) {
                unfinished++;
                continue;
            }
            e2e[measured] = simMs(t.endNanos - start) - r.arrivalMs();
            ttft[measured] = simMs(t.firstEventNanos - start) - r.arrivalMs();
            measured++;
        }
        e2e = Arrays.copyOf(e2e, measured);
        ttft = Arrays.copyOf(ttft, measured);
        Arrays.sort(e2e);
        Arrays.sort(ttft);
        long sent = 0;
        for (int i = 0; i < after.length; i++) {
            sent += after[i] - before[i];
        }
        double[] share = new double[after.length];
        for (int i = 0; i < after.length; i++) {
            share[i] = sent == 0 ? 0 : (after[i] - before[i]) / (double) sent;
        }
        long hits = -hitsBefore;
        long queries = -queriesBefore;
        for (SimulatedVllm sim : fleet) {
            hits += sim.prefixCacheHits();
            queries += sim.prefixCacheQueries();
        }
        RunResult result = new RunResult(strategy, load, rps, measured + unfinished, unfinished, FleetSimulation.mean(e2e),
                FleetSimulation.percentile(e2e, 0.50), FleetSimulation.percentile(e2e, 0.99), FleetSimulation.mean(ttft), FleetSimulation.percentile(ttft, 0.99),
                finishedInWindow / (durationMs / 1000), share, FleetSimulation.percentile(ttft, 0.50),
                FleetSimulation.percentile(ttft, 0.90), queries == 0 ? Double.NaN : hits / (double) queries);
        return new Run(result, errors);
    }

    private double simMs(long wallNanos) {
        return wallNanos / 1e6 * timeScale;
    }

    /** Requests sent to each backend so far (attempts), in configuration order. */
    private static long[] totals(VllmRouter router) {
        List<BackendStats> servers = router.stats().servers();
        long[] t = new long[servers.size()];
        for (int i = 0; i < t.length; i++) {
            t[i] = servers.get(i).requests().total();
        }
        return t;
    }

    /**
     * A streaming chat completion whose prompt the simulator counts as exactly
     * {@code promptTokens} tokens (it counts characters / 4 of {@code "user: " + content + "\n"}).
     */
    static byte[] body(Workload.Request r) {
        int chars = Math.max(1, 4 * r.promptTokens() - 7);
        StringBuilder b = new StringBuilder(chars + 160);
        b.append("{\"model\":\"").append(DemoFleet.MODEL).append("\",\"stream\":true,\"max_tokens\":").append(r.outputTokens())
                .append(",\"messages\":[{\"role\":\"user\",\"content\":\"");
        String id = "req" + r.id() + " ";
        for (int i = 0; i < chars; i++) {
            b.append(i < id.length() ? id.charAt(i) : (char) ('a' + (i * 7 + r.id()) % 26));
        }
        b.append("\"}]}");
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Waits until every backend has been scraped once, so every strategy starts with figures. */
    static void awaitReady(HttpClient client, URI target, VllmRouter router) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            boolean ready = true;
            for (BackendStats s : router.stats().servers()) {
                if (!s.status() || s.detailedMetrics() == null || s.detailedMetrics().ageMillis() < 0) {
                    ready = false;
                }
            }
            if (ready) {
                return;
            }
            Thread.sleep(50); // polling a readiness that has no event to wait on
        }
        throw new IOException("the router did not scrape every backend within 30 s: " + router.stats());
    }

    /** Waits until no simulator has anything running or waiting. */
    static void awaitIdle(List<SimulatedVllm> fleet) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            boolean idle = true;
            for (SimulatedVllm s : fleet) {
                if (s.running() + s.waiting() > 0) {
                    idle = false;
                }
            }
            if (idle) {
                return;
            }
            Thread.sleep(20); // polling: the simulator has no idle event
        }
    }

    public static void main(String[] args) {
        io.vllmrouter.examples.server.JvmSettings.apply();
        System.exit(new CommandLine(new LiveRoutingBenchmark()).execute(args));
    }
}
