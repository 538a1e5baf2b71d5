package io.vllmrouter.examples.loadgen;

import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.core.VllmRouters;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.RouterConfigBuilder;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.examples.server.ProxyOptions;
import io.vllmrouter.examples.server.EventLoops;
import io.vllmrouter.examples.server.upstream.NettyTransport;
import io.vllmrouter.examples.server.ProxyServer;
import io.vllmrouter.examples.sim.SimConfig;
import io.vllmrouter.examples.sim.SimulatedVllm;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.nio.file.Path;
import io.vllmrouter.api.RouterListener;

/**
 * Many streams at once through the proxy: {@code --streams} (2,000) streaming chat completions,
 * all sent at the same moment without waiting, through router + proxy to a fleet of simulated
 * vLLMs with batch room for all of them; every stream must end with {@code data: [DONE]}. Reports
 * how many completed and failed, the peak of the router's in-flight count and of the heap used.
 * Exits 0 when every stream completed, 1 otherwise. Meant to run with a small heap:
 *
 * <pre>{@code
 * java -Xmx256m -cp router-examples/target/vllm-router.jar io.vllmrouter.examples.loadgen.ManyStreamsRun
 * }</pre>
 *
 * <p>The client reads each stream with {@link HttpClient#sendAsync} and a line subscriber, so it
 * holds no thread per stream; neither does the proxy (Netty: one event loop per core serves every
 * client connection and every upstream call, {@link NettyTransport}).
 */
@Command(name = "many-streams", mixinStandardHelpOptions = true,
        description = "N concurrent streaming chat completions through router + proxy to simulated vLLMs.")
public final class ManyStreamsRun implements Callable<Integer> {

    static final String MODEL = "bench-model";

    @Option(names = "--streams", defaultValue = "2000", description = "Concurrent streams (default: ${DEFAULT-VALUE}).")
    int streams;

    @Option(names = "--servers", defaultValue = "4", description = "Simulated vLLM servers (default: ${DEFAULT-VALUE}).")
    int servers;

    @Option(names = "--output-tokens", defaultValue = "60", description = "Tokens per stream (default: ${DEFAULT-VALUE}).")
    int outputTokens;

    @Option(names = "--tpot-ms", defaultValue = "500",
            description = "Time per output token, ms: with 60 tokens each stream lasts ~30 s, so all 2,000 overlap even when sending them takes seconds (default: ${DEFAULT-VALUE}).")
    double tpotMs;

    @Option(names = "--timeout", defaultValue = "180", description = "Give up after this many seconds (default: ${DEFAULT-VALUE}).")
    long timeoutSeconds;

    /** What one stream came to. */
    record Outcome(boolean ok, String problem, long firstEventMs, long totalMs, long events) {
    }

    @Option(names = "--fleet", defaultValue = "child",
            description = "Where the simulators run: child (a second JVM, so the heap figures are the router's, proxy's "
                    + "and client's only) or in-process (default: ${DEFAULT-VALUE}).")
    String fleet;

    @Option(names = "--fleet-heap", defaultValue = "1g", description = "-Xmx of the child JVM of the simulators (default: ${DEFAULT-VALUE}).")
    String fleetHeap;

    @Option(names = "--client", defaultValue = "http1",
            description = "How the client talks to the proxy: http1 (HttpClient, one connection per stream) or h2c "
                    + "(HTTP/2 with prior knowledge, --connections connections carrying all the streams) (default: ${DEFAULT-VALUE}).")
    String client;

    @Option(names = "--connections", defaultValue = "32", description = "h2c connections (default: ${DEFAULT-VALUE}).")
    int connections;

    @Option(names = "--ramp-seconds", defaultValue = "0",
            description = "Spread the sends over this many seconds; 0 sends them all at once (default: ${DEFAULT-VALUE}).")
    double rampSeconds;

    @Option(names = "--proxy", paramLabel = "URL",
            description = "Measure a proxy that runs in its own process (e.g. http://127.0.0.1:18800, started with "
                    + "vllm-router.jar run): this JVM is only the client; the fleet runs elsewhere (--fleet-only).")
    URI proxyUrl;

    @Option(names = "--proxy-pid", paramLabel = "PID",
            description = "With --proxy: the proxy's process id, whose /proc/PID/status (Threads, VmRSS) is sampled.")
    long proxyPid;

    @Option(names = "--fleet-only",
            description = "Start only the simulated fleet on ports --fleet-port, --fleet-port + 1, ...; print their URLs; run until killed.")
    boolean fleetOnly;

    @Option(names = "--fleet-port", defaultValue = "0", description = "First port of --fleet-only (default: any free ports).")
    int fleetPort;

    @Option(names = "--serve-fleet", hidden = true,
            description = "Internal: start the simulators, print their URLs on one line, run until stdin closes.")
    boolean serveFleet;

    @Override
    public Integer call() throws Exception {
        BenchSupport.setup();
        if (streams < 1 || servers < 1 || outputTokens < 1 || !(tpotMs > 0) || timeoutSeconds < 1) {
            System.err.println("many-streams: --streams, --servers, --output-tokens, --tpot-ms and --timeout must be > 0");
            return 2;
        }
        if (!fleet.equals("child") && !fleet.equals("in-process")) {
            System.err.println("many-streams: --fleet: " + fleet + " (expected: child or in-process)");
            return 2;
        }
        if (!client.equals("http1") && !client.equals("h2c") || connections < 1 || rampSeconds < 0) {
            System.err.println("many-streams: --client http1|h2c, --connections >= 1, --ramp-seconds >= 0");
            return 2;
        }
        int slots = (streams + servers - 1) / servers + 8;
        if (serveFleet || fleetOnly) {
            return serveFleet(slots);
        }
        if (proxyUrl != null) {
            return runExternal(System.out);
        }
        PrintStream o = System.out;
        o.println("Many concurrent streams through the proxy. " + BenchSupport.machine());
        o.printf(Locale.ROOT, "%d simulated vLLMs (max_num_seqs=%d each, ttft 20 ms, tpot %.0f ms, %d tokens) in %s; "
                        + "router (defaults, capacity %d each) + proxy (Netty, %d event loops) + the client (HttpClient.sendAsync, no thread per stream) in this JVM.%n",
                servers, slots, tpotMs, outputTokens, fleet.equals("child") ? "a child JVM (-Xmx" + fleetHeap + ")" : "this JVM",
                slots, Runtime.getRuntime().availableProcessors());
        List<SimulatedVllm> sims = new ArrayList<>();
        Process child = null;
        try {
            List<URI> urls = new ArrayList<>();
            if (fleet.equals("child")) {
                child = startChild();
                String line = new java.io.BufferedReader(new java.io.InputStreamReader(child.getInputStream(),
                        StandardCharsets.UTF_8)).readLine();
                if (line == null || !line.startsWith("FLEET ")) {
                    System.err.println("many-streams: the simulator JVM did not start (said: " + line + ")");
                    return 1;
                }
                for (String u : line.substring(6).trim().split(" ")) {
                    urls.add(URI.create(u));
                }
            } else {
                sims.addAll(startSims(slots));
                sims.forEach(s -> urls.add(s.baseUrl()));
            }
            RouterConfigBuilder config = RouterConfig.builder();
            for (URI u : urls) {
                config.server(new ServerConfig(u, slots, List.of(MODEL), null));
            }
            Tally tally = new Tally();
            try (EventLoops loops = EventLoops.create(0);
                 NettyTransport transport = NettyTransport.create(loops);
                 VllmRouter router = VllmRouters.builder().config(config.build()).listener(tally).transport(transport)
                         .requestScheduler(loops.timers()).build();
                 ProxyServer proxy = ProxyServer.start(router, ProxyOptions.builder().host("127.0.0.1").port(0)
                         .grace(Duration.ofSeconds(1)).eventLoops(loops).build())) {
                return run(o, router, proxy, sims, tally);
            }
        } finally {
            sims.forEach(SimulatedVllm::close);
            if (child != null) {
                child.getOutputStream().close();
                if (!child.waitFor(10, TimeUnit.SECONDS)) {
                    child.destroy();
                }
            }
        }
    }

    private List<SimulatedVllm> startSims(int slots) throws IOException {
        List<SimulatedVllm> sims = new ArrayList<>();
        try {
            for (int i = 0; i < servers; i++) {
                sims.add(SimulatedVllm.start(SimConfig.builder().host("127.0.0.1").port(fleetPort > 0 ? fleetPort + i : 0)
                        .models(MODEL).maxNumSeqs(slots)
                        .ttftBaseMs(20).ttftPerPromptTokenMs(0).tpotBaseMs(tpotMs).tpotBatchAlpha(0)
                        .defaultOutputTokens(outputTokens).stepMs(10).seed(i).build()));
            }
        } catch (IOException | RuntimeException e) {
            sims.forEach(SimulatedVllm::close);
            throw e;
        }
        return sims;
    }

    /** The same class in a second JVM with {@code --serve-fleet}; same java, same class path. */
    private Process startChild() throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = List.of(java, "-Xmx" + fleetHeap, "-cp", System.getProperty("java.class.path"),
                ManyStreamsRun.class.getName(), "--serve-fleet", "--servers", String.valueOf(servers),
                "--streams", String.valueOf(streams), "--output-tokens", String.valueOf(outputTokens),
                "--tpot-ms", String.valueOf(tpotMs));
        return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    private int serveFleet(int slots) throws IOException, InterruptedException {
        List<SimulatedVllm> sims = startSims(slots);
        try {
            StringBuilder b = new StringBuilder("FLEET");
            sims.forEach(s -> b.append(' ').append(s.baseUrl()));
            System.out.println(b);
            System.out.flush();
            if (fleetOnly) {
                Runtime.getRuntime().addShutdownHook(new Thread(() -> sims.forEach(SimulatedVllm::close)));
                new java.util.concurrent.CountDownLatch(1).await(); // until killed
            }
            while (System.in.read() >= 0) {
                // runs until the parent closes our stdin (or dies)
            }
            return 0;
        } finally {
            sims.forEach(SimulatedVllm::close);
        }
    }

    /** Counts what the router saw: outcomes by status, retry reasons, health changes. */
    static final class Tally implements RouterListener {
        final Map<String, AtomicInteger> outcomes = new ConcurrentHashMap<>();
        final Map<String, AtomicInteger> retries = new ConcurrentHashMap<>();
        final List<String> health = java.util.Collections.synchronizedList(new ArrayList<>());

        @Override
        public void onRequestComplete(RequestRecord r) {
            outcomes.computeIfAbsent(r.status() + " " + r.outcome().label(), k -> new AtomicInteger()).incrementAndGet();
        }

        @Override
        public void onRetry(String requestId, String failedBackend, String reason) {
            retries.computeIfAbsent(reason, k -> new AtomicInteger()).incrementAndGet();
        }

        @Override
        public void onHealthChange(String backend, boolean healthy, String reason) {
            health.add(backend + (healthy ? " healthy" : " ejected") + (reason == null ? "" : ": " + reason));
        }

        @Override
        public void onCircuitStateChange(String backend, io.vllmrouter.api.CircuitState from, io.vllmrouter.api.CircuitState to) {
            health.add(backend + " breaker " + from + " -> " + to);
        }
    }

    private int run(PrintStream o, VllmRouter router, ProxyServer proxy, List<SimulatedVllm> sims, Tally tally)
            throws IOException, InterruptedException {
        URI target = URI.create("http://127.0.0.1:" + proxy.port() + "/v1/chat/completions");
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(60)).build();
        awaitReady(client, target);
        byte[] body = ("{\"model\":\"" + MODEL + "\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a story.\"}]}")
                .getBytes(StandardCharsets.UTF_8);
        HttpRequest request = HttpRequest.newBuilder(target).header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(timeoutSeconds)).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();

        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        Sampler sampler = new Sampler(router, proxy, sims, memory, streams);
        Thread samplerThread = new Thread(sampler, "many-streams-sampler");
        samplerThread.setDaemon(true);
        samplerThread.start();

        String loadBefore = BenchSupport.loadAverage();
        long t0 = System.nanoTime();
        H2cStreams h2 = this.client.equals("h2c") ? H2cStreams.connect("127.0.0.1", proxy.port(), connections, 1) : null;
        List<CompletableFuture<Outcome>> futures = send(client, request, h2, body, t0);
        long launchedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        o.printf(Locale.ROOT, "sent %d requests in %d ms; waiting for every stream to end ...%n", streams, launchedMs);
        try {
            CompletableFuture.allOf(futures.toArray(new CompletableFuture<?>[0])).get(timeoutSeconds + 30, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            o.println("not every stream ended in time: " + e);
        }
        long wallMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        sampler.stop = true;
        samplerThread.join(2000);
        if (h2 != null) {
            h2.close();
        }

        int completed = 0;
        int failed = 0;
        long events = 0;
        Map<String, Integer> problems = new LinkedHashMap<>();
        long[] totals = new long[streams];
        long[] firsts = new long[streams];
        int n = 0;
        for (CompletableFuture<Outcome> f : futures) {
            Outcome out = f.getNow(new Outcome(false, "did not end within the timeout", -1, -1, 0));
            if (out.ok) {
                completed++;
                totals[n] = out.totalMs;
                firsts[n] = out.firstEventMs;
                n++;
                events += out.events;
            } else {
                failed++;
                problems.merge(out.problem, 1, Integer::sum);
            }
        }
        totals = Arrays.copyOf(totals, n);
        firsts = Arrays.copyOf(firsts, n);
        Arrays.sort(totals);
        Arrays.sort(firsts);
        System.gc();
        long heapAfterGc = memory.getHeapMemoryUsage().getUsed();

        o.printf(Locale.ROOT, "streams: %d sent, %d completed with [DONE], %d failed (%d SSE events received)%n",
                streams, completed, failed, events);
        problems.forEach((p, c) -> o.printf(Locale.ROOT, "  %d x %s%n", c, p));
        o.printf(Locale.ROOT, "peak in flight: router.stats() %d, proxy exchanges %d, simulators running %s%n",
                sampler.peakRouterInFlight, sampler.peakProxyActive, sims.isEmpty() ? "n/a (child JVM)" : sampler.peakSimRunning);
        o.println("router outcomes (status outcome = count): " + new java.util.TreeMap<>(tally.outcomes));
        if (!tally.retries.isEmpty()) {
            o.println("retries by reason: " + tally.retries);
        }
        tally.health.forEach(h -> o.println("health: " + h));
        long gcCount = 0;
        long gcMillis = 0;
        for (var gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            gcCount += Math.max(0, gc.getCollectionCount());
            gcMillis += Math.max(0, gc.getCollectionTime());
        }
        o.printf(Locale.ROOT, "heap (max %d MiB): peak used %d MiB (garbage included, sampled every 20 ms), peak left after a "
                        + "collection %d MiB, after the run and a full GC %d MiB; %d collections, %d ms in total; peak live threads %d%n",
                Runtime.getRuntime().maxMemory() >> 20, sampler.peakHeap >> 20, sampler.peakAfterGc >> 20, heapAfterGc >> 20,
                gcCount, gcMillis, sampler.peakThreads);
        if (sampler.liveAtPeak >= 0) {
            o.printf(Locale.ROOT, "live heap with %d streams in flight (after one System.gc() 2 s after all were open): %d MiB%n",
                    sampler.inFlightAtProbe, sampler.liveAtPeak >> 20);
        } else {
            o.println("live heap at peak: not measured (the " + streams + " streams were never all in flight at once)");
        }
        if (n > 0) {
            o.printf(Locale.ROOT, "per stream: first event p50 %d ms, p99 %d ms, max %d ms; whole stream p50 %d ms, p99 %d ms, max %d ms%n",
                    pct(firsts, 0.5), pct(firsts, 0.99), firsts[n - 1], pct(totals, 0.5), pct(totals, 0.99), totals[n - 1]);
        }
        o.printf(Locale.ROOT, "wall time %.1f s; load average before %s, after %s%n", wallMs / 1000.0, loadBefore,
                BenchSupport.loadAverage());
        o.println(failed == 0 ? "RESULT: PASS, all " + streams + " streams completed" : "RESULT: FAIL, " + failed + " streams failed");
        return failed == 0 ? 0 : 1;
    }

    /** Sends the streams, at once or spread over --ramp-seconds, over HTTP/1.1 ({@code http}) or h2c ({@code h2}). */
    private List<CompletableFuture<Outcome>> send(HttpClient http, HttpRequest request, H2cStreams h2, byte[] body, long t0) {
        List<CompletableFuture<Outcome>> futures = new ArrayList<>(streams);
        long spacing = (long) (rampSeconds * 1e9 / streams);
        for (int i = 0; i < streams; i++) {
            if (spacing > 0) {
                long due = t0 + i * spacing;
                long wait;
                while ((wait = due - System.nanoTime()) > 0) {
                    java.util.concurrent.locks.LockSupport.parkNanos(wait); // pacing the load, not waiting for state
                }
            }
            long sent = System.nanoTime();
            futures.add(h2 != null ? h2.post("/v1/chat/completions", body)
                    : http.sendAsync(request, SseLines.handler()).handle((r, err) -> outcome(sent, r, err)));
        }
        return futures;
    }

    /**
     * The proxy in a process of its own ({@code --proxy}): this JVM only sends and reads the streams.
     * The proxy's heap, live threads and in-flight count come from its {@code /metrics}, its OS
     * threads and resident memory from {@code /proc/PID/status} when {@code --proxy-pid} is given,
     * sampled every 250 ms.
     */
    private int runExternal(PrintStream o) throws IOException, InterruptedException {
        URI target = proxyUrl.resolve("/v1/chat/completions");
        o.println("Many concurrent streams through a proxy in its own process (" + proxyUrl + "). " + BenchSupport.machine());
        o.printf(Locale.ROOT, "client: %s, %d streams%s%s%n", client.equals("h2c")
                        ? "h2c (HTTP/2 prior knowledge) over " + connections + " connections" : "HTTP/1.1, one connection per stream",
                streams, rampSeconds > 0 ? String.format(Locale.ROOT, " sent over %.0f s", rampSeconds) : " sent at once",
                proxyPid > 0 ? "; proxy pid " + proxyPid : "");
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(60)).build();
        awaitReady(http, target);
        byte[] body = ("{\"model\":\"" + MODEL + "\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a story.\"}]}")
                .getBytes(StandardCharsets.UTF_8);
        HttpRequest request = HttpRequest.newBuilder(target).header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(timeoutSeconds)).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        ProcessSampler sampler = new ProcessSampler(http, proxyUrl.resolve("/metrics"), proxyPid);
        Thread samplerThread = new Thread(sampler, "many-streams-sampler");
        samplerThread.setDaemon(true);
        samplerThread.start();
        String loadBefore = BenchSupport.loadAverage();
        long t0 = System.nanoTime();
        H2cStreams h2 = client.equals("h2c")
                ? H2cStreams.connect(proxyUrl.getHost(), proxyUrl.getPort(), connections, 1) : null;
        List<CompletableFuture<Outcome>> futures;
        try {
            futures = send(http, request, h2, body, t0);
            o.printf(Locale.ROOT, "sent %d requests in %d ms; waiting for every stream to end ...%n", streams,
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
            try {
                CompletableFuture.allOf(futures.toArray(new CompletableFuture<?>[0])).get(timeoutSeconds + 30, TimeUnit.SECONDS);
            } catch (ExecutionException | TimeoutException e) {
                o.println("not every stream ended in time: " + e);
            }
        } finally {
            if (h2 != null) {
                h2.close();
            }
        }
        long wallMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        sampler.stop = true;
        samplerThread.join(2000);
        int completed = 0;
        long events = 0;
        Map<String, Integer> problems = new LinkedHashMap<>();
        List<Long> firsts = new ArrayList<>();
        List<Long> totals = new ArrayList<>();
        for (CompletableFuture<Outcome> f : futures) {
            Outcome out = f.getNow(new Outcome(false, "did not end within the timeout", -1, -1, 0));
            if (out.ok) {
                completed++;
                events += out.events;
                firsts.add(out.firstEventMs);
                totals.add(out.totalMs);
            } else {
                problems.merge(out.problem, 1, Integer::sum);
            }
        }
        int failed = streams - completed;
        o.printf(Locale.ROOT, "streams: %d sent, %d completed with [DONE], %d failed (%d SSE events received)%n",
                streams, completed, failed, events);
        problems.forEach((p, c) -> o.printf(Locale.ROOT, "  %d x %s%n", c, p));
        o.printf(Locale.ROOT, "proxy (from its /metrics, every 250 ms): peak in flight to the backends %d; peak heap used %d MiB "
                        + "(garbage included; max %s); peak live JVM threads %d%n",
                sampler.peakInFlight, sampler.peakHeap >> 20, sampler.heapMax > 0 ? (sampler.heapMax >> 20) + " MiB" : "n/a",
                sampler.peakLiveThreads);
        if (proxyPid > 0) {
            o.printf(Locale.ROOT, "proxy (from /proc/%d/status): peak OS threads %d, peak resident memory %d MiB%n",
                    proxyPid, sampler.peakOsThreads, sampler.peakRssKb >> 10);
        }
        if (sampler.failures > 0) {
            o.println("(" + sampler.failures + " samples of /metrics failed)");
        }
        if (!firsts.isEmpty()) {
            long[] fs = firsts.stream().mapToLong(Long::longValue).sorted().toArray();
            long[] ts = totals.stream().mapToLong(Long::longValue).sorted().toArray();
            o.printf(Locale.ROOT, "per stream: first event p50 %d ms, p99 %d ms, max %d ms; whole stream p50 %d ms, p99 %d ms, max %d ms%n",
                    pct(fs, 0.5), pct(fs, 0.99), fs[fs.length - 1], pct(ts, 0.5), pct(ts, 0.99), ts[ts.length - 1]);
        }
        o.printf(Locale.ROOT, "wall time %.1f s; load average before %s, after %s%n", wallMs / 1000.0, loadBefore,
                BenchSupport.loadAverage());
        o.println(failed == 0 ? "RESULT: PASS, all " + streams + " streams completed" : "RESULT: FAIL, " + failed + " streams failed");
        return failed == 0 ? 0 : 1;
    }

    /** Samples a proxy in another process: its /metrics (heap, live threads, in flight) and /proc/PID/status. */
    private static final class ProcessSampler implements Runnable {
        private final HttpClient http;
        private final HttpRequest metrics;
        private final Path status;
        volatile boolean stop;
        volatile long peakHeap;
        volatile long heapMax;
        volatile int peakLiveThreads;
        volatile int peakInFlight;
        volatile int peakOsThreads;
        volatile long peakRssKb;
        volatile int failures;

        ProcessSampler(HttpClient http, URI metricsUrl, long pid) {
            this.http = http;
            this.metrics = HttpRequest.newBuilder(metricsUrl).timeout(Duration.ofSeconds(10)).build();
            this.status = pid > 0 ? Path.of("/proc", String.valueOf(pid), "status") : null;
        }

        @Override
        public void run() {
            while (!stop) {
                try {
                    String text = http.send(metrics, HttpResponse.BodyHandlers.ofString()).body();
                    long heap = 0;
                    long max = 0;
                    int inFlight = 0;
                    for (String line : text.split("\n")) {
                        if (line.startsWith("jvm_memory_used_bytes{area=\"heap\"")) {
                            heap += (long) value(line);
                        } else if (line.startsWith("jvm_memory_max_bytes{area=\"heap\"")) {
                            max += Math.max(0, (long) value(line));
                        } else if (line.startsWith("jvm_threads_live_threads")) {
                            peakLiveThreads = Math.max(peakLiveThreads, (int) value(line));
                        } else if (line.startsWith("vllm_router_backend_in_flight")) {
                            inFlight += (int) value(line);
                        }
                    }
                    peakHeap = Math.max(peakHeap, heap);
                    heapMax = max;
                    peakInFlight = Math.max(peakInFlight, inFlight);
                } catch (IOException e) {
                    failures++;
                } catch (InterruptedException e) {
                    return;
                }
                if (status != null) {
                    try {
                        for (String line : java.nio.file.Files.readAllLines(status)) {
                            if (line.startsWith("Threads:")) {
                                peakOsThreads = Math.max(peakOsThreads, Integer.parseInt(line.substring(8).trim()));
                            } else if (line.startsWith("VmRSS:")) {
                                peakRssKb = Math.max(peakRssKb, Long.parseLong(line.substring(6).replace("kB", "").trim()));
                            }
                        }
                    } catch (IOException | RuntimeException e) {
                        // the process ended
                    }
                }
                java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(250));
            }
        }

        private static double value(String line) {
            return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        }
    }

    private static long pct(long[] sorted, double q) {
        int rank = (int) Math.ceil(q * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    private static Outcome outcome(long sent, HttpResponse<SseLines> r, Throwable err) {
        if (err != null) {
            Throwable c = err instanceof java.util.concurrent.CompletionException && err.getCause() != null ? err.getCause() : err;
            return new Outcome(false, c.getClass().getSimpleName() + ": " + c.getMessage(), -1, -1, 0);
        }
        SseLines s = r.body();
        if (r.statusCode() != 200) {
            return new Outcome(false, "HTTP " + r.statusCode(), -1, -1, 0);
        }
        if (s.error() != null) {
            return new Outcome(false, "body cut: " + s.error(), -1, -1, 0);
        }
        if (!s.done()) {
            return new Outcome(false, "stream ended without [DONE]", -1, -1, 0);
        }
        return new Outcome(true, null, TimeUnit.NANOSECONDS.toMillis(s.firstEventNanos() - sent),
                TimeUnit.NANOSECONDS.toMillis(s.lastEventNanos() - sent), s.events());
    }

    private static void awaitReady(HttpClient client, URI target) throws IOException, InterruptedException {
        HttpRequest req = HttpRequest.newBuilder(target).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + MODEL + "\",\"max_tokens\":1,"
                        + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
                .timeout(Duration.ofSeconds(10)).build();
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

    /** Samples in-flight counts, heap and threads every 20 ms and keeps the peaks. */
    private static final class Sampler implements Runnable {
        final VllmRouter router;
        final ProxyServer proxy;
        final List<SimulatedVllm> sims;
        final MemoryMXBean memory;
        final int target;
        volatile boolean stop;
        volatile int peakRouterInFlight;
        volatile int peakProxyActive;
        volatile int peakSimRunning;
        volatile long peakHeap;
        volatile long peakAfterGc;
        /** Heap used right after a full GC forced once every stream was in flight, -1 if never. */
        volatile long liveAtPeak = -1;
        volatile int inFlightAtProbe;
        long allInFlightSince = -1;
        volatile int peakThreads;

        Sampler(VllmRouter router, ProxyServer proxy, List<SimulatedVllm> sims, MemoryMXBean memory, int target) {
            this.target = target;
            this.router = router;
            this.proxy = proxy;
            this.sims = sims;
            this.memory = memory;
        }

        @Override
        public void run() {
            var threads = ManagementFactory.getThreadMXBean();
            while (!stop) {
                int inFlight = BenchSupport.inFlight(router.stats());
                peakRouterInFlight = Math.max(peakRouterInFlight, inFlight);
                if (liveAtPeak < 0 && inFlight >= target) {
                    long now = System.nanoTime();
                    if (allInFlightSince < 0) {
                        allInFlightSince = now;
                    } else if (now - allInFlightSince > TimeUnit.SECONDS.toNanos(2)) {
                        // Once, with every stream open: what is really live then.
                        System.gc();
                        liveAtPeak = memory.getHeapMemoryUsage().getUsed();
                        inFlightAtProbe = BenchSupport.inFlight(router.stats());
                    }
                }
                peakProxyActive = Math.max(peakProxyActive, proxy.activeExchanges());
                int running = 0;
                for (SimulatedVllm s : sims) {
                    running += s.running();
                }
                peakSimRunning = Math.max(peakSimRunning, running);
                peakHeap = Math.max(peakHeap, memory.getHeapMemoryUsage().getUsed());
                long afterGc = 0;
                for (var pool : ManagementFactory.getMemoryPoolMXBeans()) {
                    var u = pool.getType() == java.lang.management.MemoryType.HEAP ? pool.getCollectionUsage() : null;
                    if (u != null) {
                        afterGc += u.getUsed();
                    }
                }
                peakAfterGc = Math.max(peakAfterGc, afterGc);
                peakThreads = Math.max(peakThreads, threads.getThreadCount());
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    public static void main(String[] args) {
        io.vllmrouter.examples.server.JvmSettings.apply();
        System.exit(new CommandLine(new ManyStreamsRun()).execute(args));
    }
}
