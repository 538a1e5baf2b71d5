package io.vllmrouter.examples.server;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.examples.server.config.FrontDoorConfig;
import io.vllmrouter.examples.server.door.FrontDoor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The standalone proxy's HTTP front: OpenAI-compatible endpoints forwarded through a
 * {@link VllmRouter}, plus {@code /}, {@code /health}, {@code /load-stats}, {@code /metrics} and
 * the dashboard. Built on Netty: a few event-loop threads (one per core, {@link EventLoops}) serve
 * every connection; no thread is held by a request, however long it streams. This class binds,
 * drains and stops; each connection is set up by {@link FrontDoor} (TLS, HTTP/1.1 or HTTP/2, then
 * the request handlers of {@code io.vllmrouter.examples.server.exchange}), and requests go upstream
 * through {@link io.vllmrouter.examples.server.upstream.NettyTransport}.
 *
 * <pre>{@code
 * ProxyMetrics metrics = new ProxyMetrics();
 * EventLoops loops = EventLoops.create(0);
 * VllmRouter router = VllmRouters.builder().config(config).listener(metrics)
 *         .transport(NettyTransport.create(loops)).requestScheduler(loops.timers()).build();
 * ProxyServer server = ProxyServer.start(router, ProxyOptions.builder().port(8888).metrics(metrics)
 *         .eventLoops(loops).build());
 * ...
 * server.stop(Duration.ofSeconds(10));   // drains in-flight requests; then close the router
 * router.close();
 * loops.close();
 * }</pre>
 *
 * <p>Thread-safe. The server does not own the router: {@link #stop} leaves it open. It sets nothing
 * JVM-wide; a command line that wants JVM settings applies {@link JvmSettings} itself.
 */
public final class ProxyServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ProxyServer.class);

    private final ProxyContext context;
    private final EventLoops loops;
    private final boolean ownsLoops;
    private final Channel listener;
    private final ChannelGroup connections;
    private final AtomicBoolean stopped = new AtomicBoolean();
    private final CompletableFuture<Void> stopBegun = new CompletableFuture<>();

    private ProxyServer(ProxyContext context, EventLoops loops, boolean ownsLoops, Channel listener,
                        ChannelGroup connections) {
        this.context = context;
        this.loops = loops;
        this.ownsLoops = ownsLoops;
        this.listener = listener;
        this.connections = connections;
    }

    /**
     * Binds {@code options.host():options.port()} and starts serving, on {@code options.eventLoops()}
     * or on event loops of its own (one per core) that {@link #stop} shuts down.
     *
     * @throws IOException when the address cannot be bound (in use, bad host) or the TLS files cannot be used
     */
    public static ProxyServer start(VllmRouter router, ProxyOptions options) throws IOException {
        Objects.requireNonNull(router, "router");
        Objects.requireNonNull(options, "options");
        ProxyContext context = new ProxyContext(router, options);
        FrontDoorConfig access = context.access();
        SslContext tls = access.tls() ? tlsContext(access) : null;
        boolean own = options.eventLoops() == null;
        EventLoops loops = own ? EventLoops.create(0) : options.eventLoops();
        ChannelGroup connections = new DefaultChannelGroup("vllm-router-connections", GlobalEventExecutor.INSTANCE);
        ServerBootstrap b = new ServerBootstrap()
                .group(loops.group())
                .channel(loops.serverChannel())
                // Bursts of thousands of connections (clients opening streams at once) must wait in
                // the kernel's accept queue, not overflow it: as long as the system allows.
                .option(ChannelOption.SO_BACKLOG, Math.max(1024, NetUtil.SOMAXCONN))
                .option(ChannelOption.RCVBUF_ALLOCATOR, new AdaptiveRecvByteBufAllocator().maxMessagesPerRead(256))
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.ALLOCATOR, loops.allocator())
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childHandler(new FrontDoor(context, connections, tls));
        Channel ch;
        try {
            ch = b.bind(new InetSocketAddress(options.host(), options.port())).syncUninterruptibly().channel();
        } catch (Exception e) {
            if (own) {
                loops.close();
            }
            // Netty rethrows the bind's IOException unchecked (sneaky throw)
            if ((Object) e instanceof IOException io) {
                throw io;
            }
            throw new IOException(e.getMessage() == null ? e.toString() : e.getMessage(), e);
        }
        ProxyServer proxy = new ProxyServer(context, loops, own, ch, connections);
        context.dashboard(DashboardPage.feed(router, options, loops.timers(), proxy.address(), context.startedAt()));
        LOG.info("listening on {}://{}:{} ({} event loops, {}{})", tls != null ? "https" : "http", options.host(),
                proxy.port(), loops.threads(), loops.kind(), access.authEnabled() ? ", API keys required" : "");
        return proxy;
    }

    private static SslContext tlsContext(FrontDoorConfig access) throws IOException {
        try {
            return SslContextBuilder.forServer(access.tlsCertFile().toFile(), access.tlsKeyFile().toFile())
                    .sslProvider(SslProvider.JDK)
                    .applicationProtocolConfig(new ApplicationProtocolConfig(
                            ApplicationProtocolConfig.Protocol.ALPN,
                            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                            ApplicationProtocolNames.HTTP_2,
                            ApplicationProtocolNames.HTTP_1_1))
                    .build();
        } catch (javax.net.ssl.SSLException | IllegalArgumentException e) {
            throw new IOException("tls_cert_file " + access.tlsCertFile() + " / tls_key_file " + access.tlsKeyFile()
                    + ": cannot be used (expected: a PEM certificate and its PEM PKCS#8 private key, unencrypted): "
                    + (e.getCause() != null && e.getCause().getMessage() != null ? e.getCause().getMessage() : e.getMessage()), e);
        }
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
        return context.startedAt();
    }

    /** The metrics behind {@code /metrics}. */
    public ProxyMetrics metrics() {
        return context.options().metrics();
    }

    /** Whether {@link #stop} has begun. */
    public boolean isStopping() {
        return context.stopping();
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
        return context.activeExchanges();
    }

    /**
     * Response bytes the proxy holds right now: taken from backends and not yet written to their
     * clients' sockets. Bounded per stream by one read from the backend, whatever the client's speed.
     */
    public long bufferedResponseBytes() {
        return context.bufferedResponseBytes();
    }

    /** The most {@link #bufferedResponseBytes()} has been since the start. */
    public long maxBufferedResponseBytes() {
        return context.maxBufferedResponseBytes();
    }

    /** Request-body bytes held now, across all connections. */
    public long bufferedBodyBytes() {
        return context.bufferedBodyBytes();
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
        context.beginStop();
        stopBegun.complete(null);
        FrontDoor.goAway(connections); // HTTP/2 clients open no new streams; those in flight go on
        context.awaitDrained(System.nanoTime() + grace.toNanos());
        int cut = context.activeExchanges();
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
        stop(context.options().grace());
    }
}
