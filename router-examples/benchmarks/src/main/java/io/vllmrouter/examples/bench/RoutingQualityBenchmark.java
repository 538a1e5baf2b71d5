package io.vllmrouter.examples.bench;

import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.BalancingStrategyProvider;
import io.vllmrouter.examples.sim.DemoFleet;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

/**
 * Routing quality in simulated time: the real strategies (found with {@link ServiceLoader}) route an
 * open-loop Poisson load over {@link DemoFleet#SPECS} (3 servers, capacities 3, 5 and 4, slow, fast
 * and medium), at 50 %, 80 % and 95 % of the fleet's capacity, seeing load as stale as a real
 * scrape interval. Prints a table and writes {@code routing-quality.csv} and
 * {@code routing-quality-p99.png} under {@code --out}. Deterministic: the same seed gives the same
 * files, byte for byte; a run takes seconds.
 *
 * <pre>{@code
 * java -cp router-examples/target/vllm-router.jar io.vllmrouter.examples.bench.RoutingQualityBenchmark --out target/bench
 * }</pre>
 */
@Command(name = "routing-benchmark", mixinStandardHelpOptions = true,
        description = "Routing-quality benchmark in simulated time (deterministic discrete-event simulation).")
public final class RoutingQualityBenchmark implements Callable<Integer> {

    public static final List<String> DEFAULT_STRATEGIES = List.of("weighted-score", "least-loaded", "round-robin", "latency-aware");
    public static final double[] LOADS = {0.50, 0.80, 0.95};

    @Option(names = "--out", defaultValue = "target/bench", description = "Output directory (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--seed", defaultValue = "42", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--duration", defaultValue = "600", description = "Arrival window in simulated seconds (default: ${DEFAULT-VALUE}).")
    double durationSeconds;

    @Option(names = "--metrics-interval", defaultValue = "2", description = "Simulated scrape interval, s (default: ${DEFAULT-VALUE}).")
    double metricsIntervalSeconds;

    @Option(names = "--strategies", split = ",", description = "Strategy names (default: weighted-score,least-loaded,round-robin,latency-aware).")
    List<String> strategies;

    /** Settings of one benchmark run. */
    public record Settings(long seed, double durationSeconds, double metricsIntervalSeconds) {
        public Settings {
            if (!(durationSeconds >= 10)) {
                throw new IllegalArgumentException("duration: " + durationSeconds + " (expected: >= 10 simulated seconds)");
            }
            if (!(metricsIntervalSeconds > 0)) {
                throw new IllegalArgumentException("metrics_interval: " + metricsIntervalSeconds + " (expected: > 0)");
            }
        }
    }

    /** The results of every strategy at every load, and the fleet capacity the loads refer to. */
    public record Report(double capacityRps, List<RunResult> results) {

        /** The result for {@code strategy} at {@code load}, or null. */
        public RunResult find(String strategy, double load) {
            for (RunResult r : results) {
                if (r.strategy().equals(strategy) && Math.abs(r.load() - load) < 1e-9) {
                    return r;
                }
            }
            return null;
        }

        public String csv() {
            StringBuilder b = new StringBuilder(RunResult.CSV_HEADER);
            for (DemoFleet.Spec s : DemoFleet.SPECS) {
                b.append(",share_").append(s.name());
            }
            b.append('\n');
            for (RunResult r : results) {
                b.append(r.csvRow()).append('\n');
            }
            return b.toString();
        }

        public String table() {
            StringBuilder b = new StringBuilder();
            b.append(String.format(Locale.ROOT, "%-15s %5s %7s %6s %9s %9s %9s %10s %10s %8s  %s%n", "strategy", "load",
                    "rps", "reqs", "mean s", "p50 s", "p99 s", "ttft avg s", "ttft p99 s", "thru/s", shareHeader()));
            for (RunResult r : results) {
                StringBuilder share = new StringBuilder();
                for (double s : r.share()) {
                    share.append(String.format(Locale.ROOT, "%4.0f%% ", s * 100));
                }
                b.append(String.format(Locale.ROOT, "%-15s %4.0f%% %7.3f %6d %9.2f %9.2f %9.2f %10.2f %10.2f %8.3f  %s%s%n",
                        r.strategy(), r.load() * 100, r.offeredRps(), r.requests(), r.meanMs() / 1000, r.p50Ms() / 1000,
                        r.p99Ms() / 1000, r.ttftMeanMs() / 1000, r.ttftP99Ms() / 1000, r.throughputRps(), share.toString().trim(),
                        r.unfinished() > 0 ? "  (" + r.unfinished() + " unfinished)" : ""));
            }
            return b.toString();
        }

        private static String shareHeader() {
            StringBuilder b = new StringBuilder("share ");
            for (DemoFleet.Spec s : DemoFleet.SPECS) {
                b.append(s.name()).append('/');
            }
            return b.substring(0, b.length() - 1);
        }
    }

    /** Runs every strategy at every load of {@link #LOADS}; strategies in the map's order. */
    public static Report run(Settings settings, Map<String, Supplier<BalancingStrategy>> strategies) {
        List<DemoFleet.Spec> fleet = DemoFleet.SPECS;
        double capacity = FleetSimulation.capacityRps(fleet);
        double durationMs = settings.durationSeconds() * 1000;
        List<RunResult> results = new ArrayList<>();
        for (Map.Entry<String, Supplier<BalancingStrategy>> e : strategies.entrySet()) {
            for (int i = 0; i < LOADS.length; i++) {
                double rps = capacity * LOADS[i];
                // Same arrivals for every strategy at a given load (common random numbers).
                List<Workload.Request> workload = Workload.generate(rps, durationMs, settings.seed() * 31 + i);
                results.add(FleetSimulation.run(fleet, e.getKey(), e.getValue().get(), LOADS[i], rps, workload, durationMs,
                        durationMs * 0.1, settings.metricsIntervalSeconds() * 1000, settings.seed()));
            }
        }
        return new Report(capacity, results);
    }

    /**
     * The strategy providers on the class path by name (the highest priority wins a shared name), as
     * the router finds them. A provider that fails to load is skipped.
     */
    public static Map<String, BalancingStrategyProvider> providers() {
        Map<String, BalancingStrategyProvider> byName = new LinkedHashMap<>();
        var it = ServiceLoader.load(BalancingStrategyProvider.class).iterator();
        while (true) {
            BalancingStrategyProvider p;
            try {
                if (!it.hasNext()) {
                    break;
                }
                p = it.next();
            } catch (ServiceConfigurationError e) {
                continue;
            }
            BalancingStrategyProvider old = byName.get(p.name());
            if (old == null || p.priority() > old.priority()) {
                byName.put(p.name(), p);
            }
        }
        return byName;
    }

    /** Suppliers for {@code names} from {@link #providers()}; throws naming what is missing and what exists. */
    public static Map<String, Supplier<BalancingStrategy>> strategies(List<String> names) {
        Map<String, BalancingStrategyProvider> found = providers();
        Map<String, Supplier<BalancingStrategy>> out = new LinkedHashMap<>();
        for (String n : names) {
            BalancingStrategyProvider p = found.get(n);
            if (p == null) {
                throw new IllegalArgumentException("strategy: " + n + " (expected one of: " + found.keySet() + ")");
            }
            out.put(n, p::create);
        }
        return out;
    }

    @Override
    public Integer call() throws IOException {
        System.setProperty("java.awt.headless", "true");
        PrintStream o = System.out;
        Settings settings = new Settings(seed, durationSeconds, metricsIntervalSeconds);
        Map<String, Supplier<BalancingStrategy>> chosen;
        try {
            chosen = strategies(strategies == null ? DEFAULT_STRATEGIES : strategies);
        } catch (IllegalArgumentException e) {
            System.err.println("routing-benchmark: " + e.getMessage());
            return 2;
        }
        Report report = run(settings, chosen);
        o.println(describe(settings, report.capacityRps()));
        o.println();
        o.print(report.table());
        Files.createDirectories(out);
        Path csv = out.resolve("routing-quality.csv");
        Files.writeString(csv, report.csv(), StandardCharsets.UTF_8);
        Path png = out.resolve("routing-quality-p99.png");
        LatencyChart.write(report.results(), "p99 latency vs load, simulated fleet (seed " + seed + ")", png);
        o.println();
        o.println("wrote " + csv + " and " + png);
        return 0;
    }

    static String describe(Settings s, double capacityRps) {
        StringBuilder b = new StringBuilder();
        b.append("Routing quality, simulated time: seed ").append(s.seed()).append(", ")
                .append(String.format(Locale.ROOT, "%.0f", s.durationSeconds())).append(" s of arrivals per run (first 10% not measured), scrape every ")
                .append(String.format(Locale.ROOT, "%.1f", s.metricsIntervalSeconds())).append(" s\n");
        b.append("Fleet (max_num_seqs, ttft = base + per-token * prompt, tpot = base * (1 + alpha * (running - 1))):\n");
        for (DemoFleet.Spec sp : DemoFleet.SPECS) {
            var m = sp.serviceModel();
            double svc = m.serviceMs(Workload.MEAN_PROMPT_TOKENS, Workload.MEAN_OUTPUT_TOKENS, sp.maxNumSeqs());
            b.append(String.format(Locale.ROOT,
                    "  %-7s max_num_seqs=%d ttft=%.0f+%.2f/token ms tpot=%.0f ms alpha=%.2f -> mean service at full batch %.2f s, %.3f req/s%n",
                    sp.name(), sp.maxNumSeqs(), m.ttftBaseMs(), m.ttftPerPromptTokenMs(), m.tpotBaseMs(), m.tpotBatchAlpha(),
                    svc / 1000, sp.maxNumSeqs() / (svc / 1000)));
        }
        b.append(String.format(Locale.ROOT,
                "Workload: prompt 70%% U[50,500] + 30%% U[1000,3000] tokens (mean %.1f), output 60%% U[20,200] + 40%% U[200,600] (mean %.1f)%n",
                Workload.MEAN_PROMPT_TOKENS, Workload.MEAN_OUTPUT_TOKENS));
        b.append(String.format(Locale.ROOT,
                "Fleet capacity = sum(max_num_seqs / mean service time at full batch) = %.3f req/s; load = arrival rate / capacity",
                capacityRps));
        return b.toString();
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new RoutingQualityBenchmark()).execute(args));
    }
}
