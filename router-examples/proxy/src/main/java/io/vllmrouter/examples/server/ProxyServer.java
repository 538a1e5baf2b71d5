package io.vllmrouter.examples.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelOption;
import io.netty.util.NetUtil;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.vllmrouter.core.config.AccessConfig;
import io.vllmrouter.core.config.RouterConfig;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.RouterStats;
import io.vllmrouter.api.ModelInfo;
import io.vllmrouter.api.VllmRouter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The standalone proxy's HTTP front: OpenAI-compatible endpoints forwarded through a
 * {@link VllmRouter}, plus {@code /}, {@code /health}, {@code /load-stats} and
 * {@code /metrics}. Built on Netty: a few event-loop threads (one per core, {@link EventLoops})
 * serve every connection; no thread is held by a request, however long it streams.
 *
 * <pre>{@code
 * ProxyMetrics metrics = new ProxyMetrics();
 * EventLoops loops = EventLoops.create(0);
 * VllmRouter router = VllmRouters.builder().config(config).listener(metrics)
 *         .transport(NettyTransport.create(loops)).build();
 * ProxyServer server = ProxyServer.start(router, ProxyOptions.builder().port(8888).metrics(metrics)
 *         .eventLoops(loops).build());
 * ...
 * server.stop(Duration.ofSeconds(10));   // drains in-flight requests; then close the router
 * router.close();
 * loops.close();
 * }</pre>
 *
 * <p>Responses stream: each chunk the router passes on ({@code RouterResponse.bodyPublisher()}) is
 * written and flushed at once, so SSE events reach the client one by one, and the next chunk is
 * asked for only when the previous one was written: a client that reads slowly slows its backend,
 * with at most one read's worth of bytes held per stream. When the client goes away the response
 * is closed, which cancels the upstream request. An answer cut short never ends like a complete
 * one: an event stream gets an error event and the connection is aborted without the chunked
 * terminator; any other body is aborted.
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
        JvmSettings.apply(); // settings read once by the JDK HTTP client, used when no transport is given
    }

    private static final Logger LOG = LoggerFactory.getLogger(ProxyServer.class);
    static final ObjectMapper JSON = new ObjectMapper();

    /**
     * vLLM's administration endpoints: never forwarded unless {@code allow_admin_paths} (those
     * outside /v1 are then forwarded as POST).
     */
    static final Set<String> ADMIN_PATHS = Set.of(
            "/v1/load_lora_adapter", "/v1/unload_lora_adapter", "/reset_prefix_cache", "/reset_mm_cache",
            "/start_profile", "/stop_profile", "/sleep", "/wake_up", "/is_sleeping", "/collective_rpc",
            "/scale_elastic_ep", "/is_scaling_elastic_ep", "/server_info");

    /** vLLM endpoints outside /v1 that are forwarded (POST). */
    static final Set<String> EXTRA_FORWARDED = Set.of(
            "/tokenize", "/detokenize", "/pooling", "/classify", "/score", "/rerank", "/v2/rerank");

    private final VllmRouter router;
    private final ProxyOptions options;
    private final EventLoops loops;
    private final boolean ownsLoops;
    private final Channel listener;
    private final ChannelGroup connections;
    private final Instant startedAt = Instant.now();
    private final AtomicInteger active = new AtomicInteger();
    private final AtomicLong buffered = new AtomicLong();
    private final AtomicLong maxBuffered = new AtomicLong();
    private final AtomicLong bodyBytes = new AtomicLong();
    private final KeyLimits keyLimits = new KeyLimits(io.vllmrouter.api.time.Ticker.system());
    private final AtomicBoolean stopped = new AtomicBoolean();
    private final Object drainLock = new Object();
    private volatile boolean stopping;
    private final CompletableFuture<Void> stopBegun = new CompletableFuture<>();
    private final io.vllmrouter.examples.dashboard.WebDashboardFeed dashboard;

    private ProxyServer(VllmRouter router, ProxyOptions options, EventLoops loops, boolean ownsLoops,
                        Channel listener, ChannelGroup connections) {
        this.router = router;
        this.options = options;
        this.loops = loops;
        this.ownsLoops = ownsLoops;
        this.listener = listener;
        this.connections = connections;
        this.dashboard = DashboardPage.feed(router, options, loops.timers(), address(), startedAt);
    }

    /**
     * Binds {@code options.host():options.port()} and starts serving, on {@code options.eventLoops()}
     * or on event loops of its own (one per core) that {@link #stop} shuts down.
     *
     * @throws IOException when the address cannot be bound (in use, bad host)
     */
    public static ProxyServer start(VllmRouter router, ProxyOptions options) throws IOException {
        Objects.requireNonNull(router, "router");
        Objects.requireNonNull(options, "options");
        boolean own = options.eventLoops() == null;
        EventLoops loops = own ? EventLoops.create(0) : options.eventLoops();
        ChannelGroup connections = new DefaultChannelGroup("vllm-router-connections", GlobalEventExecutor.INSTANCE);
        ProxyServer[] self = new ProxyServer[1];
        AccessConfig access = accessOf(router);
        SslContext tls = access.tls() ? tlsContext(access) : null;
        ServerBootstrap b = new ServerBootstrap()
                .group(loops.group())
                .channel(loops.serverChannel())
                // Bursts of thousands of connections (clients opening streams at once) must wait in
                // the kernel's accept queue, not overflow it: as long as the system allows.
                .option(ChannelOption.SO_BACKLOG, Math.max(1024, NetUtil.SOMAXCONN))
                .option(ChannelOption.RCVBUF_ALLOCATOR, new AdaptiveRecvByteBufAllocator().maxMessagesPerRead(256))
                .option(ChannelOption.SO_REUSEADDR, true)
                // No accept until the server below exists: a connection's handlers need it.
                .option(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.ALLOCATOR, loops.allocator())
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        connections.add(ch);
                        if (tls != null) {
                            ch.pipeline().addLast("tls", tls.newHandler(ch.alloc()));
                        }
                        ProxyHandler handler = new ProxyHandler(self[0]);
                        ch.pipeline().addLast("bytes", handler.byteWatch());
                        int headerBytes = self[0].access().maxHeaderBytes();
                        HttpServerCodec http = new HttpServerCodec(Math.min(8192, headerBytes), headerBytes, 64 * 1024);
                        if (tls != null) {
                            H2cFrontDoor.installAlpn(ch.pipeline(), self[0], http); // h2 by ALPN, else HTTP/1.1
                        } else {
                            // HTTP/1.1, or h2c (prior knowledge or Upgrade) when the client speaks it
                            H2cFrontDoor.install(ch.pipeline(), self[0], http);
                        }
                        ch.pipeline().addLast("proxy", handler);
                    }
                });
        Channel ch;
        try {
            ch = b.bind(new InetSocketAddress(options.host(), options.port())).syncUninterruptibly().channel();
        } catch (RuntimeException e) {
            if (own) {
                loops.close();
            }
            // Netty rethrows the bind's IOException unchecked (sneaky throw)
            if ((Object) e instanceof IOException io) {
                throw io;
            }
            throw new IOException(e.getMessage() == null ? e.toString() : e.getMessage(), e);
        } catch (Exception e) {
            if (own) {
                loops.close();
            }
            if (e instanceof IOException io) {
                throw io;
            }
            throw new IOException(e.getMessage(), e);
        }
        ProxyServer proxy = new ProxyServer(router, options, loops, own, ch, connections);
        self[0] = proxy;
        ch.config().setAutoRead(true);
        LOG.info("listening on {}://{}:{} ({} event loops, {}{})", tls != null ? "https" : "http", options.host(),
                proxy.port(), loops.threads(), loops.kind(), access.authEnabled() ? ", API keys required" : "");
        return proxy;
    }

    /** The port actually bound (useful with port 0). */
    public int port() {
        return address().getPort();
    }

    /** The address actually bound. */
    public InetSocketAddress address() {
        return (InetSocketAddress) listener.localAddress();
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

    /**
     * Completes when {@link #stop} begins, once new requests are already being refused; for
     * whoever must act at that moment (a test, a supervisor) without polling {@link #isStopping}.
     * The returned stage is a copy: completing it does not stop the server.
     */
    public CompletableFuture<Void> stopping() {
        return stopBegun.copy();
    }

    /** Exchanges being served now. */
    public int activeExchanges() {
        return active.get();
    }

    /**
     * Response bytes the proxy holds right now: taken from backends and not yet written to their
     * clients' sockets. Bounded per stream by one read from the backend, whatever the client's
     * speed.
     */
    public long bufferedResponseBytes() {
        return buffered.get();
    }

    /** The most {@link #bufferedResponseBytes()} has been since the start. */
    public long maxBufferedResponseBytes() {
        return maxBuffered.get();
    }

    /** The event loops this server runs on. */
    public EventLoops eventLoops() {
        return loops;
    }

    /**
     * Stops: new requests get 503 at once, in-flight ones may finish within {@code grace}; then the
     * listener and all connections are closed (cutting streams still running, whose upstream
     * requests are then cancelled). Idempotent; the router stays open. Call it from a thread of
     * your own, not an event loop.
     */
    public void stop(Duration grace) {
        if (!stopped.compareAndSet(false, true)) {
            return;
        }
        stopping = true;
        stopBegun.complete(null);
        dashboard.close();
        H2cFrontDoor.goAway(connections); // HTTP/2 clients open no new streams; those in flight go on
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
        int port = port();
        listener.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        // Answers already written reach their clients before the connections close.
        connections.writeAndFlush(Unpooled.EMPTY_BUFFER).awaitUninterruptibly(1, TimeUnit.SECONDS);
        connections.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        if (ownsLoops) {
            loops.close();
        }
        LOG.info("stopped listening on port {}", port);
    }

    /** {@link #stop} with the options' grace period. */
    @Override
    public void close() {
        stop(options.grace());
    }

    // ---- for ProxyHandler ---------------------------------------------------------------------

    VllmRouter router() {
        return router;
    }

    ProxyOptions options() {
        return options;
    }

    void exchangeStarted() {
        active.incrementAndGet();
    }

    void exchangeEnded() {
        if (active.decrementAndGet() == 0 && stopping) {
            synchronized (drainLock) {
                drainLock.notifyAll();
            }
        }
    }

    void buffered(long delta) {
        long now = buffered.addAndGet(delta);
        if (delta > 0) {
            maxBuffered.accumulateAndGet(now, Math::max);
        }
    }

    /** The admission settings now in force (read per connection and request, so a reload applies). */
    AccessConfig access() {
        return accessOf(router);
    }

    private static AccessConfig accessOf(VllmRouter router) {
        return router.config() instanceof RouterConfig c ? c.access() : AccessConfig.DEFAULT;
    }

    private static SslContext tlsContext(AccessConfig access) throws IOException {
        try {
            return SslContextBuilder.forServer(access.tlsCertFile().toFile(), access.tlsKeyFile().toFile())
                    .sslProvider(SslProvider.JDK)
                    .applicationProtocolConfig(new io.netty.handler.ssl.ApplicationProtocolConfig(
                            io.netty.handler.ssl.ApplicationProtocolConfig.Protocol.ALPN,
                            io.netty.handler.ssl.ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                            io.netty.handler.ssl.ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                            io.netty.handler.ssl.ApplicationProtocolNames.HTTP_2,
                            io.netty.handler.ssl.ApplicationProtocolNames.HTTP_1_1))
                    .build();
        } catch (javax.net.ssl.SSLException | IllegalArgumentException e) {
            throw new IOException("tls_cert_file " + access.tlsCertFile() + " / tls_key_file " + access.tlsKeyFile()
                    + ": cannot be used (expected: a PEM certificate and its PEM PKCS#8 private key, unencrypted): "
                    + (e.getCause() != null && e.getCause().getMessage() != null ? e.getCause().getMessage() : e.getMessage()), e);
        }
    }

    KeyLimits keyLimits() {
        return keyLimits;
    }

    /** Reserves {@code n} bytes of request-body memory; false when max_buffered_body_bytes would be exceeded. */
    boolean reserveBody(long n) {
        long max = access().maxBufferedBodyBytes();
        while (true) {
            long now = bodyBytes.get();
            if (now + n > max) {
                return false;
            }
            if (bodyBytes.compareAndSet(now, now + n)) {
                return true;
            }
        }
    }

    void releaseBody(long n) {
        bodyBytes.addAndGet(-n);
    }

    /** Request-body bytes held now, across all connections. */
    public long bufferedBodyBytes() {
        return bodyBytes.get();
    }

    long maxBodyBytes() {
        return options.maxBodyBytes() > 0 ? options.maxBodyBytes() : router.config().maxBodyBytes();
    }

    byte[] metricsText() {
        return options.metrics().render(router.stats()).getBytes(StandardCharsets.UTF_8);
    }

    // ---- local endpoints ----------------------------------------------------------------------

    ObjectNode info() {
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
        e.put("GET /health", "readiness: 200 while a server is eligible, else 503, with each server's state and reason");
        e.put("GET /load-stats", "live load per backend");
        e.put("GET /metrics", "Prometheus metrics of the router");
        e.put("GET " + DashboardPage.PATH, "live web dashboard of the fleet");
        return n;
    }

    /** The web dashboard's data ({@code GET /dashboard/data}). */
    ObjectNode dashboardData() {
        return dashboard.data();
    }

    /** The answer of {@code /health}: 200 while a server is eligible, else 503. */
    HealthReport health() {
        return HealthReport.of(router.stats(), io.vllmrouter.examples.dashboard.ServerNames.of(router.config()));
    }

    /** OpenAI's list shape over the router's catalogue, each model once (first backend's entry kept). */
    ObjectNode models() {
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

    /** One model's entry, or null when no admitted backend serves {@code rawId}. */
    ObjectNode model(String rawId) {
        String id = java.net.URLDecoder.decode(rawId.replace("+", "%2B"), StandardCharsets.UTF_8);
        for (ModelInfo m : router.models()) {
            if (m.id().equals(id)) {
                return entry(m);
            }
        }
        return null;
    }

    static String decodeId(String rawId) {
        return java.net.URLDecoder.decode(rawId.replace("+", "%2B"), StandardCharsets.UTF_8);
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
}
