package io.vllmrouter.examples.sim;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.lang.reflect.Method;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;

/**
 * A vLLM stand-in on 127.0.0.1: vLLM's endpoints, JSON and SSE shapes and /metrics names over a
 * {@link BatchEngine} (continuous batching, time to first token and time per output token that
 * grow with load, KV-cache usage, optional prefix cache), with fault injection.
 *
 * <pre>{@code
 * try (SimulatedVllm vllm = SimulatedVllm.start(SimConfig.builder().maxNumSeqs(4).timeScale(10).build())) {
 *     URI base = vllm.baseUrl();      // http://127.0.0.1:<port>
 *     vllm.faults(Faults.errorRate(0.2));
 * }
 * }</pre>
 *
 * <p>Endpoints: {@code GET /health}, {@code GET /v1/models}, {@code GET /metrics},
 * {@code POST /v1/chat/completions}, {@code POST /v1/completions} (both with {@code stream}),
 * {@code POST /v1/embeddings}, {@code POST /tokenize}, {@code POST /reset_prefix_cache}, and
 * {@code GET|POST /sim/faults}; the Responses API, audio uploads and sleep mode are
 * {@link SimEndpoints}'. Answers to completions are {@link CompletionEndpoint}'s, the ones that need
 * no engine {@link InstantEndpoints}', the metrics page {@link MetricsPage}'s, the faults
 * {@link FaultInjector}'s. This class starts and stops the server, sends each request to its
 * endpoint, and is what tests and tools hold.
 *
 * <p>Threads: one engine thread per instance ({@link EngineRunner}; it parks when idle) and one
 * handler thread per open request: virtual threads where the JVM has them (Java 21+), else a cached
 * daemon pool. KV-cache events ({@link SimKvEvents}) are published from the engine thread.
 */
public final class SimulatedVllm implements AutoCloseable {

    static {
        // TCP_NODELAY, as vLLM's uvicorn has: SSE events are small writes. The JDK's HTTP server
        // reads this once, when the first server in the JVM starts; an operator's setting wins.
        if (System.getProperty("sun.net.httpserver.nodelay") == null) {
            System.setProperty("sun.net.httpserver.nodelay", "true");
        }
    }

    private final SimConfig config;
    private final HttpServer server;
    private final ExecutorService handlers;
    private final SimKvEvents kvEvents;
    private final EngineRunner runner;
    private final FaultInjector faults;
    /** The endpoints kept in their own classes: Responses API, audio uploads, sleep mode. */
    private final SimEndpoints extras;
    private final CompletionEndpoint completions;
    private final InstantEndpoints instant;
    private final MetricsPage metrics;
    private final ReentrantLock stateLock = new ReentrantLock();
    private final Condition stateChanged = stateLock.newCondition();
    private volatile boolean closed;

    private SimulatedVllm(SimConfig config) throws IOException {
        this.config = config;
        LatencyHistograms histograms = new LatencyHistograms(config.maxModelLen());
        this.kvEvents = new SimKvEvents(config.kvEvents());
        this.runner = new EngineRunner(config, kvEvents, histograms, this::stateChanged);
        this.faults = new FaultInjector(config, this::stateChanged);
        AtomicLong requestIds = new AtomicLong();
        this.completions = new CompletionEndpoint(config, runner, faults, requestIds);
        this.instant = new InstantEndpoints(config, faults, requestIds);
        this.server = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 1024);
        this.handlers = handlerExecutor();
        server.setExecutor(handlers);
        server.createContext("/", this::handle);
        this.extras = new SimEndpoints(this);
        this.metrics = new MetricsPage(config, runner.engine(), histograms, extras::sleepLevel);
    }

    /** Binds the port and starts serving. */
    public static SimulatedVllm start(SimConfig config) throws IOException {
        SimulatedVllm sim = new SimulatedVllm(config);
        sim.runner.start();
        sim.server.start();
        return sim;
    }

    public SimConfig config() { return config; }

    /** The port bound (the ephemeral one when the config said 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    /** {@code http://host:port}, no trailing slash. */
    public URI baseUrl() {
        String host = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
        return URI.create("http://" + host + ":" + port());
    }

    /** The faults in force now. */
    public Faults faults() {
        return faults.faults();
    }

    /** Replaces the faults; applies to requests that arrive from now on. */
    public void faults(Faults faults) {
        this.faults.faults(faults);
    }

    /**
     * Changes the server's speed from now on: {@code drift}'s times count from this moment (a
     * server that slows down mid-run). Replaces the drift in force.
     */
    public void drift(SpeedDrift drift) {
        runner.engine().drift(drift, simulatedNowMs());
    }

    /** The factor on the time per output token and the prefill in force now (1: the configured speed). */
    public double speedFactor() {
        return runner.engine().speedFactorAt(simulatedNowMs());
    }

    /** Sequences in the batch now. */
    public int running() { return runner.engine().running(); }

    /** Whether {@link #close} has run. */
    boolean isClosed() { return closed; }
    /** Prompt tokens looked up in the prefix cache so far (vllm:prefix_cache_queries_total). */
    public long prefixCacheQueries() { return runner.engine().prefixCacheQueries(); }
    /** Prompt tokens found in the prefix cache so far (vllm:prefix_cache_hits_total). */
    public long prefixCacheHits() { return runner.engine().prefixCacheHits(); }

    /** The KV-cache event PUB port bound (rank's), or -1 when events are off. */
    public int kvEventsPort() {
        return kvEvents.publisher() == null ? -1 : kvEvents.publisher().port();
    }

    /** The replay port bound, or -1. */
    public int kvEventsReplayPort() {
        return kvEvents.publisher() == null ? -1 : kvEvents.publisher().replayPort();
    }

    /**
     * Waits until {@code n} subscribers follow this simulator's KV-cache events (a PUB socket drops
     * what it sends before a subscription arrives); false when events are off or time ran out.
     */
    public boolean awaitKvEventSubscribers(int n, Duration timeout) throws InterruptedException {
        return kvEvents.publisher() != null && kvEvents.publisher().awaitSubscribers(n, timeout);
    }

    /** KV-cache event batches published so far (0 when events are off). */
    public long kvEventBatches() {
        return kvEvents.publisher() == null ? 0 : kvEvents.publisher().published();
    }

    /** Sequences waiting for a slot now. */
    public int waiting() { return runner.engine().waiting(); }

    /**
     * Requests to {@code path} (e.g. {@code /v1/chat/completions}) held open by the
     * {@link Faults#hang()} or {@link Faults#stall()} fault now.
     */
    public int hanging(String path) { return faults.hanging(path); }

    /** Generation requests waiting for the server to wake from sleep mode ({@code POST /sleep}) now. */
    public int heldAsleep() { return extras.heldAsleep(); }

    /** 0 when awake, else the sleep level of vLLM's sleep mode ({@code POST /sleep?level=1|2}). */
    public int sleepLevel() { return extras.sleepLevel(); }

    /**
     * Waits until {@code condition} holds of this simulator (its {@link #running}, {@link #waiting},
     * {@link #hanging(String)} counts, ...), checking it now and again each time the engine has taken a step
     * or a request has been put on hold; returns whether it held before {@code timeout} ran out or
     * the simulator closed. For tests and tools that must act at a given engine state without
     * polling it; the condition runs on the caller's thread.
     */
    public boolean awaitState(Predicate<? super SimulatedVllm> condition, Duration timeout) throws InterruptedException {
        long left = timeout.toNanos();
        stateLock.lock();
        try {
            while (!condition.test(this)) {
                if (left <= 0 || closed) {
                    return false;
                }
                left = stateChanged.awaitNanos(left);
            }
            return true;
        } finally {
            stateLock.unlock();
        }
    }

    /** Wakes {@link #awaitState} callers: the engine's state, or the requests on hold, may have changed. */
    void stateChanged() {
        stateLock.lock();
        try {
            stateChanged.signalAll();
        } finally {
            stateLock.unlock();
        }
    }

    /** Simulated milliseconds since start. */
    public double simulatedNowMs() {
        return runner.nowMs();
    }

    /** Stops serving: aborts every sequence, releases hanging requests, closes connections. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        faults.releaseAll();
        stateChanged();
        runner.stop();
        server.stop(0);
        runner.join(2000);
        handlers.shutdownNow();
        kvEvents.close();
    }

    /** The engine's runner, for endpoints in other classes that run generations ({@link EngineRunner#generate}). */
    EngineRunner runner() {
        return runner;
    }

    /** Runs {@code task} on a handler thread: work that outlives the request that started it. */
    void background(Runnable task) {
        handlers.execute(task);
    }

    private void handle(HttpExchange ex) throws IOException {
        boolean cut = false;
        try {
            String path = ex.getRequestURI().getPath();
            String method = ex.getRequestMethod();
            if (path.equals("/sim/faults")) {
                faults.handle(ex, method);
                return;
            }
            if (faults.faults().hang()) {
                faults.hang(path);
                return;
            }
            if (extras.handle(ex, method, path)) {
                return;
            }
            switch (path) {
                case "/health":
                    if (SimHttp.requireMethod(ex, method, "GET")) {
                        ex.sendResponseHeaders(200, -1);
                    }
                    break;
                case "/v1/models":
                    if (SimHttp.requireMethod(ex, method, "GET")) {
                        instant.models(ex);
                    }
                    break;
                case "/metrics":
                    if (SimHttp.requireMethod(ex, method, "GET")) {
                        SimHttp.send(ex, 200, "text/plain; version=0.0.4; charset=utf-8", metrics.text());
                    }
                    break;
                case "/v1/chat/completions":
                    if (SimHttp.requireMethod(ex, method, "POST")) {
                        completions.handle(ex, true);
                    }
                    break;
                case "/v1/completions":
                    if (SimHttp.requireMethod(ex, method, "POST")) {
                        completions.handle(ex, false);
                    }
                    break;
                case "/v1/embeddings":
                    if (SimHttp.requireMethod(ex, method, "POST")) {
                        instant.embeddings(ex);
                    }
                    break;
                case "/tokenize":
                    if (SimHttp.requireMethod(ex, method, "POST")) {
                        instant.tokenize(ex);
                    }
                    break;
                case "/reset_prefix_cache":
                    if (SimHttp.requireMethod(ex, method, "POST")) {
                        runner.resetPrefixCache();
                        ex.sendResponseHeaders(200, -1);
                    }
                    break;
                default:
                    SimHttp.sendJson(ex, 404, "{\"detail\":\"Not Found\"}");
            }
        } catch (SimHttp.BadRequest e) {
            SimHttp.sendJson(ex, e.status, e.body);
        } catch (SimHttp.ResetStream e) {
            cut = true;
            throw e;
        } finally {
            if (!cut) {
                ex.close();
            }
        }
    }

    private static ExecutorService handlerExecutor() {
        try {
            Method m = Executors.class.getMethod("newVirtualThreadPerTaskExecutor");
            return (ExecutorService) m.invoke(null);
        } catch (ReflectiveOperationException | RuntimeException e) {
            AtomicInteger n = new AtomicInteger();
            ThreadFactory f = r -> {
                Thread t = new Thread(r, "sim-vllm-http-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
            };
            return Executors.newCachedThreadPool(f);
        }
    }
}
