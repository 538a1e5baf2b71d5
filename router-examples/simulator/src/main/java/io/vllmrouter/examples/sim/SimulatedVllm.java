package io.vllmrouter.examples.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.reflect.Method;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
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
 * {@code POST /v1/embeddings}, {@code POST /tokenize}, and {@code GET|POST /sim/faults}; the
 * Responses API, audio uploads and sleep mode are {@link SimEndpoints}'. Answers
 * to completions carry {@code x-sim-ttft-ms}: the simulated time to first token (queueing plus
 * prefill). A client that goes away mid-stream is noticed at the next write and its sequence
 * aborted, freeing its batch slot; a non-streaming client's disconnect is not noticed.
 *
 * <p>Threads: one engine thread per instance (it parks when idle) and one handler thread per open
 * request: virtual threads where the JVM has them (Java 21+), else a cached daemon pool.
 */
public final class SimulatedVllm implements AutoCloseable {

    static {
        // TCP_NODELAY, as vLLM's uvicorn has: SSE events are small writes. The JDK's HTTP server
        // reads this once, when the first server in the JVM starts; an operator's setting wins.
        if (System.getProperty("sun.net.httpserver.nodelay") == null) {
            System.setProperty("sun.net.httpserver.nodelay", "true");
        }
    }

    private static final System.Logger LOG = System.getLogger(SimulatedVllm.class.getName());
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final AtomicInteger INSTANCES = new AtomicInteger();
    private static final long PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private final SimConfig config;
    private final HttpServer server;
    private final ExecutorService handlers;
    private final BatchEngine engine;
    private final ConcurrentLinkedQueue<Sequence> inbox = new ConcurrentLinkedQueue<>();
    private final Thread engineThread;
    private final long startNanos = System.nanoTime();
    private final long tickNanos;
    private final CountDownLatch closedLatch = new CountDownLatch(1);
    private final SplittableRandom faultRandom;
    private final AtomicLong requestIds = new AtomicLong();
    private final List<String> quotedModels;
    private final ReentrantLock stateLock = new ReentrantLock();
    private final Condition stateChanged = stateLock.newCondition();
    private final ConcurrentHashMap<String, Integer> hanging = new ConcurrentHashMap<>();
    private final LatencyHistograms histograms;
    private volatile boolean closed;
    private volatile Faults faults;
    /** The endpoints kept in their own classes: Responses API, audio uploads, sleep mode. */
    private final SimEndpoints extras;
    private final SimKvEvents kvEvents;
    private final java.util.concurrent.atomic.AtomicBoolean resetPrefixCache = new java.util.concurrent.atomic.AtomicBoolean();

    private SimulatedVllm(SimConfig config) throws IOException {
        this.config = config;
        this.faults = config.faults();
        this.faultRandom = new SplittableRandom(config.seed() ^ 0x5DEECE66DL);
        this.histograms = new LatencyHistograms(config.maxModelLen());
        this.quotedModels = config.models().stream().map(Json::quote).toList();
        this.engine = new BatchEngine(config.serviceModel(), config.maxNumSeqs(), config.kvCacheBlocks(),
                config.prefixCache() ? config.prefixCacheBlocks() : 0, config.stepMs(), config.sharedPrefill());
        this.kvEvents = new SimKvEvents(config.kvEvents());
        engine.cacheListener(kvEvents);
        engine.histograms(histograms);
        engine.drift(config.drift(), 0);
        double wallStepMs = config.stepMs() / config.timeScale();
        this.tickNanos = (long) (Math.max(0.2, Math.min(20, wallStepMs)) * 1_000_000);
        this.server = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 1024);
        this.handlers = handlerExecutor();
        server.setExecutor(handlers);
        server.createContext("/", this::handle);
        this.extras = new SimEndpoints(this);
        int n = INSTANCES.incrementAndGet();
        this.engineThread = new Thread(this::engineLoop, "sim-vllm-engine-" + n);
        engineThread.setDaemon(true);
    }

    /** Binds the port and starts serving. */
    public static SimulatedVllm start(SimConfig config) throws IOException {
        SimulatedVllm sim = new SimulatedVllm(config);
        sim.engineThread.start();
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
        return faults;
    }

    /** Replaces the faults; applies to requests that arrive from now on. */
    public void faults(Faults faults) {
        this.faults = java.util.Objects.requireNonNull(faults, "faults");
    }

    /**
     * Changes the server's speed from now on: {@code drift}'s times count from this moment (a
     * server that slows down mid-run). Replaces the drift in force.
     */
    public void drift(SpeedDrift drift) {
        engine.drift(drift, simulatedNowMs());
    }

    /** The factor on the time per output token and the prefill in force now (1: the configured speed). */
    public double speedFactor() {
        return engine.speedFactorAt(simulatedNowMs());
    }

    /** Sequences in the batch now. */
    public int running() { return engine.running(); }

    /** Whether {@link #close} has run. */
    boolean isClosed() { return closed; }
    /** Prompt tokens looked up in the prefix cache so far (vllm:prefix_cache_queries_total). */
    public long prefixCacheQueries() { return engine.prefixCacheQueries(); }
    /** Prompt tokens found in the prefix cache so far (vllm:prefix_cache_hits_total). */
    public long prefixCacheHits() { return engine.prefixCacheHits(); }

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
    public int waiting() { return engine.waiting(); }

    /**
     * Requests to {@code path} (e.g. {@code /v1/chat/completions}) held open by the
     * {@link Faults#hang()} or {@link Faults#stall()} fault now.
     */
    public int hanging(String path) { return hanging.getOrDefault(path, 0); }

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
        return (System.nanoTime() - startNanos) / 1e6 * config.timeScale();
    }

    /** Stops serving: aborts every sequence, releases hanging requests, closes connections. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        closedLatch.countDown();
        stateChanged();
        LockSupport.unpark(engineThread);
        server.stop(0);
        try {
            engineThread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        handlers.shutdownNow();
        kvEvents.close();
    }

    // ---------------------------------------------------------------- engine thread

    private void engineLoop() {
        try {
            while (!closed) {
                Sequence s;
                while ((s = inbox.poll()) != null) {
                    engine.submit(s);
                }
                if (resetPrefixCache.getAndSet(false)) {
                    engine.resetPrefixCache();
                }
                engine.advanceTo(simulatedNowMs());
                kvEvents.flush();
                stateChanged();
                if (engine.idle() && inbox.isEmpty()) {
                    LockSupport.park(this);
                } else {
                    LockSupport.parkNanos(this, tickNanos);
                }
            }
        } catch (RuntimeException | Error e) {
            LOG.log(System.Logger.Level.ERROR, "simulator engine failed", e);
        } finally {
            Sequence s;
            while ((s = inbox.poll()) != null) {
                engine.submit(s);
            }
            engine.abortAll();
        }
    }

    private void submit(Sequence s) {
        inbox.add(s);
        LockSupport.unpark(engineThread);
    }

    /** A sequence whose progress wakes the handler thread that writes it. */
    private static final class HttpSequence extends Sequence {
        private final Thread writer = Thread.currentThread();

        HttpSequence(int prompt, int output, long[] prefix, int[] ids, double arrival, String reason) {
            super(prompt, output, prefix, ids, arrival, reason);
        }

        @Override
        protected void onProgress() {
            LockSupport.unpark(writer);
        }
    }

    private void awaitChange(Sequence s, int seen) {
        while (s.produced() <= seen && !s.done() && !closed) {
            LockSupport.parkNanos(s, PARK_NANOS);
        }
    }

    /**
     * A stream writer's view of its sequence: the tokens produced, whether none will follow them
     * (the sequence is done or the simulator closing), and whether it completed.
     *
     * <p>The engine stores a sequence's count before the state that ends it, so {@link #of} reads
     * the state first: a sequence seen done then has its final count. Read the other way round,
     * the engine can finish between the two reads and the writer ends the stream, {@code [DONE]}
     * and all, with tokens unwritten.
     */
    record Progress(int produced, boolean ended, boolean finished) {
        static Progress of(Sequence s, boolean closed) {
            int state = s.state();
            return new Progress(s.produced(), state >= Sequence.FINISHED || closed, state == Sequence.FINISHED);
        }
    }

    // ---------------------------------------------------------------- HTTP

    private void handle(HttpExchange ex) throws IOException {
        boolean cut = false;
        try {
            String path = ex.getRequestURI().getPath();
            String method = ex.getRequestMethod();
            if (path.equals("/sim/faults")) {
                handleFaults(ex, method);
                return;
            }
            if (faults.hang()) {
                hang(path);
                return;
            }
            if (extras.handle(ex, method, path)) {
                return;
            }
            switch (path) {
                case "/health":
                    if (requireMethod(ex, method, "GET")) {
                        ex.sendResponseHeaders(200, -1);
                    }
                    break;
                case "/v1/models":
                    if (requireMethod(ex, method, "GET")) {
                        sendJson(ex, 200, modelsJson());
                    }
                    break;
                case "/metrics":
                    if (requireMethod(ex, method, "GET")) {
                        send(ex, 200, "text/plain; version=0.0.4; charset=utf-8", metricsText());
                    }
                    break;
                case "/v1/chat/completions":
                    if (requireMethod(ex, method, "POST")) {
                        completion(ex, true);
                    }
                    break;
                case "/v1/completions":
                    if (requireMethod(ex, method, "POST")) {
                        completion(ex, false);
                    }
                    break;
                case "/v1/embeddings":
                    if (requireMethod(ex, method, "POST")) {
                        embeddings(ex);
                    }
                    break;
                case "/tokenize":
                    if (requireMethod(ex, method, "POST")) {
                        tokenize(ex);
                    }
                    break;
                case "/reset_prefix_cache":
                    if (requireMethod(ex, method, "POST")) {
                        resetPrefixCache.set(true);     // on the engine thread, which owns the cache
                        LockSupport.unpark(engineThread);
                        ex.sendResponseHeaders(200, -1);
                    }
                    break;
                default:
                    sendJson(ex, 404, "{\"detail\":\"Not Found\"}");
            }
        } catch (BadRequest e) {
            sendJson(ex, e.status, e.body);
        } catch (ResetStream e) {
            cut = true;
            throw e;
        } finally {
            if (!cut) {
                ex.close();
            }
        }
    }

    private boolean requireMethod(HttpExchange ex, String method, String expected) throws IOException {
        if (method.equals(expected)) {
            return true;
        }
        ex.getResponseHeaders().set("Allow", expected);
        sendJson(ex, 405, "{\"detail\":\"Method Not Allowed\"}");
        return false;
    }

    private void hang(String path) {
        hanging.merge(path, 1, Integer::sum);
        stateChanged();
        try {
            closedLatch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            hanging.merge(path, -1, (a, b) -> a + b == 0 ? null : a + b);
        }
    }

    private void handleFaults(HttpExchange ex, String method) throws IOException {
        if (method.equals("POST")) {
            JsonNode n = readJson(ex);
            try {
                faults(new Faults(n.path("error_rate").asDouble(0), n.path("hang").asBoolean(false),
                        n.path("reset_after_events").asInt(0), n.path("stall").asBoolean(false),
                        n.path("error_after_events").asInt(0), n.path("reset_after_done").asBoolean(false)));
            } catch (IllegalArgumentException e) {
                throw BadRequest.of(e.getMessage());
            }
        } else if (!method.equals("GET")) {
            requireMethod(ex, method, "POST");
            return;
        }
        sendJson(ex, 200, faults.toJson());
    }

    /** Whether this request draws an injected error (and sends it). */
    private boolean injectError(HttpExchange ex) throws IOException {
        double rate = faults.errorRate();
        if (rate <= 0) {
            return false;
        }
        boolean fail;
        boolean unavailable;
        synchronized (faultRandom) {
            fail = faultRandom.nextDouble() < rate;
            unavailable = faultRandom.nextBoolean();
        }
        if (!fail) {
            return false;
        }
        if (unavailable) {
            sendJson(ex, 503, Json.error("Simulated fault: service unavailable", "ServiceUnavailableError", null, 503));
        } else {
            sendJson(ex, 500, Json.error("Simulated fault: internal server error", "InternalServerError", null, 500));
        }
        return true;
    }

    private void completion(HttpExchange ex, boolean chat) throws IOException {
        JsonNode body = readJson(ex);
        String model = servedModel(body);
        if (injectError(ex)) {
            return;
        }
        String prompt = chat ? chatPrompt(body) : completionPrompt(body);
        int[] ids = promptIds(body, chat);
        int promptTokens = Math.max(1, ids.length);
        if (promptTokens >= config.maxModelLen()) {
            throw BadRequest.of("This model's maximum context length is " + config.maxModelLen()
                    + " tokens. However, your request has " + promptTokens + " input tokens. Please reduce the length of the input messages.");
        }
        AnswerShape shape;
        try {
            shape = AnswerShape.of(body, chat, promptTokens, config);
        } catch (IllegalArgumentException e) {
            throw BadRequest.of(e.getMessage());
        }
        long requestSeed = body.path("seed").asLong(0);
        TokenText text;
        if (shape.continued()) {
            // vLLM's continue_final_message: go on from the assistant text; the words are those the
            // uninterrupted answer to the same conversation would have had after it.
            JsonNode messages = body.get("messages");
            text = new TokenText(config.seed(), chatPrompt(messages, messages.size() - 1), requestSeed);
            text.skip(shape.continuedReasoning() + shape.continuedContent());
        } else {
            text = new TokenText(config.seed(), prompt, requestSeed);
        }
        Faults now = faults;
        if (now.stall()) {
            stall(ex, shape.stream(), ex.getRequestURI().getPath());
            return;
        }

        int[] tokens = config.prefixCache() ? withAnswer(ids, text, shape.output()) : ids;
        long[] prefix = config.prefixCache() ? kvEvents.hashes(tokens) : null;
        HttpSequence seq = new HttpSequence(promptTokens, shape.output(), prefix, tokens, simulatedNowMs(), shape.reason());
        if (closed) {
            throw new BadRequest(503, Json.error("Simulator is shutting down", "ServiceUnavailableError", null, 503));
        }
        submit(seq);
        // vLLM's request id, and the answer's id, is based on the caller's X-Request-Id when it sent one
        String xRequestId = ex.getRequestHeaders().getFirst("X-Request-Id");
        String id = (chat ? "chatcmpl-" : "cmpl-") + (xRequestId != null ? xRequestId
                : String.format("%016x%016x", config.seed(), requestIds.incrementAndGet()));
        long created = System.currentTimeMillis() / 1000;
        String quotedModel = Json.quote(model);
        if (shape.stream()) {
            stream(ex, seq, new SseAnswer.Ids(chat, id, created, quotedModel), shape, text, now);
        } else {
            whole(ex, seq, chat, id, created, quotedModel, text, shape.reasoningTokens(config.reasoning()));
        }
    }

    private void whole(HttpExchange ex, Sequence seq, boolean chat, String id, long created, String quotedModel,
                       TokenText text, int reasoningTokens) throws IOException {
        while (!seq.done() && !closed) {
            awaitChange(seq, seq.produced());
        }
        if (seq.state() != Sequence.FINISHED) {
            seq.requestAbort();
            return;
        }
        StringBuilder reasoning = new StringBuilder();
        StringBuilder content = new StringBuilder(seq.outputTokens() * 8);
        for (int i = 0; i < seq.outputTokens(); i++) {
            (i < reasoningTokens ? reasoning : content).append(text.next());
        }
        StringBuilder b = new StringBuilder(content.length() + 512);
        b.append("{\"id\":\"").append(id).append("\",\"object\":\"").append(chat ? "chat.completion" : "text_completion")
                .append("\",\"created\":").append(created).append(",\"model\":").append(quotedModel).append(",\"choices\":[{\"index\":0,");
        if (chat) {
            b.append("\"message\":{\"role\":\"assistant\",\"content\":");
            Json.appendQuoted(b, content.toString());
            b.append(",\"").append(config.reasoning().field()).append("\":");
            if (reasoningTokens > 0) {
                Json.appendQuoted(b, reasoning.toString());
            } else {
                b.append("null");
            }
            b.append(",\"tool_calls\":[]},\"logprobs\":null,");
        } else {
            b.append("\"text\":");
            Json.appendQuoted(b, content.toString());
            b.append(",\"logprobs\":null,");
        }
        b.append("\"finish_reason\":\"").append(seq.finishReason()).append("\",\"stop_reason\":null}],");
        appendUsage(b, seq);
        b.append(",\"prompt_logprobs\":null}");
        ttftHeader(ex, seq);
        sendJson(ex, 200, b.toString());
    }

    private static void ttftHeader(HttpExchange ex, Sequence seq) {
        ex.getResponseHeaders().set("x-sim-ttft-ms", String.format(Locale.ROOT, "%.3f", seq.firstTokenMs() - seq.arrivalMs()));
    }

    private static void appendUsage(StringBuilder b, Sequence seq) {
        b.append("\"usage\":{\"prompt_tokens\":").append(seq.promptTokens())
                .append(",\"total_tokens\":").append(seq.promptTokens() + seq.produced())
                .append(",\"completion_tokens\":").append(seq.produced())
                .append(",\"prompt_tokens_details\":null}");
    }

    private void stream(HttpExchange ex, Sequence seq, SseAnswer.Ids ids, AnswerShape shape, TokenText text,
                        Faults now) throws IOException {
        sseHeaders(ex);
        try {
            new SseAnswer(ex.getResponseBody(), seq, ids, shape, config.reasoning(), now).write(text, (s, written) -> {
                awaitChange(s, written);
                return Progress.of(s, closed);
            });
        } catch (IOException e) {
            // The client went away: free the batch slot.
            seq.requestAbort();
        }
    }

    /** A stream's headers, sent at once as vLLM does (before any token), and pushed to the client. */
    private static void sseHeaders(HttpExchange ex) throws IOException {
        ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        ex.getResponseHeaders().set("Cache-Control", "no-cache");
        ex.sendResponseHeaders(200, 0);
        ex.getResponseBody().flush();
    }

    /** The {@link Faults#stall()} fault: a stream gets its headers, then, like any request, nothing. */
    private void stall(HttpExchange ex, boolean stream, String path) throws IOException {
        if (stream) {
            sseHeaders(ex);
        }
        hang(path);
    }

    /**
     * Thrown out of the handler to cut a stream: the JDK server then closes the connection without
     * ending the chunked body, which the client sees as a reset mid-stream.
     */
    static final class ResetStream extends RuntimeException {
        ResetStream() {
            super("simulated reset mid-stream", null, false, false);
        }
    }

    private void embeddings(HttpExchange ex) throws IOException {
        JsonNode body = readJson(ex);
        String model = servedModel(body);
        if (injectError(ex)) {
            return;
        }
        JsonNode input = body.get("input");
        List<String> inputs;
        if (input == null || input.isNull()) {
            throw BadRequest.of("input: missing (expected: a string or an array of strings)");
        } else if (input.isArray()) {
            java.util.ArrayList<String> list = new java.util.ArrayList<>();
            input.forEach(n -> list.add(n.isTextual() ? n.asText() : n.toString()));
            inputs = list;
        } else {
            inputs = List.of(input.asText());
        }
        StringBuilder b = new StringBuilder(512);
        b.append("{\"id\":\"embd-").append(String.format("%016x", requestIds.incrementAndGet()))
                .append("\",\"object\":\"list\",\"created\":").append(System.currentTimeMillis() / 1000)
                .append(",\"model\":").append(Json.quote(model)).append(",\"data\":[");
        int tokens = 0;
        for (int i = 0; i < inputs.size(); i++) {
            String s = inputs.get(i);
            tokens += TokenText.countTokens(s);
            if (i > 0) {
                b.append(',');
            }
            b.append("{\"index\":").append(i).append(",\"object\":\"embedding\",\"embedding\":[");
            SplittableRandom r = new SplittableRandom(config.seed() ^ s.hashCode());
            double[] v = new double[32];
            double norm = 0;
            for (int d = 0; d < v.length; d++) {
                v[d] = r.nextDouble(-1, 1);
                norm += v[d] * v[d];
            }
            norm = Math.sqrt(norm);
            for (int d = 0; d < v.length; d++) {
                if (d > 0) {
                    b.append(',');
                }
                b.append(String.format(Locale.ROOT, "%.6f", v[d] / norm));
            }
            b.append("]}");
        }
        b.append("],\"usage\":{\"prompt_tokens\":").append(tokens).append(",\"total_tokens\":").append(tokens)
                .append(",\"completion_tokens\":0,\"prompt_tokens_details\":null}}");
        sendJson(ex, 200, b.toString());
    }

    private void tokenize(HttpExchange ex) throws IOException {
        JsonNode body = readJson(ex);
        servedModel(body);
        int[] ids = promptIds(body, body.has("messages"));
        StringBuilder b = new StringBuilder(ids.length * 7 + 64);
        b.append("{\"count\":").append(ids.length).append(",\"max_model_len\":").append(config.maxModelLen()).append(",\"tokens\":[");
        for (int i = 0; i < ids.length; i++) {
            if (i > 0) {
                b.append(',');
            }
            b.append(ids[i]);
        }
        b.append("],\"token_strs\":null}");
        sendJson(ex, 200, b.toString());
    }

    /**
     * The prompt's token ids followed by those of the answer {@code text} is about to write: the
     * prefix cache caches the answer's blocks as they fill, as vLLM does.
     */
    private static int[] withAnswer(int[] prompt, TokenText text, int outputTokens) {
        int[] answer = text.ids(outputTokens);
        int[] all = java.util.Arrays.copyOf(prompt, prompt.length + answer.length);
        System.arraycopy(answer, 0, all, prompt.length, answer.length);
        return all;
    }

    /**
     * The prompt's token ids as the model would see them: a chat request's messages rendered with the
     * chat template ({@link SimTokenizer}), a completions prompt tokenized, or given as ids.
     */
    private static int[] promptIds(JsonNode body, boolean chat) {
        if (chat) {
            chatPrompt(body);   // checks the messages
            return SimTokenizer.encode(SimTokenizer.chatText(body));
        }
        JsonNode p = body.path("prompt");
        if (p.isArray() && p.size() > 0 && p.get(0).isIntegralNumber()) {
            int[] ids = new int[p.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = p.get(i).asInt();
            }
            return ids;
        }
        return SimTokenizer.encode(completionPrompt(body));
    }

    private String servedModel(JsonNode body) {
        JsonNode m = body.get("model");
        if (m == null || m.isNull()) {
            return config.models().get(0);
        }
        String model = m.asText();
        if (!config.models().contains(model)) {
            throw new BadRequest(404, Json.error("The model `" + model + "` does not exist.", "NotFoundError", "model", 404));
        }
        return model;
    }

    private static String chatPrompt(JsonNode body) {
        JsonNode messages = body.get("messages");
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw BadRequest.of("messages: " + messages + " (expected: a non-empty array of messages)");
        }
        return chatPrompt(messages, messages.size());
    }

    /** The first {@code count} messages as one prompt text. */
    private static String chatPrompt(JsonNode messages, int count) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < count; i++) {
            JsonNode msg = messages.get(i);
            b.append(msg.path("role").asText("user")).append(": ");
            JsonNode content = msg.get("content");
            if (content != null && content.isArray()) {
                for (JsonNode part : content) {
                    b.append(part.path("text").asText(""));
                }
            } else if (content != null && !content.isNull()) {
                b.append(content.asText());
            }
            b.append('\n');
        }
        return b.toString();
    }

    private static String completionPrompt(JsonNode body) {
        JsonNode prompt = body.get("prompt");
        if (prompt == null || prompt.isNull()) {
            throw BadRequest.of("prompt: missing (expected: a string, an array of strings or of token ids)");
        }
        if (prompt.isArray()) {
            StringBuilder b = new StringBuilder();
            for (JsonNode p : prompt) {
                b.append(p.isTextual() ? p.asText() : p.toString() + ' ');
            }
            return b.toString();
        }
        return prompt.asText();
    }

    private static JsonNode readJson(HttpExchange ex) throws IOException {
        byte[] bytes = ex.getRequestBody().readAllBytes();
        JsonNode n;
        try {
            n = MAPPER.readTree(bytes);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw BadRequest.of("Malformed JSON in request body: " + e.getOriginalMessage());
        }
        if (n == null || !n.isObject()) {
            throw BadRequest.of("Request body: expected a JSON object");
        }
        return n;
    }

    private String modelsJson() {
        StringBuilder b = new StringBuilder(256);
        b.append("{\"object\":\"list\",\"data\":[");
        long created = System.currentTimeMillis() / 1000;
        for (int i = 0; i < quotedModels.size(); i++) {
            String q = quotedModels.get(i);
            if (i > 0) {
                b.append(',');
            }
            b.append("{\"id\":").append(q).append(",\"object\":\"model\",\"created\":").append(created)
                    .append(",\"owned_by\":\"vllm\",\"root\":").append(q).append(",\"parent\":null,\"max_model_len\":")
                    .append(config.maxModelLen()).append(",\"permission\":[]}");
        }
        return b.append("]}").toString();
    }

    /**
     * vLLM's families, one series per data-parallel engine ({@link SimConfig#dataParallelSize()}):
     * this server's counts spread over its engines, and, as vLLM's front end writes it,
     * {@code vllm:cache_config_info} under every engine with the server's total {@code num_gpu_blocks}
     * and one engine's {@code kv_cache_size_tokens}.
     */
    private String metricsText() {
        SimMetrics m = new SimMetrics(quotedModels.get(0), config.dataParallelSize());
        m.untyped("process_max_fds", "Maximum number of open file descriptors.", 65536);
        m.gauge("vllm:num_requests_running", "Number of requests in model execution batches.", engine.running());
        m.gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", engine.waiting());
        extras.sleepMetrics(m);
        m.usage("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", engine.kvCacheUsage());
        m.counter("vllm:prompt_tokens_total", "Number of prefill tokens processed.", engine.promptTokensTotal());
        m.counter("vllm:generation_tokens_total", "Number of generation tokens processed.", engine.generationTokensTotal());
        m.counter("vllm:prefix_cache_queries_total", "Prefix cache queries, in terms of number of queried tokens.", engine.prefixCacheQueries());
        m.counter("vllm:prefix_cache_hits_total", "Prefix cache hits, in terms of number of cached tokens.", engine.prefixCacheHits());
        m.cacheConfig(BatchEngine.BLOCK_SIZE, config.prefixCache() ? config.prefixCacheBlocks() : config.kvCacheBlocks(),
                config.prefixCache());
        m.histograms(histograms);
        m.requestSuccess(new String[] {"stop", "length", "abort"}, engine::successTotal);
        return m.text();
    }

    /** What a generation run for another class's endpoint hears, token by token. */
    interface TokenSink {
        /** The text of the next token; an IOException (the client went away) aborts the sequence. */
        void token(String text) throws IOException;
    }

    /**
     * Runs one generation through the engine on the calling handler thread, for endpoints kept in
     * other classes (the Responses API, audio uploads): {@code maxTokens} (or the default output
     * length when 0) after a prompt of {@code promptTokens}, each token's text handed to {@code sink}
     * as the engine produces it. Returns the sequence, finished, or aborted when the simulator closed
     * or {@code abort} was set.
     */
    Sequence generate(String model, String prompt, int promptTokens, int maxTokens, long seed, TokenSink sink,
                      java.util.function.BooleanSupplier abort) throws IOException {
        int room = Math.max(1, config.maxModelLen() - promptTokens);
        int output = maxTokens > 0 ? Math.min(maxTokens, room) : Math.min(config.defaultOutputTokens(), room);
        String reason = maxTokens > 0 || output < config.defaultOutputTokens() ? "length" : "stop";
        int[] ids = SimTokenizer.encode(prompt);
        TokenText text = new TokenText(config.seed(), prompt, seed);
        int[] tokens = config.prefixCache() ? withAnswer(ids, text, output) : ids;
        long[] prefix = config.prefixCache() ? kvEvents.hashes(tokens) : null;
        HttpSequence seq = new HttpSequence(promptTokens, output, prefix, tokens, simulatedNowMs(), reason);
        submit(seq);
        int written = 0;
        try {
            while (true) {
                awaitChange(seq, written);
                Progress progress = Progress.of(seq, closed);
                for (; written < progress.produced(); written++) {
                    sink.token(text.next());
                }
                if (abort.getAsBoolean() && !progress.ended()) {
                    seq.requestAbort();
                }
                if (progress.ended()) {
                    return seq;
                }
            }
        } catch (IOException e) {
            seq.requestAbort();
            throw e;
        }
    }

    /** Runs {@code task} on a handler thread: work that outlives the request that started it. */
    void background(Runnable task) {
        handlers.execute(task);
    }

    static void sendJson(HttpExchange ex, int status, String json) throws IOException {
        send(ex, status, "application/json", json);
    }

    private static void send(HttpExchange ex, int status, String contentType, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", contentType);
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** A request the simulator refuses, with its status and JSON body. */
    private static final class BadRequest extends RuntimeException {
        final int status;
        final String body;

        BadRequest(int status, String body) {
            super(body, null, false, false);
            this.status = status;
            this.body = body;
        }

        static BadRequest of(String message) {
            return new BadRequest(400, Json.error(message, "BadRequestError", null, 400));
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
