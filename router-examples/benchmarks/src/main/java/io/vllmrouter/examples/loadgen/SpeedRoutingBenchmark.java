package io.vllmrouter.examples.loadgen;

import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.core.VllmRouters;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.RouterConfigBuilder;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.core.metrics.PrometheusParser;
import io.vllmrouter.examples.sim.DemoFleet;
import io.vllmrouter.examples.sim.ServiceModel;
import io.vllmrouter.examples.sim.SimConfig;
import io.vllmrouter.examples.sim.SimulatedVllm;
import io.vllmrouter.examples.sim.SpeedDrift;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * Routing by speed, live on loopback: fleets of real {@link SimulatedVllm} servers that differ in
 * speed, in real time, with the real router and proxy in front (or HAProxy's {@code leastconn}),
 * open-loop Poisson arrivals of streamed chat completions with 64-token answers
 * ({@link OpenLoopRun}), every target side by side in one run.
 *
 * <ul>
 *   <li><b>mixed</b>: 2 slots at 60 ms per token, 4 at 30, 8 at 15; at 80 % of the fleet's capacity;</li>
 *   <li><b>drift</b>: the same fleet at 50 % of its capacity, whose fast server slows to half its speed
 *       (15 to 30 ms per token, over 5 s) half-way through: 81 % of the capacity left;</li>
 *   <li><b>identical</b>: three servers of 4 slots at 30 ms per token, at 80 %.</li>
 * </ul>
 *
 * Each target gets a fresh fleet, a warm-up at half the load (not measured: JIT, first scrapes, the
 * first speed samples), then the measured run. The router scrapes every 2 s and knows each server's
 * slots as {@code max_concurrent_requests}; nothing else about their speed.
 *
 * <pre>{@code
 * java -cp router-examples/benchmarks/target/benchmarks.jar io.vllmrouter.examples.loadgen.SpeedRoutingBenchmark --out target/bench
 * }</pre>
 */
@Command(name = "speed-routing-benchmark", mixinStandardHelpOptions = true,
        description = "Routing a fleet of unequal servers, live on loopback: every strategy and HAProxy leastconn, side by side.")
public final class SpeedRoutingBenchmark implements Callable<Integer> {

    /** The answer length of every request. */
    static final int TOKENS = 64;
    static final String HAPROXY = "haproxy-leastconn";

    /** A fleet: its servers, the offered load, and which server (if any) slows down half-way. */
    record Scenario(String name, List<DemoFleet.Spec> specs, double load, int slows, String description) {
        /** Requests per second the fleet serves with every slot busy: slots over one answer's service time. */
        double capacityRps() {
            double rps = 0;
            for (DemoFleet.Spec s : specs) {
                rps += s.maxNumSeqs() / (s.serviceModel().serviceMs(16, TOKENS, s.maxNumSeqs()) / 1000);
            }
            return rps;
        }
    }

    static final List<DemoFleet.Spec> MIXED = List.of(spec("slow", 2, 60), spec("medium", 4, 30), spec("fast", 8, 15));
    static final List<DemoFleet.Spec> IDENTICAL = List.of(spec("a", 4, 30), spec("b", 4, 30), spec("c", 4, 30));
    static final Map<String, Scenario> SCENARIOS = scenarios();

    private static DemoFleet.Spec spec(String name, int slots, double msPerToken) {
        // The first token one token's time after admission, every slot at the same speed whatever the batch.
        return new DemoFleet.Spec(name, slots, new ServiceModel(msPerToken, 0, msPerToken, 0), List.of(DemoFleet.MODEL));
    }

    private static Map<String, Scenario> scenarios() {
        Map<String, Scenario> m = new LinkedHashMap<>();
        m.put("mixed", new Scenario("mixed", MIXED, 0.8, -1, "2 slots at 60 ms/token, 4 at 30, 8 at 15; 80 % load"));
        m.put("drift", new Scenario("drift", MIXED, 0.5, 2,
                "the mixed fleet at 50 % load; the fast server slows to 30 ms/token half-way (81 % of what is left)"));
        m.put("identical", new Scenario("identical", IDENTICAL, 0.8, -1, "3 x 4 slots at 30 ms/token; 80 % load"));
        return m;
    }

    @Option(names = "--fleets", split = ",", defaultValue = "mixed,drift,identical",
            description = "Fleets to run: mixed, drift, identical (default: ${DEFAULT-VALUE}).")
    List<String> fleets;

    @Option(names = "--targets", split = ",",
            defaultValue = HAPROXY + ",round-robin,weighted-score,least-loaded,cache-aware,latency-aware",
            description = "Strategies, and " + HAPROXY + " (default: ${DEFAULT-VALUE}).")
    List<String> targets;

    @Option(names = "--duration", defaultValue = "60", description = "Measured seconds per run (default: ${DEFAULT-VALUE}).")
    double durationSeconds;

    @Option(names = "--warmup", defaultValue = "15", description = "Seconds at half the load before each run, not measured (default: ${DEFAULT-VALUE}).")
    double warmupSeconds;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of the arrivals (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--haproxy", description = "HAProxy executable (default: haproxy on the PATH; the target is skipped without one).")
    String haproxy;

    @Option(names = "--out", defaultValue = "target/bench", description = "Output directory (default: ${DEFAULT-VALUE}).")
    Path out;

    /** One target's result on one fleet, with each server's share of the requests. */
    record Row(String fleet, String target, OpenLoopRun.Result result, double[] share, String estimates) {
    }

    @Override
    public Integer call() throws Exception {
        BenchSupport.setup();
        for (String f : fleets) {
            if (!SCENARIOS.containsKey(f)) {
                System.err.println("speed-routing-benchmark: fleet: " + f + " (expected: one of " + SCENARIOS.keySet() + ")");
                return 2;
            }
        }
        Optional<Path> haproxyExe = HaproxyProcess.find(haproxy);
        PrintStream o = System.out;
        o.println("Routing by speed, live on loopback. " + BenchSupport.machine());
        o.printf(Locale.ROOT, "%d-token streamed answers, Poisson arrivals, %.0f s measured per run after %.0f s at half the load; seed %d.%n",
                TOKENS, durationSeconds, warmupSeconds, seed);
        if (targets.contains(HAPROXY) && haproxyExe.isEmpty()) {
            o.println("(no haproxy found: " + HAPROXY + " skipped; apt-get install -y haproxy)");
        }
        List<Row> rows = new ArrayList<>();
        long failed = 0;
        for (String f : fleets) {
            Scenario sc = SCENARIOS.get(f);
            o.printf(Locale.ROOT, "%nfleet %s: %s; capacity %.2f req/s, offered %.2f req/s%n", sc.name(), sc.description(),
                    sc.capacityRps(), sc.capacityRps() * sc.load());
            for (String target : targets) {
                if (target.equals(HAPROXY) && haproxyExe.isEmpty()) {
                    continue;
                }
                String before = BenchSupport.loadAverage();
                Row row = runOne(sc, target, haproxyExe.orElse(null));
                rows.add(row);
                failed += row.result().failed();
                o.printf(Locale.ROOT, "  %-18s mean %6.2f s  p50 %6.2f s  p99 %6.2f s  ttft p99 %6.2f s  %d requests, %d failed  (load average %s -> %s)%n",
                        target, row.result().mean(), row.result().p(0.5), row.result().p(0.99), row.result().ttftP(0.99),
                        row.result().requests(), row.result().failed(), before, BenchSupport.loadAverage());
                if (!row.estimates().isEmpty()) {
                    o.println("      router's estimate at the end: " + row.estimates());
                }
            }
        }
        o.println();
        o.print(SpeedReport.tables(rows, SCENARIOS));
        Files.createDirectories(out);
        Path csv = out.resolve("speed-routing.csv");
        Files.writeString(csv, SpeedReport.csv(rows), StandardCharsets.UTF_8);
        List<Path> charts = SpeedReport.charts(rows, out);
        o.println();
        o.println("wrote " + csv + (charts.isEmpty() ? "" : " and " + charts));
        return failed == 0 ? 0 : 1;
    }

    private Row runOne(Scenario sc, String target, Path haproxyExe) throws IOException, InterruptedException {
        List<SimulatedVllm> fleet = startFleet(sc);
        try {
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            double rps = sc.capacityRps() * sc.load();
            Measured m;
            String estimates = "";
            if (target.equals(HAPROXY)) {
                List<URI> urls = fleet.stream().map(SimulatedVllm::baseUrl).toList();
                try (HaproxyProcess h = HaproxyProcess.start(haproxyExe, urls)) {
                    m = warmAndRun(client, URI.create("http://127.0.0.1:" + h.port() + "/v1/chat/completions"), sc, fleet, rps);
                }
            } else {
                try (VllmRouter router = VllmRouters.builder().config(routerConfig(sc, fleet, target)).build();
                     ProxyServer proxy = ProxyServer.start(router, ProxyOptions.builder().host("127.0.0.1").port(0)
                             .grace(Duration.ZERO).build())) {
                    awaitScraped(router);
                    m = warmAndRun(client, URI.create("http://127.0.0.1:" + proxy.port() + "/v1/chat/completions"), sc, fleet, rps);
                    estimates = estimates(sc, router);
                }
            }
            long[] before = m.finishedBefore();
            long[] after = finished(client, fleet);
            double total = 0;
            for (int i = 0; i < after.length; i++) {
                total += after[i] - before[i];
            }
            double[] share = new double[after.length];
            for (int i = 0; i < after.length; i++) {
                share[i] = total == 0 ? 0 : (after[i] - before[i]) / total;
            }
            return new Row(sc.name(), target, m.result(), share, estimates);
        } finally {
            fleet.forEach(SimulatedVllm::close);
        }
    }

    /** A measured run and the servers' finished counts when it started. */
    private record Measured(long[] finishedBefore, OpenLoopRun.Result result) {
    }

    private Measured warmAndRun(HttpClient client, URI target, Scenario sc, List<SimulatedVllm> fleet, double rps)
            throws IOException, InterruptedException {
        if (warmupSeconds > 0) {
            OpenLoopRun.run(client, target, DemoFleet.MODEL, rps / 2, Duration.ofMillis((long) (warmupSeconds * 1000)),
                    TOKENS, seed - 1, Double.NaN, at -> { });
        }
        long[] before = finished(client, fleet);
        OpenLoopRun.Event slowDown = at -> fleet.get(sc.slows()).drift(SpeedDrift.parse("0:1,5:2"));
        return new Measured(before, OpenLoopRun.run(client, target, DemoFleet.MODEL, rps,
                Duration.ofMillis((long) (durationSeconds * 1000)), TOKENS, seed,
                sc.slows() >= 0 ? durationSeconds / 2 : Double.NaN, slowDown));
    }

    private static List<SimulatedVllm> startFleet(Scenario sc) throws IOException {
        List<SimulatedVllm> started = new ArrayList<>();
        try {
            for (int i = 0; i < sc.specs().size(); i++) {
                DemoFleet.Spec s = sc.specs().get(i);
                started.add(SimulatedVllm.start(SimConfig.builder().models(s.models()).maxNumSeqs(s.maxNumSeqs())
                        .serviceModel(s.serviceModel()).kvCacheBlocks(1 << 20).seed(i).build()));
            }
        } catch (IOException | RuntimeException e) {
            started.forEach(SimulatedVllm::close);
            throw e;
        }
        return started;
    }

    private static RouterConfig routerConfig(Scenario sc, List<SimulatedVllm> fleet, String strategy) {
        RouterConfigBuilder b = RouterConfig.builder().strategy(strategy).metricsInterval(Duration.ofSeconds(2))
                .requestTimeout(Duration.ofMinutes(10)).firstByteTimeout(Duration.ofMinutes(10));
        for (int i = 0; i < fleet.size(); i++) {
            b.server(new ServerConfig(fleet.get(i).baseUrl(), sc.specs().get(i).maxNumSeqs(), List.of(DemoFleet.MODEL), null));
        }
        return b.build();
    }

    /** Requests each server finished so far, from its /metrics ({@code vllm:request_generation_tokens_count}). */
    private static long[] finished(HttpClient client, List<SimulatedVllm> fleet) throws IOException, InterruptedException {
        long[] n = new long[fleet.size()];
        for (int i = 0; i < n.length; i++) {
            String text = client.send(HttpRequest.newBuilder(fleet.get(i).baseUrl().resolve("/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            try {
                double f = PrometheusParser.parseLoad(text).latency().finished();
                n[i] = Double.isNaN(f) ? 0 : (long) f;
            } catch (io.vllmrouter.core.metrics.MetricsFormatException e) {
                throw new IOException("simulator's /metrics did not parse: " + e.getMessage(), e);
            }
        }
        return n;
    }

    /** The router's speed estimate of each server at the end of the run. */
    private static String estimates(Scenario sc, VllmRouter router) {
        List<String> parts = new ArrayList<>();
        List<BackendStats> servers = router.stats().servers();
        for (int i = 0; i < servers.size(); i++) {
            BackendStats.SpeedStats s = servers.get(i).speed();
            parts.add(String.format(Locale.ROOT, "%s %.1f ms/token, first token %.0f ms", sc.specs().get(i).name(),
                    s.timePerOutputTokenMillis(), s.timeToFirstTokenMillis()));
        }
        return String.join("; ", parts);
    }

    /** Waits until the router has scraped every server once. */
    private static void awaitScraped(VllmRouter router) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            boolean ready = true;
            for (BackendStats s : router.stats().servers()) {
                ready &= s.status() && s.detailedMetrics() != null && s.detailedMetrics().ageMillis() >= 0;
            }
            if (ready) {
                return;
            }
            Thread.sleep(50); // polling a readiness that has no event to wait on
        }
        throw new IOException("the router did not scrape every server within 30 s: " + router.stats());
    }

    public static void main(String[] args) {
        io.vllmrouter.examples.server.JvmSettings.apply();
        System.exit(new CommandLine(new SpeedRoutingBenchmark()).execute(args));
    }
}
