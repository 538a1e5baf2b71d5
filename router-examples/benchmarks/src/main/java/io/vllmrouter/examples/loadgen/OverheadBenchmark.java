package io.vllmrouter.examples.loadgen;

import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.core.VllmRouters;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.examples.server.ProxyMetrics;
import io.vllmrouter.examples.server.ProxyOptions;
import io.vllmrouter.examples.server.ProxyServer;
import io.vllmrouter.examples.sim.SimConfig;
import io.vllmrouter.examples.sim.SimulatedVllm;
import org.HdrHistogram.Histogram;
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
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * What the router adds: a closed loop of {@code --concurrency} clients sends chat completions,
 * plain and streaming, once straight to a fast simulated vLLM and once through the router and its
 * proxy in front of the same simulator, and compares throughput, latency percentiles and, for
 * streams, the time to the first event and the gaps between events. Simulator, router, proxy and
 * load generator share one JVM on 127.0.0.1, so they also share its cores: the router's figures
 * include the CPU the extra hop takes from everyone else.
 *
 * <pre>{@code
 * java -cp router-examples/target/vllm-router.jar io.vllmrouter.examples.loadgen.OverheadBenchmark --out target/bench
 * }</pre>
 *
 * <p>Prints a table and the targets with PASS/MISS, and writes {@code overhead.csv} and
 * {@code overhead.md} under {@code --out}.
 */
@Command(name = "overhead-benchmark", mixinStandardHelpOptions = true,
        description = "Router overhead: direct to a simulated vLLM vs through router + proxy, on loopback.")
public final class OverheadBenchmark implements Callable<Integer> {

    static final String MODEL = "bench-model";

    /** Router throughput over direct throughput, at least. */
    static final double TARGET_THROUGHPUT_RATIO = 0.35;
    /** Added median latency of a plain completion, below, ms. */
    static final double TARGET_ADDED_P50_MS = 1.0;
    /** Added p99 latency of a plain completion, below, ms. */
    static final double TARGET_ADDED_P99_MS = 5.0;
    /** Added median time to first event of a stream, below, ms. */
    static final double TARGET_ADDED_TTFT_MS = 2.0;

    @Option(names = "--concurrency", defaultValue = "64", description = "Clients in the closed loop (default: ${DEFAULT-VALUE}).")
    int concurrency;

    @Option(names = "--warmup", defaultValue = "5", description = "Warm-up per phase, s (default: ${DEFAULT-VALUE}).")
    double warmupSeconds;

    @Option(names = "--duration", defaultValue = "15", description = "Measured window per phase, s (default: ${DEFAULT-VALUE}).")
    double durationSeconds;

    @Option(names = "--rounds", defaultValue = "1",
            description = "Rounds; each runs direct and router once per mode, the order alternating (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--output-tokens", defaultValue = "16", description = "Tokens per answer (default: ${DEFAULT-VALUE}).")
    int outputTokens;

    @Option(names = "--modes", split = ",", defaultValue = "plain,stream",
            description = "plain, stream or both (default: ${DEFAULT-VALUE}).")
    List<String> modes;

    @Option(names = "--router-only", description = "Skip the direct phases (for profiling the router; no comparison).")
    boolean routerOnly;

    @Option(names = "--out", defaultValue = "target/bench", description = "Output directory (default: ${DEFAULT-VALUE}).")
    Path out;

    /** Direct and router figures of one mode, every round merged. */
    record Pair(String mode, LoadGenerator.Result direct, LoadGenerator.Result router) {

        double throughputRatio() {
            return router.throughput() / direct.throughput();
        }

        double added(Histogram direct, Histogram router, double percentile) {
            return LoadGenerator.Result.ms(router, percentile) - LoadGenerator.Result.ms(direct, percentile);
        }
    }

    /** One target and whether it was met. */
    record Target(String name, String measured, boolean met) {
    }

    @Override
    public Integer call() throws Exception {
        BenchSupport.setup();
        if (concurrency < 1 || rounds < 1 || !(durationSeconds > 0) || !(warmupSeconds >= 0) || outputTokens < 1) {
            System.err.println("overhead-benchmark: --concurrency, --rounds, --duration and --output-tokens must be > 0, --warmup >= 0");
            return 2;
        }
        for (String m : modes) {
            if (!m.equals("plain") && !m.equals("stream")) {
                System.err.println("overhead-benchmark: --modes: " + m + " (expected: plain, stream)");
                return 2;
            }
        }
        PrintStream o = System.out;
        String loadBefore = BenchSupport.loadAverage();
        SimConfig simConfig = simConfig(concurrency, outputTokens);
        ProxyMetrics metrics = new ProxyMetrics();
        try (SimulatedVllm sim = SimulatedVllm.start(simConfig);
             VllmRouter router = VllmRouters.builder().config(routerConfig(sim.baseUrl(), simConfig.maxNumSeqs()))
                     .listener(metrics).build();
             ProxyServer proxy = ProxyServer.start(router, ProxyOptions.builder().host("127.0.0.1").port(0)
                     .metrics(metrics).grace(Duration.ZERO).build())) {
            URI direct = URI.create(sim.baseUrl() + "/v1/chat/completions");
            URI routed = URI.create("http://127.0.0.1:" + proxy.port() + "/v1/chat/completions");
            awaitReady(routed);
            o.println(describe(simConfig));
            o.println();
            Duration warmup = Duration.ofMillis(Math.round(warmupSeconds * 1000));
            Duration duration = Duration.ofMillis(Math.round(durationSeconds * 1000));
            List<Pair> pairs = new ArrayList<>();
            for (int m = 0; m < modes.size(); m++) {
                boolean stream = modes.get(m).equals("stream");
                byte[] body = body(stream);
                List<LoadGenerator.Result> d = new ArrayList<>();
                List<LoadGenerator.Result> r = new ArrayList<>();
                for (int round = 0; round < rounds; round++) {
                    boolean directFirst = (round + m) % 2 == 0;
                    for (int k = 0; k < 2; k++) {
                        boolean isDirect = (k == 0) == directFirst;
                        if (isDirect && routerOnly) {
                            continue;
                        }
                        String label = modes.get(m) + "-" + (isDirect ? "direct" : "router");
                        o.printf(Locale.ROOT, "running %s (round %d): %d clients, %.0f s warm-up + %.0f s measured ...%n",
                                label, round + 1, concurrency, warmupSeconds, durationSeconds);
                        LoadGenerator.Result res = runPhase(label, isDirect ? direct : routed, body, stream, warmup, duration);
                        o.printf(Locale.ROOT, "  %.0f req/s, p50 %.3f ms, p99 %.3f ms, errors %d%n", res.throughput(),
                                LoadGenerator.Result.ms(res.latency(), 50), LoadGenerator.Result.ms(res.latency(), 99), res.errors());
                        (isDirect ? d : r).add(res);
                    }
                }
                if (!routerOnly) {
                    pairs.add(new Pair(modes.get(m), merge(modes.get(m) + "-direct", d), merge(modes.get(m) + "-router", r)));
                }
            }
            if (routerOnly) {
                return 0;
            }
            String loadAfter = BenchSupport.loadAverage();
            List<Target> targets = targets(pairs);
            String table = table(pairs);
            o.println();
            o.print(table);
            o.println();
            o.print(targetsText(targets));
            o.println("load average before " + loadBefore + ", after " + loadAfter);
            Files.createDirectories(out);
            Path csv = out.resolve("overhead.csv");
            Path md = out.resolve("overhead.md");
            Files.writeString(csv, csv(pairs), StandardCharsets.UTF_8);
            Files.writeString(md, markdown(simConfig, pairs, targets, loadBefore, loadAfter), StandardCharsets.UTF_8);
            o.println("wrote " + csv + " and " + md);
            long errors = pairs.stream().mapToLong(p -> p.direct.errors() + p.router.errors()).sum();
            if (errors > 0) {
                System.err.println("overhead-benchmark: " + errors + " requests failed");
                return 1;
            }
            return 0;
        }
    }

    /**
     * A simulator fast enough that it is never the bottleneck: prefill 0.5 ms, 0.2 ms per token
     * whatever the batch, a 0.5 ms scheduler step, and 4 batch slots per client so nothing queues.
     */
    static SimConfig simConfig(int concurrency, int outputTokens) {
        return SimConfig.builder()
                .models(MODEL)
                .maxNumSeqs(Math.max(256, 4 * concurrency))
                .ttftBaseMs(0.5)
                .ttftPerPromptTokenMs(0)
                .tpotBaseMs(0.2)
                .tpotBatchAlpha(0)
                .defaultOutputTokens(outputTokens)
                .stepMs(0.5)
                .timeScale(1)
                .seed(1)
                .build();
    }

    /** One backend; capacity as large as the simulator's batch; everything else the defaults. */
    static RouterConfig routerConfig(URI backend, int capacity) {
        return RouterConfig.builder()
                .server(new ServerConfig(backend, capacity, List.of(MODEL), null))
                .build();
    }

    static byte[] body(boolean stream) {
        return ("{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Say something short.\"}]"
                + (stream ? ",\"stream\":true" : "") + "}").getBytes(StandardCharsets.UTF_8);
    }

    private LoadGenerator.Result runPhase(String label, URI target, byte[] body, boolean stream, Duration warmup,
                                          Duration duration) throws InterruptedException {
        ExecutorService executor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "loadgen-client");
            t.setDaemon(true);
            return t;
        });
        try {
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(executor).build();
            return LoadGenerator.run(label, client, target, body, stream, concurrency, warmup, duration);
        } finally {
            executor.shutdownNow();
        }
    }

    /** Waits until a request through the proxy succeeds (the router checks the backend at start). */
    private static void awaitReady(URI routed) throws IOException, InterruptedException {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpRequest req = HttpRequest.newBuilder(routed).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body(false))).timeout(Duration.ofSeconds(10)).build();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        int status = 0;
        while (System.nanoTime() < deadline) {
            status = client.send(req, HttpResponse.BodyHandlers.discarding()).statusCode();
            if (status == 200) {
                return;
            }
            Thread.sleep(100); // polling a readiness that has no event to wait on
        }
        throw new IOException("the router did not answer 200 within 30 s (last status " + status + ")");
    }

    static LoadGenerator.Result merge(String label, List<LoadGenerator.Result> results) {
        Histogram latency = null;
        Histogram ttfb = null;
        Histogram first = null;
        Histogram gap = null;
        long requests = 0;
        long errors = 0;
        long events = 0;
        double seconds = 0;
        for (LoadGenerator.Result r : results) {
            if (latency == null) {
                latency = r.latency().copy();
                ttfb = r.ttfb().copy();
                first = r.firstEvent().copy();
                gap = r.eventGap().copy();
            } else {
                latency.add(r.latency());
                ttfb.add(r.ttfb());
                first.add(r.firstEvent());
                gap.add(r.eventGap());
            }
            requests += r.requests();
            errors += r.errors();
            events += r.events();
            seconds += r.seconds();
        }
        return new LoadGenerator.Result(label, requests, errors, seconds, latency, ttfb, first, gap, events);
    }

    static List<Target> targets(List<Pair> pairs) {
        List<Target> t = new ArrayList<>();
        for (Pair p : pairs) {
            double ratio = p.throughputRatio();
            t.add(new Target(p.mode + ": router throughput >= " + TARGET_THROUGHPUT_RATIO + " x direct",
                    String.format(Locale.ROOT, "%.3f x", ratio), ratio >= TARGET_THROUGHPUT_RATIO));
            if (p.mode.equals("plain")) {
                double a50 = p.added(p.direct.latency(), p.router.latency(), 50);
                double a99 = p.added(p.direct.latency(), p.router.latency(), 99);
                t.add(new Target("plain: added p50 latency < " + fmt(TARGET_ADDED_P50_MS) + " ms",
                        String.format(Locale.ROOT, "%+.3f ms", a50), a50 < TARGET_ADDED_P50_MS));
                t.add(new Target("plain: added p99 latency < " + fmt(TARGET_ADDED_P99_MS) + " ms",
                        String.format(Locale.ROOT, "%+.3f ms", a99), a99 < TARGET_ADDED_P99_MS));
            } else {
                double a50 = p.added(p.direct.firstEvent(), p.router.firstEvent(), 50);
                double a99 = p.added(p.direct.firstEvent(), p.router.firstEvent(), 99);
                t.add(new Target("stream: added time to first event (p50) < " + fmt(TARGET_ADDED_TTFT_MS) + " ms",
                        String.format(Locale.ROOT, "%+.3f ms (p99 %+.3f ms)", a50, a99), a50 < TARGET_ADDED_TTFT_MS));
            }
        }
        return t;
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.valueOf(v);
    }

    static String table(List<Pair> pairs) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%-6s %-7s %9s %8s %7s %8s %8s %8s %8s | %9s %9s | %8s %8s %8s%n",
                "mode", "path", "requests", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms",
                "ttfe p50", "ttfe p99", "gap p50", "gap p90", "gap p99"));
        for (Pair p : pairs) {
            row(b, p.mode, "direct", p.direct);
            row(b, p.mode, "router", p.router);
            b.append(String.format(Locale.ROOT, "%-6s %-7s %9s %8s %6.0f%% %+8.3f %+8.3f %+8.3f %+8.3f | %+9.3f %+9.3f | %+8.3f %+8.3f %+8.3f%n",
                    p.mode, "added", "", "", p.throughputRatio() * 100,
                    p.added(p.direct.latency(), p.router.latency(), 50), p.added(p.direct.latency(), p.router.latency(), 90),
                    p.added(p.direct.latency(), p.router.latency(), 99), p.added(p.direct.latency(), p.router.latency(), 99.9),
                    p.added(p.direct.firstEvent(), p.router.firstEvent(), 50), p.added(p.direct.firstEvent(), p.router.firstEvent(), 99),
                    p.added(p.direct.eventGap(), p.router.eventGap(), 50), p.added(p.direct.eventGap(), p.router.eventGap(), 90),
                    p.added(p.direct.eventGap(), p.router.eventGap(), 99)));
        }
        b.append("(added row: req/s column is router/direct throughput; ttfe = time to first SSE event; gap = between SSE events; ms)\n");
        return b.toString();
    }

    private static void row(StringBuilder b, String mode, String path, LoadGenerator.Result r) {
        b.append(String.format(Locale.ROOT, "%-6s %-7s %9d %8d %7.0f %8.3f %8.3f %8.3f %8.3f | %9.3f %9.3f | %8.3f %8.3f %8.3f%n",
                mode, path, r.requests(), r.errors(), r.throughput(),
                LoadGenerator.Result.ms(r.latency(), 50), LoadGenerator.Result.ms(r.latency(), 90),
                LoadGenerator.Result.ms(r.latency(), 99), LoadGenerator.Result.ms(r.latency(), 99.9),
                LoadGenerator.Result.ms(r.firstEvent(), 50), LoadGenerator.Result.ms(r.firstEvent(), 99),
                LoadGenerator.Result.ms(r.eventGap(), 50), LoadGenerator.Result.ms(r.eventGap(), 90),
                LoadGenerator.Result.ms(r.eventGap(), 99)));
    }

    static String targetsText(List<Target> targets) {
        StringBuilder b = new StringBuilder("Targets:\n");
        for (Target t : targets) {
            b.append(String.format(Locale.ROOT, "  %-4s %-55s measured %s%n", t.met ? "PASS" : "MISS", t.name, t.measured));
        }
        return b.toString();
    }

    static String csv(List<Pair> pairs) {
        StringBuilder b = new StringBuilder("mode,path,requests,errors,seconds,throughput_rps,p50_ms,p90_ms,p99_ms,p999_ms,"
                + "ttfb_p50_ms,first_event_p50_ms,first_event_p99_ms,gap_p50_ms,gap_p90_ms,gap_p99_ms,events\n");
        for (Pair p : pairs) {
            for (LoadGenerator.Result r : List.of(p.direct, p.router)) {
                b.append(String.format(Locale.ROOT, "%s,%s,%d,%d,%.1f,%.1f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%d%n",
                        p.mode, r == p.direct ? "direct" : "router", r.requests(), r.errors(), r.seconds(), r.throughput(),
                        LoadGenerator.Result.ms(r.latency(), 50), LoadGenerator.Result.ms(r.latency(), 90),
                        LoadGenerator.Result.ms(r.latency(), 99), LoadGenerator.Result.ms(r.latency(), 99.9),
                        LoadGenerator.Result.ms(r.ttfb(), 50), LoadGenerator.Result.ms(r.firstEvent(), 50),
                        LoadGenerator.Result.ms(r.firstEvent(), 99), LoadGenerator.Result.ms(r.eventGap(), 50),
                        LoadGenerator.Result.ms(r.eventGap(), 90), LoadGenerator.Result.ms(r.eventGap(), 99), r.events()));
            }
        }
        return b.toString().replace("NaN", "");
    }

    private String describe(SimConfig c) {
        return String.format(Locale.ROOT, "Router overhead on loopback. %s%n"
                        + "One JVM holds the simulator, the router + proxy and the load generator (all on 127.0.0.1, sharing the cores).%n"
                        + "Simulator: max_num_seqs=%d, ttft=%.1f ms + 0 per prompt token, tpot=%.1f ms (alpha 0), %d output tokens, step %.1f ms, time scale 1.%n"
                        + "Router: defaults (strategy %s, metrics every %d s, active health checks), one backend with capacity %d; "
                        + "proxy on %s threads; logging at WARN.%n"
                        + "Load: closed loop, %d clients, %.0f s warm-up + %.0f s measured per phase, %d round(s), order alternating.",
                BenchSupport.machine(), c.maxNumSeqs(), c.serviceModel().ttftBaseMs(), c.serviceModel().tpotBaseMs(),
                c.defaultOutputTokens(), c.stepMs(), RouterConfig.DEFAULT_STRATEGY, RouterConfig.DEFAULT_METRICS_INTERVAL.toSeconds(),
                c.maxNumSeqs(), proxyThreads(), concurrency, warmupSeconds, durationSeconds, rounds);
    }

    private static String proxyThreads() {
        boolean off = "false".equalsIgnoreCase(System.getProperty("vllmrouter.http.virtualThreads"));
        return BenchSupport.virtualThreads() && !off ? "virtual" : "platform";
    }

    private String markdown(SimConfig c, List<Pair> pairs, List<Target> targets, String loadBefore, String loadAfter) {
        StringBuilder b = new StringBuilder("# Router overhead\n\n");
        b.append(describe(c).replace("\n", "\n\n")).append("\n\nLoad average before ").append(loadBefore)
                .append(", after ").append(loadAfter).append(".\n\n");
        b.append("| mode | path | requests | errors | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | first event p50 ms | first event p99 ms | gap p50 ms | gap p90 ms | gap p99 ms |\n");
        b.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Pair p : pairs) {
            for (LoadGenerator.Result r : List.of(p.direct, p.router)) {
                b.append(String.format(Locale.ROOT, "| %s | %s | %d | %d | %.0f | %.3f | %.3f | %.3f | %.3f | %s | %s | %s | %s | %s |%n",
                        p.mode, r == p.direct ? "direct" : "router", r.requests(), r.errors(), r.throughput(),
                        LoadGenerator.Result.ms(r.latency(), 50), LoadGenerator.Result.ms(r.latency(), 90),
                        LoadGenerator.Result.ms(r.latency(), 99), LoadGenerator.Result.ms(r.latency(), 99.9),
                        md(r.firstEvent(), 50), md(r.firstEvent(), 99), md(r.eventGap(), 50), md(r.eventGap(), 90), md(r.eventGap(), 99)));
            }
        }
        b.append("\n| target | measured | result |\n|---|---|---|\n");
        for (Target t : targets) {
            b.append("| ").append(t.name).append(" | ").append(t.measured).append(" | ").append(t.met ? "PASS" : "MISS").append(" |\n");
        }
        return b.toString();
    }

    private static String md(Histogram h, double p) {
        double v = LoadGenerator.Result.ms(h, p);
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%.3f", v);
    }

    public static void main(String[] args) {
        io.vllmrouter.examples.server.JvmSettings.apply();
        System.exit(new CommandLine(new OverheadBenchmark()).execute(args));
    }
}
