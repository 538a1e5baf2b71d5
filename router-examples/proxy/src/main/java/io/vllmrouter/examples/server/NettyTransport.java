package io.vllmrouter.examples.server;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.util.concurrent.EventExecutor;
import io.vllmrouter.core.transport.JdkHttpTransport;
import io.vllmrouter.api.transport.Transport;
import io.vllmrouter.api.transport.TransportException;
import io.vllmrouter.api.transport.UpstreamRequest;
import io.vllmrouter.api.transport.UpstreamResponse;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * The proxy's {@link Transport}: HTTP/1.1 to the backends on Netty, on the same event loops as the
 * {@link ProxyServer}. The router keeps every decision (choice, retries, breakers, deadlines,
 * accounting); this only moves bytes.
 *
 * <pre>{@code
 * EventLoops loops = EventLoops.create(0);
 * VllmRouter router = VllmRouters.builder().config(config).transport(NettyTransport.create(loops)).build();
 * }</pre>
 *
 * <ul>
 *   <li>Keep-alive connections are pooled per backend and per event loop, and a request goes out on
 *       the event loop that calls {@link #send} (the client connection's, in the proxy): request and
 *       upstream call share one thread, with no hand-off and no lock. Idle connections older than
 *       {@value #IDLE_MILLIS} ms are closed (vLLM's server drops them after 5 s); a request whose
 *       reused connection turns out closed before a byte of the request was written is sent once
 *       more on a new one (the backend provably never saw it). Every other resend is the router's.
 *   <li>The response body is read only as the subscriber asks: the upstream channel does not read
 *       (auto-read off) until there is demand, so a slow client holds its backend back by TCP flow
 *       control, with at most one socket read buffered.
 *   <li>Body chunks are Netty's pooled buffers, handed on without a copy ({@link NettyChunk}): each
 *       is its subscriber's to release (a Netty write of {@link NettyChunk#buf()} does it when the
 *       write completed); the transport releases only what it has not handed on.
 *   <li>{@code cancel()} before the body's end closes the connection: the backend sees its client gone
 *       and stops generating.
 * </ul>
 *
 * <p>{@code https} backends go through the JDK's client instead ({@link JdkHttpTransport}, made on
 * first use): this transport speaks plain HTTP/1.1 only.
 *
 * <p>Thread-safe; {@link #send} never blocks.
 */
public final class NettyTransport implements Transport {

    static final long IDLE_MILLIS = 4000;

    private final EventLoops loops;
    private final Duration connectTimeout;
    private final Map<EventExecutor, LoopPool> pools = new IdentityHashMap<>();
    private volatile boolean closed;
    /** For https backends, made on first use. */
    private volatile JdkHttpTransport tls;

    private NettyTransport(EventLoops loops, Duration connectTimeout) {
        this.loops = loops;
        this.connectTimeout = connectTimeout;
        for (EventExecutor e : loops.group()) {
            pools.put(e, new LoopPool((EventLoop) e));
        }
    }

    /** A transport on {@code loops}, 5 s to connect. The loops stay the caller's to close. */
    public static NettyTransport create(EventLoops loops) {
        return create(loops, Duration.ofSeconds(5));
    }

    /** A transport on {@code loops} giving up a connection attempt after {@code connectTimeout}. */
    public static NettyTransport create(EventLoops loops, Duration connectTimeout) {
        Objects.requireNonNull(loops, "loops");
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        if (connectTimeout.isNegative() || connectTimeout.isZero()) {
            throw new IllegalArgumentException("connectTimeout: " + connectTimeout + " (expected: > 0)");
        }
        return new NettyTransport(loops, connectTimeout);
    }

    @Override
    public CompletableFuture<UpstreamResponse> send(UpstreamRequest request) {
        Objects.requireNonNull(request, "request");
        CompletableFuture<UpstreamResponse> future = new CompletableFuture<>();
        if (closed) {
            future.completeExceptionally(new TransportException(TransportException.Kind.CONNECT, "transport closed", null));
            return future;
        }
        if ("https".equalsIgnoreCase(request.backend().getScheme())) {
            return tls().send(request);
        }
        EventLoop loop = loops.current();
        UpstreamCall call = new UpstreamCall(pools.get(loop), request, future);
        if (loop.inEventLoop()) {
            call.start();
        } else {
            loop.execute(call::start);
        }
        return future;
    }

    private JdkHttpTransport tls() {
        JdkHttpTransport t = tls;
        if (t == null) {
            synchronized (this) {
                t = tls;
                if (t == null) {
                    t = JdkHttpTransport.create(connectTimeout);
                    tls = t;
                }
            }
        }
        return t;
    }

    /** Idle connections kept for reuse (all loops); for tests. */
    int idleConnections() {
        int n = 0;
        for (LoopPool p : pools.values()) {
            n += p.idleCount; // read across threads: an estimate
        }
        return n;
    }

    /** Closes the idle connections; calls in flight finish. The event loops are not touched. */
    @Override
    public void close() {
        closed = true;
        JdkHttpTransport t = tls;
        if (t != null) {
            t.close();
        }
        for (LoopPool p : pools.values()) {
            if (!p.loop.isShuttingDown()) {
                p.loop.execute(p::closeAll);
            }
        }
    }

    /** One event loop's connections; touched only on that loop. */
    final class LoopPool {
        final EventLoop loop;
        private final Bootstrap bootstrap;
        private final Map<String, ArrayDeque<Idle>> idle = new HashMap<>();
        volatile int idleCount;

        LoopPool(EventLoop loop) {
            this.loop = loop;
            this.bootstrap = new Bootstrap()
                    .group(loop)
                    .channel(loops.socketChannel())
                    .option(ChannelOption.ALLOCATOR, loops.allocator())
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.SO_KEEPALIVE, true)
                    .option(ChannelOption.AUTO_READ, false)
                    // One socket read per read(): at most one read's worth (64 KiB) buffered per stream.
                    // The first read of a connection may take a whole small answer; the guess then
                    // follows the reads (down to 512 bytes for a stream of small SSE events).
                    .option(ChannelOption.RCVBUF_ALLOCATOR, new AdaptiveRecvByteBufAllocator(512, 64 * 1024, 64 * 1024)
                            .maxMessagesPerRead(1))
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, connectTimeout.toMillis()))
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            UpstreamCall.Handler handler = new UpstreamCall.Handler(LoopPool.this);
                            ch.pipeline().addLast("head-watch", new UpstreamCall.HeadWatch(handler));
                            ch.pipeline().addLast("http", new HttpClientCodec(8192, 32 * 1024, 64 * 1024));
                            ch.pipeline().addLast("upstream", handler);
                        }
                    });
        }

        /** An idle connection to {@code key}, or null. */
        Channel reuse(String key) {
            ArrayDeque<Idle> q = idle.get(key);
            if (q == null) {
                return null;
            }
            long now = System.nanoTime();
            Idle i;
            while ((i = q.pollLast()) != null) {
                idleCount--;
                if (i.channel.isActive() && now - i.since < IDLE_MILLIS * 1_000_000L) {
                    return i.channel; // its pending read will take the response
                }
                i.channel.close();
            }
            return null;
        }

        ChannelFuture connect(URI uri) {
            int port = uri.getPort() != -1 ? uri.getPort() : "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
            return bootstrap.connect(uri.getHost(), port);
        }

        /** Keeps a connection whose exchange finished cleanly, watching it for the backend closing it. */
        void release(String key, Channel ch) {
            if (closed || !ch.isActive()) {
                ch.close();
                return;
            }
            idle.computeIfAbsent(key, k -> new ArrayDeque<>()).addLast(new Idle(ch, System.nanoTime()));
            idleCount++;
            ch.read(); // a read pending while idle sees the backend close it (stray bytes close it too)
        }

        /** The backend closed an idle connection. */
        void forget(Channel ch) {
            for (ArrayDeque<Idle> q : idle.values()) {
                if (q.removeIf(i -> i.channel == ch)) {
                    idleCount--;
                    return;
                }
            }
        }

        void closeAll() {
            for (ArrayDeque<Idle> q : idle.values()) {
                for (Idle i : q) {
                    i.channel.close();
                }
                q.clear();
            }
            idleCount = 0;
        }
    }

    private record Idle(Channel channel, long since) {
    }
}
