package io.vllmrouter.examples.loadgen;

import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.core.VllmRouters;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.examples.sim.SimConfig;
import io.vllmrouter.examples.sim.SimulatedVllm;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What {@code tokenizer = "backend"} adds to routing a request: one fast simulated vLLM server
 * (TTFT 0.5 ms, one output token) and two routers on it, both {@code cache-aware}: one with the
 * approximate index, one with {@code index = "kv-events"} (no server publishes events, so only the
 * tokenization differs) and a {@code tokenize_timeout} long enough that every request waits for
 * its tokens. Requests go one at a time, alternating between the routers, each with a system
 * prompt of 6,000 characters of its own, so every tokenization is a {@code POST /tokenize} round
 * trip (no cache hit). Time is measured from {@code routeAsync} to the response headers.
 *
 * <pre>{@code
 * java -cp router-examples/benchmarks/target/benchmarks.jar io.vllmrouter.examples.loadgen.TokenizeOverhead
 * }</pre>
 */
@Command(name = "tokenize-overhead", mixinStandardHelpOptions = true,
        description = "Routing latency added by tokenizer = \"backend\" (POST /tokenize) for a 6,000-character prompt.")
public final class TokenizeOverhead implements Callable<Integer> {

    @Option(names = "--requests", defaultValue = "400", description = "Measured requests per router (default: ${DEFAULT-VALUE}).")
    int requests;

    @Option(names = "--warmup", defaultValue = "200", description = "Unmeasured requests per router first (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Override
    public Integer call() throws Exception {
        BenchSupport.setup();
        try (SimulatedVllm sim = SimulatedVllm.start(SimConfig.builder().models("m").ttftBaseMs(0.5)
                .ttftPerPromptTokenMs(0).tpotBaseMs(0.2).stepMs(0.5).maxNumSeqs(64).build());
             VllmRouter approximate = router(sim, Map.of());
             VllmRouter tokenizing = router(sim, Map.of("index", "kv-events", "tokenizer", "backend",
                     "tokenize_timeout", "5"))) {
            String loadBefore = BenchSupport.loadAverage();
            for (int i = 0; i < warmup; i++) {
                time(approximate, i);
                time(tokenizing, i);
            }
            long[] a = new long[requests];
            long[] t = new long[requests];
            for (int i = 0; i < requests; i++) {
                a[i] = time(approximate, warmup + i);
                t[i] = time(tokenizing, warmup + i);
            }
            Arrays.sort(a);
            Arrays.sort(t);
            System.out.println("Routing latency with and without POST /tokenize, 6,000-character prompts. " + BenchSupport.machine());
            System.out.printf(Locale.ROOT, "%-22s %8s %8s %8s%n", "router", "p50 ms", "p90 ms", "p99 ms");
            System.out.printf(Locale.ROOT, "%-22s %8.3f %8.3f %8.3f%n", "approximate", ms(a, 0.5), ms(a, 0.9), ms(a, 0.99));
            System.out.printf(Locale.ROOT, "%-22s %8.3f %8.3f %8.3f%n", "kv-events, backend", ms(t, 0.5), ms(t, 0.9), ms(t, 0.99));
            System.out.printf(Locale.ROOT, "added by /tokenize: p50 %+.3f ms, p90 %+.3f ms (%d requests each; load average %s -> %s)%n",
                    ms(t, 0.5) - ms(a, 0.5), ms(t, 0.9) - ms(a, 0.9), requests, loadBefore, BenchSupport.loadAverage());
            Long calls = tokenizing.stats().strategyStats().get("tokenizer_calls");
            System.out.println("tokenizer figures: " + tokenizing.stats().strategyStats().entrySet().stream()
                    .filter(e -> e.getKey().startsWith("tokenizer_") || e.getKey().startsWith("picks_")).toList()
                    + (calls == null ? "" : ""));
        }
        return 0;
    }

    private static VllmRouter router(SimulatedVllm sim, Map<String, String> settings) {
        return VllmRouters.builder().config(RouterConfig.builder().strategy("cache-aware")
                .strategySettings("cache-aware", settings)
                .server(new ServerConfig(sim.baseUrl(), 64, List.of("m"), null)).build()).build();
    }

    /** Nanoseconds from routeAsync to the headers of request {@code i} (a prompt of its own). */
    private static long time(VllmRouter router, int i) throws Exception {
        StringBuilder system = new StringBuilder(6100).append("Request ").append(i).append(' ').append(router.hashCode()).append(". ");
        while (system.length() < 6000) {
            system.append("The router sends each prompt where its prefix is cached. ");
        }
        system.setLength(6000);
        byte[] body = ("{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"system\",\"content\":\"" + system
                + "\"},{\"role\":\"user\",\"content\":\"hello\"}]}").getBytes(StandardCharsets.UTF_8);
        long t0 = System.nanoTime();
        try (RouterResponse r = router.routeAsync(RouterRequest.post("/v1/chat/completions", body)
                .header("Content-Type", "application/json").build()).get()) {
            long t = System.nanoTime() - t0;
            r.body().readAllBytes();
            if (r.status() != 200) {
                throw new IllegalStateException("status " + r.status());
            }
            return t;
        }
    }

    private static double ms(long[] sorted, double q) {
        return sorted[Math.min(sorted.length - 1, (int) Math.floor(q * sorted.length))] / 1e6;
    }

    public static void main(String[] args) {
        io.vllmrouter.examples.server.JvmSettings.apply();
        System.exit(new CommandLine(new TokenizeOverhead()).execute(args));
    }
}
