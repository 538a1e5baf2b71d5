package io.vllmrouter.examples.bench;

import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.examples.sim.DemoFleet;
import io.vllmrouter.examples.sim.ServiceModel;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

/**
 * Prefix-cache aware routing in simulated time: the real strategies route chat-shaped traffic over
 * simulated servers that keep a prefix cache (LRU blocks), prefill one prompt at a time on their
 * one GPU, and prefill only the uncached part of a prompt. Three workloads, each at 50 %, 80 % and
 * 95 % of the fleet's capacity:
 *
 * <ul>
 *   <li>{@code chat}: multi-turn conversations ({@link ChatWorkload#conversations}) over 12 shared
 *       system prompts of 4,000 tokens: 48,000 tokens, 1.5 times one server's prefix cache (32,768
 *       tokens) and 0.375 times the fleet's; four equal servers.</li>
 *   <li>{@code unique}: the same fleet, requests that share no prefix ({@link ChatWorkload#unique}).</li>
 *   <li>{@code mixed}: the routing-quality benchmark's mixed fleet ({@link DemoFleet#SPECS}, no prefix
 *       cache, parallel prefill) and its requests, each with a prompt of its own.</li>
 * </ul>
 *
 * Capacity is counted with no cache hit: per server the smaller of {@code max_num_seqs / service
 * time at full batch} and {@code 1 / prefill time} (one GPU) for the workload's mean prompt and
 * answer. Deterministic; a run takes seconds. With {@code -Dbench.debug=true} each run also prints
 * the strategy's own figures ({@code BalancingStrategy.stats()}) on standard error.
 *
 * <pre>{@code
 * java -cp router-examples/benchmarks/target/router-benchmarks-*.jar:... io.vllmrouter.examples.bench.CacheRoutingBenchmark --out target/bench
 * }</pre>
 */
@Command(name = "cache-routing-benchmark", mixinStandardHelpOptions = true,
        description = "Prefix-cache routing benchmark in simulated time (deterministic discrete-event simulation).")
public final class CacheRoutingBenchmark implements Callable<Integer> {

    public static final List<String> STRATEGIES = List.of("round-robin", "least-loaded", "weighted-score", "cache-aware");
    public static final double[] LOADS = {0.50, 0.80, 0.95};

    /** Four equal servers: 8 batch slots, 0.1 ms per prompt token (10,000 tokens/s of prefill), 20 ms per token. */
    public static final List<DemoFleet.Spec> CHAT_FLEET = List.of(
            new DemoFleet.Spec("gpu-0", 8, new ServiceModel(20, 0.1, 20, 0.05), List.of(DemoFleet.MODEL)),
            new DemoFleet.Spec("gpu-1", 8, new ServiceModel(20, 0.1, 20, 0.05), List.of(DemoFleet.MODEL)),
            new DemoFleet.Spec("gpu-2", 8, new ServiceModel(20, 0.1, 20, 0.05), List.of(DemoFleet.MODEL)),
            new DemoFleet.Spec("gpu-3", 8, new ServiceModel(20, 0.1, 20, 0.05), List.of(DemoFleet.MODEL)));

    /** Prefix cache of each chat server: 2,048 blocks of 16 tokens. */
    public static final int CACHE_BLOCKS = 2048;

    /** 12 system prompts of 4,000 tokens; 2 to 8 turns; 30-300 token questions; 50-400 token answers; 5-20 s apart. */
    public static final ChatWorkload.Shape CHAT = new ChatWorkload.Shape(12, 4000, 2, 8, 30, 300, 50, 400, 5_000, 20_000);

    @Option(names = "--out", defaultValue = "target/bench", description = "Output directory (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--seed", defaultValue = "42", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--duration", defaultValue = "600", description = "Arrival window in simulated seconds (default: ${DEFAULT-VALUE}).")
    double durationSeconds;

    @Option(names = "--metrics-interval", defaultValue = "2", description = "Simulated scrape interval, s (default: ${DEFAULT-VALUE}).")
    double metricsIntervalSeconds;

    @Option(names = "--strategies", split = ",", description = "Strategy names (default: round-robin,least-loaded,weighted-score,cache-aware).")
    List<String> strategies;

    /** One workload's results. */
    public record Section(String workload, double capacityRps, List<RunResult> results) {

        public RunResult find(String strategy, double load) {
            for (RunResult r : results) {
                if (r.strategy().equals(strategy) && Math.abs(r.load() - load) < 1e-9) {
                    return r;
                }
            }
            return null;
        }
    }

    /** Fleet capacity in requests per second with no cache hit (see the class comment). */
    public static double capacityRps(List<DemoFleet.Spec> fleet, double meanPrompt, double meanOutput, boolean sharedPrefill) {
        double rps = 0;
        for (DemoFleet.Spec s : fleet) {
            ServiceModel m = s.serviceModel();
            double batch = s.maxNumSeqs() / (m.serviceMs(meanPrompt, meanOutput, s.maxNumSeqs()) / 1000);
            rps += sharedPrefill ? Math.min(batch, 1000 / m.prefillMs(meanPrompt)) : batch;
        }
        return rps;
    }

    /** Runs one workload for every strategy at every load. */
    public static Section run(String workload, double durationSeconds, double metricsIntervalSeconds, long seed,
                              Map<String, Supplier<BalancingStrategy>> strategies) {
        double durationMs = durationSeconds * 1000;
        List<DemoFleet.Spec> fleet;
        FleetSimulation.Servers servers;
        double capacity;
        switch (workload) {
            case "chat" -> {
                fleet = CHAT_FLEET;
                servers = new FleetSimulation.Servers(CACHE_BLOCKS, true);
                capacity = capacityRps(fleet, CHAT.meanPromptTokens(), CHAT.meanOutputTokens(), true);
            }
            case "unique" -> {
                fleet = CHAT_FLEET;
                servers = new FleetSimulation.Servers(CACHE_BLOCKS, true);
                capacity = capacityRps(fleet, Workload.MEAN_PROMPT_TOKENS, Workload.MEAN_OUTPUT_TOKENS, true);
            }
            case "mixed" -> {
                fleet = DemoFleet.SPECS;
                servers = FleetSimulation.Servers.PLAIN;
                capacity = FleetSimulation.capacityRps(fleet);
            }
            default -> throw new IllegalArgumentException("workload: " + workload + " (expected: chat, unique or mixed)");
        }
        List<RunResult> results = new ArrayList<>();
        for (Map.Entry<String, Supplier<BalancingStrategy>> e : strategies.entrySet()) {
            for (int i = 0; i < LOADS.length; i++) {
                double rps = capacity * LOADS[i];
                long s = seed * 31 + i;
                List<Workload.Request> requests = workload.equals("chat")
                        ? ChatWorkload.conversations(CHAT, rps, durationMs, s)
                        : ChatWorkload.unique(rps, durationMs, s);
                results.add(FleetSimulation.run(fleet, servers, e.getKey(), e.getValue().get(), LOADS[i], rps, requests,
                        durationMs, durationMs * 0.1, metricsIntervalSeconds * 1000, seed));
            }
        }
        return new Section(workload, capacity, results);
    }

    public static String table(Section section) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%-15s %5s %6s %6s %8s %8s %8s %8s %8s %7s %7s  %s%n", "strategy", "load", "rps",
                "reqs", "ttft p50", "ttft p90", "ttft p99", "e2e p50", "e2e p99", "hit", "thru/s", "share per server"));
        for (RunResult r : section.results()) {
            StringBuilder share = new StringBuilder();
            for (double s : r.share()) {
                share.append(String.format(Locale.ROOT, "%3.0f%% ", s * 100));
            }
            b.append(String.format(Locale.ROOT, "%-15s %4.0f%% %6.2f %6d %8.3f %8.3f %8.3f %8.2f %8.2f %7s %7.3f  %s%s%n",
                    r.strategy(), r.load() * 100, r.offeredRps(), r.requests(), r.ttftP50Ms() / 1000, r.ttftP90Ms() / 1000,
                    r.ttftP99Ms() / 1000, r.p50Ms() / 1000, r.p99Ms() / 1000,
                    Double.isNaN(r.cacheHitRate()) ? "-" : String.format(Locale.ROOT, "%.1f%%", r.cacheHitRate() * 100),
                    r.throughputRps(), share.toString().trim(), r.unfinished() > 0 ? "  (" + r.unfinished() + " unfinished)" : ""));
        }
        return b.toString();
    }

    public static String csv(List<Section> sections) {
        StringBuilder b = new StringBuilder("workload,strategy,load,offered_rps,requests,unfinished,ttft_p50_ms,ttft_p90_ms,"
                + "ttft_p99_ms,e2e_p50_ms,e2e_p99_ms,cache_hit_rate,throughput_rps,share\n");
        for (Section s : sections) {
            for (RunResult r : s.results()) {
                StringBuilder share = new StringBuilder();
                for (double x : r.share()) {
                    share.append(share.length() == 0 ? "" : " ").append(String.format(Locale.ROOT, "%.4f", x));
                }
                b.append(String.format(Locale.ROOT, "%s,%s,%.2f,%.4f,%d,%d,%.1f,%.1f,%.1f,%.1f,%.1f,%.4f,%.4f,%s%n",
                        s.workload(), r.strategy(), r.load(), r.offeredRps(), r.requests(), r.unfinished(), r.ttftP50Ms(),
                        r.ttftP90Ms(), r.ttftP99Ms(), r.p50Ms(), r.p99Ms(), r.cacheHitRate(), r.throughputRps(), share));
            }
        }
        return b.toString();
    }

    @Override
    public Integer call() throws IOException {
        System.setProperty("java.awt.headless", "true");
        PrintStream o = System.out;
        Map<String, Supplier<BalancingStrategy>> chosen;
        try {
            chosen = RoutingQualityBenchmark.strategies(strategies == null ? STRATEGIES : strategies);
        } catch (IllegalArgumentException e) {
            System.err.println("cache-routing-benchmark: " + e.getMessage());
            return 2;
        }
        if (!(durationSeconds >= 10)) {
            System.err.println("cache-routing-benchmark: duration: " + durationSeconds + " (expected: >= 10 simulated seconds)");
            return 2;
        }
        o.printf(Locale.ROOT, "Cache-aware routing, simulated time: seed %d, %.0f s of arrivals per run (first 10%% not measured), "
                + "scrape every %.1f s%n", seed, durationSeconds, metricsIntervalSeconds);
        o.printf(Locale.ROOT, "chat: 4 servers x 8 slots, ttft = 20 + 0.1/token ms (one GPU), tpot = 20 ms x (1 + 0.05 (n - 1)), "
                + "prefix cache %d blocks (%d tokens) each%n", CACHE_BLOCKS, CACHE_BLOCKS * 16);
        o.printf(Locale.ROOT, "  conversations: %d system prompts x %d tokens, %d-%d turns, questions %d-%d, answers %d-%d tokens, "
                        + "%.0f-%.0f s apart; mean prompt %.0f tokens%n", CHAT.systemPrompts(), CHAT.systemTokens(), CHAT.minTurns(),
                CHAT.maxTurns(), CHAT.userMin(), CHAT.userMax(), CHAT.outputMin(), CHAT.outputMax(), CHAT.thinkMinMs() / 1000,
                CHAT.thinkMaxMs() / 1000, CHAT.meanPromptTokens());
        List<Section> sections = new ArrayList<>();
        for (String w : List.of("chat", "unique", "mixed")) {
            Section s = run(w, durationSeconds, metricsIntervalSeconds, seed, chosen);
            sections.add(s);
            o.printf(Locale.ROOT, "%nworkload %s: capacity %.3f req/s (no cache hits)%n", w, s.capacityRps());
            o.print(table(s));
        }
        Files.createDirectories(out);
        Path csv = out.resolve("cache-routing.csv");
        Files.writeString(csv, csv(sections), StandardCharsets.UTF_8);
        Path ttft = out.resolve("cache-routing-ttft-p50.png");
        LatencyChart.write(sections.get(0).results(), "chat, shared prefixes: median time to first token (seed " + seed + ")",
                "p50 time to first token", RunResult::ttftP50Ms, ttft);
        Path e2e = out.resolve("cache-routing-e2e-p99.png");
        LatencyChart.write(sections.get(0).results(), "chat, shared prefixes: p99 end-to-end latency (seed " + seed + ")",
                "p99 end-to-end latency", RunResult::p99Ms, e2e);
        o.println();
        o.println("wrote " + csv + ", " + ttft + " and " + e2e);
        return 0;
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new CacheRoutingBenchmark()).execute(args));
    }
}
