package io.vllmrouter.examples.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.RouterException;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.api.RouterStats;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.core.RouterJson;
import io.vllmrouter.api.ModelInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The standalone proxy's HTTP front: OpenAI-compatible endpoints forwarded through a
 * {@link VllmRouter}, plus {@code /}, {@code /health}, {@code /load-stats} and
 * {@code /metrics}. Built on the JDK's {@code com.sun.net.httpserver}, so a host application can
 * copy it without adding a web framework.
 *
 * <pre>{@code
 * ProxyMetrics metrics = new ProxyMetrics();
 * VllmRouter router = VllmRouters.builder().config(config).listener(metrics).build();
 * ProxyServer server = ProxyServer.start(router, ProxyOptions.builder().port(8888).metrics(metrics).build());
 * ...
 * server.stop(Duration.ofSeconds(10));   // drains in-flight requests; then close the router
 * router.close();
 * }</pre>
 *
 * <p>Responses stream: each chunk read from the backend is written and flushed at once, so SSE
 * events reach the client one by one. When the client goes away (a write fails) the
 * {@link RouterResponse} is closed, which cancels the upstream request. Every exchange runs on its
 * own thread (virtual on Java 21+, see {@link ServerExecutors}).
 *
 * <p>Paths: every path under {@code /v1/} is forwarded (GET and POST), as are vLLM's
 * {@code /tokenize}, {@code /detokenize}, {@code /pooling}, {@code /classify}, {@code /score},
 * {@code /rerank} and {@code /v2/rerank} (POST). {@code GET /v1/models} and
 * {@code GET /v1/models/{id}} are answered from the router's model catalogue. Paths with dot
 * segments, {@code //}, encoded slashes or backslashes are refused with 400 before anything else.
 *
 * <p>Thread-safe. The server does not own the router: {@link #stop} leaves it open.
 */
public final class ProxyServer implements AutoCloseable {

    static {
        JvmSettings.apply(); // TCP_NODELAY for SSE events, before the first server is created
    }

    private static final Logger LOG = LoggerFactory.getLogger(ProxyServer.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int BUFFER_BYTES = 8192;

    /** vLLM endpoints outside /v1 that are forwarded (POST). */
    static final Set<String> EXTRA_FORWARDED = Set.of(
            "/tokenize", "/detokenize", "/pooling", "/classify", "/score", "/rerank", "/v2/rerank");

    /** Headers not passed upstream: hop-by-hop ones and those the HTTP client sets itself. */
    private static final Set<String> REQUEST_SKIP = Set.of(
            "host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "trailer",
            "upgrade", "expect", "proxy-connection", "proxy-authorization", "proxy-authenticate");

    /** Headers not passed back to the client: hop-by-hop ones and those this server sets. */
    private static final Set<String> RESPONSE_SKIP = Set.of(
            "content-length", "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
            "date", "server", "proxy-connection");

    private final VllmRouter router;
    private final ProxyOptions options;
    private final HttpServer server;
    private final ExecutorService executor;
    private final Instant startedAt = Instant.now();
    private final AtomicInteger active = new AtomicInteger();
    private final AtomicBoolean stopped = new AtomicBoolean();
    private final Object drainLock = new Object();
    private volatile boolean stopping;

    private ProxyServer(VllmRouter router, ProxyOptions options, HttpServer server, ExecutorService executor) {
        this.router = router;
        this.options = options;
        this.server = server;
        this.executor = executor;
    }

    /**
     * Binds {@code options.host():options.port()} and starts serving.
     *
     * @throws IOException when the address cannot be bound (in use, bad host)
     */
    public static ProxyServer start(VllmRouter router, ProxyOptions options) throws IOException {
        Objects.requireNonNull(router, "router");
        Objects.requireNonNull(options, "options");
        HttpServer http = HttpServer.create(new InetSocketAddress(options.host(), options.port()), 1024);
        ExecutorService executor = ServerExecutors.create("vllm-router-http");
        ProxyServer proxy = new ProxyServer(router, options, http, executor);
        http.createContext("/", proxy::handle);
        http.setExecutor(executor);
        http.start();
        LOG.info("listening on http://{}:{} ({} threads)", options.host(), proxy.port(),
                ServerExecutors.virtualThreadsAvailable() ? "virtual" : "platform");
        return proxy;
    }

    /** The port actually bound (useful with port 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    /** The address actually bound. */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    /** When this server started. */
    public Instant startedAt() {
        return startedAt;
    }

    /** The metrics behind {@code /metrics}. */
    public ProxyMetrics metrics() {
        return options.metrics();
    }

    /** Whether {@link #stop} has begun. */
    public boolean isStopping() {
        return stopping;
    }

    /** Exchanges being served now. */
    public int activeExchanges() {
        return active.get();
    }

    /**
     * Stops: new requests get 503 at once, in-flight ones may finish within {@code grace}; then the
     * listener and all connections are closed (cutting streams still running, whose upstream
     * requests are then cancelled). Idempotent; the router stays open.
     */
    public void stop(Duration grace) {
        if (!stopped.compareAndSet(false, true)) {
            return;
        }
        stopping = true;
        long deadline = System.nanoTime() + grace.toNanos();
        synchronized (drainLock) {
            while (active.get() > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(drainLock, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        int cut = active.get();
        if (cut > 0) {
            LOG.warn("grace period of {} ms over; closing {} request(s) still in flight", grace.toMillis(), cut);
        }
        server.stop(0);
        executor.shutdownNow();
        LOG.info("stopped listening on port {}", port());
    }

    /** {@link #stop} with the options' grace period. */
    @Override
    public void close() {
        stop(options.grace());
    }

    private void handle(HttpExchange ex) {
        active.incrementAndGet();
        try {
            if (stopping) {
                ex.getResponseHeaders().set("Connection", "close");
                sendError(ex, 503, "server_error", "shutting_down", "The router is shutting down", 1);
                return;
            }
            dispatch(ex);
        } catch (IOException e) {
            LOG.debug("client connection failed: {}", e.toString());
        } catch (RuntimeException | Error e) {
            LOG.error("internal error serving {} {}", ex.getRequestMethod(), ex.getRequestURI(), e);
            if (ex.getResponseCode() < 0) {
                try {
                    sendError(ex, 500, "server_error", "internal_error", "Internal error: " + e, -1);
                } catch (IOException ignored) {
                    // the client is gone as well
                }
            }
        } finally {
            try {
                ex.close();
            } catch (RuntimeException ignored) {
                // closing a broken connection
            }
            if (active.decrementAndGet() == 0 && stopping) {
                synchronized (drainLock) {
                    drainLock.notifyAll();
                }
            }
        }
    }

    private void dispatch(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getRawPath();
        String refused = PathGuard.check(path);
        if (refused != null) {
            sendError(ex, 400, "invalid_request_error", "invalid_path", "Refused path: " + refused, -1);
            return;
        }
        String method = ex.getRequestMethod().toUpperCase(Locale.ROOT);
        switch (path) {
            case "/":
                if (allow(ex, method, "GET")) {
                    sendJson(ex, 200, JSON.writeValueAsBytes(info()));
                }
                return;
            case "/health":
                if (allow(ex, method, "GET")) {
                    health(ex);
                }
                return;
            case "/load-stats":
                if (allow(ex, method, "GET")) {
                    sendJson(ex, 200, RouterJson.mapper().writeValueAsBytes(router.stats()));
                }
                return;
            case "/metrics":
                if (allow(ex, method, "GET")) {
                    byte[] text = options.metrics().render(router.stats()).getBytes(StandardCharsets.UTF_8);
                    ex.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
                    send(ex, 200, text);
                }
                return;
            case "/v1/models":
                if (allow(ex, method, "GET")) {
                    sendJson(ex, 200, JSON.writeValueAsBytes(models()));
                }
                return;
            default:
                break;
        }
        if (path.startsWith("/v1/models/") && method.equals("GET")) {
            model(ex, path.substring("/v1/models/".length()));
        } else if (path.startsWith("/v1/")) {
            if (allow(ex, method, "GET, POST")) {
                forward(ex, method, path);
            }
        } else if (EXTRA_FORWARDED.contains(path)) {
            if (allow(ex, method, "POST")) {
                forward(ex, method, path);
            }
        } else {
            sendError(ex, 404, "invalid_request_error", "not_found",
                    "Unknown path: " + method + " " + path + " (see GET / for the endpoints)", -1);
        }
    }

    /** Answers 405 and returns false unless {@code method} is one of {@code allowed} (comma-separated). */
    /** {@code allowed}: methods separated by ", ", as the Allow header lists them. */
    private static boolean allow(HttpExchange ex, String method, String allowed) throws IOException {
        // Compared in place: this runs on every forwarded request, so no split (a regex) per call.
        for (int i = 0; i < allowed.length(); ) {
            int end = allowed.indexOf(',', i);
            if (end < 0) {
                end = allowed.length();
            }
            if (allowed.regionMatches(i, method, 0, method.length()) && end - i == method.length()) {
                return true;
            }
            i = end + 1;
            while (i < allowed.length() && allowed.charAt(i) == ' ') {
                i++;
            }
        }
        ex.getResponseHeaders().set("Allow", allowed);
        sendError(ex, 405, "invalid_request_error", "method_not_allowed",
                "Method " + method + " not allowed on " + ex.getRequestURI().getRawPath() + " (allowed: " + allowed + ")", -1);
        return false;
    }

    private void forward(HttpExchange ex, String method, String path) throws IOException {
        long limit = options.maxBodyBytes() > 0 ? options.maxBodyBytes() : router.config().maxBodyBytes();
        String declared = ex.getRequestHeaders().getFirst("Content-Length");
        if (declared != null) {
            long length;
            try {
                length = Long.parseLong(declared.trim());
            } catch (NumberFormatException e) {
                sendError(ex, 400, "invalid_request_error", "invalid_request", "Bad Content-Length: " + declared, -1);
                return;
            }
            if (length > limit) {
                tooLarge(ex, limit);
                return;
            }
        }
        byte[] body = readBounded(ex.getRequestBody(), limit);
        if (body == null) {
            tooLarge(ex, limit);
            return;
        }

        String query = ex.getRequestURI().getRawQuery();
        RouterRequest.Builder request = RouterRequest.builder(method, query == null ? path : path + "?" + query)
                .body(body);
        for (Map.Entry<String, List<String>> h : ex.getRequestHeaders().entrySet()) {
            if (!REQUEST_SKIP.contains(h.getKey().toLowerCase(Locale.ROOT))) {
                for (String v : h.getValue()) {
                    request.header(h.getKey(), v);
                }
            }
        }
        String requestId = ex.getRequestHeaders().getFirst("X-Request-Id");
        if (requestId != null && !requestId.isBlank() && requestId.length() <= 200) {
            request.requestId(requestId);
        }

        RouterResponse response;
        try {
            response = router.route(request.build());
        } catch (RouterException e) {
            LOG.debug("request refused: {} {}", e.httpStatus(), e.getMessage());
            sendError(ex, e.httpStatus(), e.errorType(), e.errorCode(), e.getMessage(), e.retryAfterSeconds());
            return;
        }
        try (response) {
            relay(ex, method, response);
        }
    }

    private static void tooLarge(HttpExchange ex, long limit) throws IOException {
        ex.getResponseHeaders().set("Connection", "close");
        sendError(ex, 413, "invalid_request_error", "request_too_large",
                "Request body larger than max_body_bytes (" + limit + " bytes)", -1);
    }

    /** Reads at most {@code limit} bytes; null when the body is longer. Buffers at most limit + 1 bytes. */
    static byte[] readBounded(InputStream in, long limit) throws IOException {
        int cap = (int) Math.min(limit + 1, Integer.MAX_VALUE - 16);
        byte[] buf = new byte[(int) Math.min(cap, 16 * 1024)];
        int n = 0;
        while (true) {
            if (n == buf.length) {
                if (n >= cap) {
                    break;
                }
                buf = java.util.Arrays.copyOf(buf, (int) Math.min((long) n * 2, cap));
            }
            int r = in.read(buf, n, buf.length - n);
            if (r < 0) {
                break;
            }
            n += r;
        }
        if (n > limit) {
            return null;
        }
        return n == buf.length ? buf : java.util.Arrays.copyOf(buf, n);
    }

    /** Writes the backend's answer, flushing each chunk as it arrives. */
    private static void relay(HttpExchange ex, String method, RouterResponse response) throws IOException {
        Headers out = ex.getResponseHeaders();
        for (Map.Entry<String, List<String>> h : response.headers().entrySet()) {
            if (!RESPONSE_SKIP.contains(h.getKey().toLowerCase(Locale.ROOT))) {
                out.put(h.getKey(), h.getValue());
            }
        }
        if (response.requestId() != null) {
            out.set("X-Request-Id", response.requestId());
        }
        int status = response.status();
        long length = 0; // chunked: streams and unknown lengths
        if (status == 204 || status == 304 || method.equals("HEAD")) {
            length = -1;
        } else if (!response.isEventStream()) {
            String declared = response.header("content-length");
            if (declared != null) {
                try {
                    long n = Long.parseLong(declared.trim());
                    length = n == 0 ? -1 : n;
                } catch (NumberFormatException ignored) {
                    length = 0;
                }
            }
        }
        ex.sendResponseHeaders(status, length);
        if (length == -1) {
            return;
        }
        OutputStream body = ex.getResponseBody();
        InputStream in = response.body();
        byte[] buf = new byte[BUFFER_BYTES];
        while (true) {
            int n;
            try {
                n = in.read(buf);
            } catch (IOException e) {
                LOG.debug("upstream body of request {} from {} failed: {}", response.requestId(), response.backendId(), e.toString());
                return;
            }
            if (n < 0) {
                return;
            }
            try {
                body.write(buf, 0, n);
                body.flush();
            } catch (IOException e) {
                LOG.debug("client went away during request {}; cancelling upstream", response.requestId());
                response.close();
                return;
            }
        }
    }

    private ObjectNode info() {
        ObjectNode n = JSON.createObjectNode();
        n.put("service", "vLLM Router");
        n.put("name", "vllm-router");
        n.put("version", options.version());
        n.put("status", stopping ? "stopping" : "running");
        n.put("strategy", router.config().strategy());
        n.put("started_at", startedAt.toString());
        n.put("uptime_seconds", Duration.between(startedAt, Instant.now()).toSeconds());
        n.put("servers", router.config().servers().size());
        ObjectNode e = n.putObject("endpoints");
        e.put("POST /v1/chat/completions", "chat completions (stream or not), forwarded");
        e.put("POST /v1/completions", "text completions, forwarded");
        e.put("POST /v1/embeddings", "embeddings, forwarded");
        e.put("GET /v1/models", "models of the healthy backends (union)");
        e.put("/v1/*", "every other OpenAI/vLLM path under /v1, forwarded (GET, POST)");
        e.put("POST " + String.join(", ", new java.util.TreeSet<>(EXTRA_FORWARDED)), "vLLM's endpoints outside /v1, forwarded");
        e.put("GET /health", "fleet health; 200 when a backend is admitted, else 503");
        e.put("GET /load-stats", "live load per backend");
        e.put("GET /metrics", "Prometheus metrics of the router");
        return n;
    }

    private void health(HttpExchange ex) throws IOException {
        RouterStats stats = router.stats();
        int total = stats.servers().size();
        int healthy = 0;
        ArrayNode servers = JSON.createArrayNode();
        for (BackendStats s : stats.servers()) {
            if (s.status()) {
                healthy++;
            }
            ObjectNode n = servers.addObject();
            n.put("url", s.url());
            n.put("healthy", s.status());
            BackendStats.HealthStats h = s.health();
            n.put("health_check", h == null ? null : (h.healthy() ? "passing" : "failing"));
            n.put("last_check", h == null || h.lastCheckEpochMillis() < 0 ? null
                    : Instant.ofEpochMilli(h.lastCheckEpochMillis()).toString());
            n.put("consecutive_failures", h == null ? 0 : h.consecutiveFailures());
            n.put("success_rate", h == null ? 1.0 : round3(h.recentSuccessRate()));
            if (h == null || h.responseTimeMillis() < 0) {
                n.putNull("response_time_ms");
            } else {
                n.put("response_time_ms", Math.round(h.responseTimeMillis() * 10) / 10.0);
            }
            n.put("reason", h == null ? null : h.reason());
            n.put("circuit_breaker", s.circuitState() == null ? "disabled" : s.circuitState().name().toLowerCase(Locale.ROOT));
            n.put("draining", s.draining());
            n.put("in_flight", s.inFlight());
            ArrayNode models = n.putArray("models");
            s.models().forEach(models::add);
        }
        String status = total > 0 && healthy == total ? "healthy" : healthy > 0 ? "degraded" : "unhealthy";
        ObjectNode root = JSON.createObjectNode();
        root.put("status", status);
        root.put("total_servers", total);
        root.put("healthy_servers", healthy);
        root.put("unhealthy_servers", total - healthy);
        root.put("strategy", stats.strategy());
        root.put("timestamp", stats.generatedAt() == null ? Instant.now().toString() : stats.generatedAt().toString());
        root.set("servers", servers);
        sendJson(ex, healthy > 0 ? 200 : 503, JSON.writeValueAsBytes(root));
    }

    private static double round3(double d) {
        return Math.round(d * 1000) / 1000.0;
    }

    /** OpenAI's list shape over the router's catalogue, each model once (first backend's entry kept). */
    private ObjectNode models() {
        ObjectNode root = JSON.createObjectNode();
        root.put("object", "list");
        ArrayNode data = root.putArray("data");
        Set<String> seen = new LinkedHashSet<>();
        for (ModelInfo m : router.models()) {
            if (seen.add(m.id())) {
                data.add(entry(m));
            }
        }
        return root;
    }

    private static ObjectNode entry(ModelInfo m) {
        try {
            if (JSON.readTree(m.json()) instanceof ObjectNode raw) {
                return raw;
            }
        } catch (IOException e) {
            // the backend's entry was JSON when it was read; fall back to the plain shape
        }
        ObjectNode n = JSON.createObjectNode();
        n.put("id", m.id());
        n.put("object", "model");
        n.put("owned_by", "vllm");
        return n;
    }

    private void model(HttpExchange ex, String rawId) throws IOException {
        String id = java.net.URLDecoder.decode(rawId.replace("+", "%2B"), StandardCharsets.UTF_8);
        for (ModelInfo m : router.models()) {
            if (m.id().equals(id)) {
                sendJson(ex, 200, JSON.writeValueAsBytes(entry(m)));
                return;
            }
        }
        sendError(ex, 404, "invalid_request_error", "model_not_found",
                "The model '" + id + "' does not exist on any healthy backend", -1);
    }

    /** Writes OpenAI's error shape {@code {"error":{"message","type","param","code"}}}. */
    static void sendError(HttpExchange ex, int status, String type, String code, String message, int retryAfterSeconds)
            throws IOException {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode error = root.putObject("error");
        error.put("message", message);
        error.put("type", type);
        error.putNull("param");
        error.put("code", code);
        if (retryAfterSeconds >= 0) {
            ex.getResponseHeaders().set("Retry-After", String.valueOf(retryAfterSeconds));
        }
        sendJson(ex, status, JSON.writeValueAsBytes(root));
    }

    private static void sendJson(HttpExchange ex, int status, byte[] json) throws IOException {
        ex.getResponseHeaders().set("Content-Type", "application/json");
        send(ex, status, json);
    }

    private static void send(HttpExchange ex, int status, byte[] body) throws IOException {
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        if (body.length > 0) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
    }
}
