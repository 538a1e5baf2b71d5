package io.vllmrouter.examples.server.upstream;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.EventExecutor;
import io.vllmrouter.api.transport.Transport;
import io.vllmrouter.api.transport.TransportException;
import io.vllmrouter.api.transport.UpstreamRequest;
import io.vllmrouter.api.transport.UpstreamResponse;
import io.vllmrouter.core.transport.JdkHttpTransport;
import io.vllmrouter.examples.server.EventLoops;

import java.time.Duration;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * The proxy's {@link Transport}: HTTP/1.1 to the backends on Netty, on the same event loops as the
 * {@link io.vllmrouter.examples.server.ProxyServer}. The router keeps every decision (choice, retries, breakers, deadlines,
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
 *       {@value ConnectionPool#IDLE_MILLIS} ms are closed (vLLM's server drops them after 5 s); a request whose
 *       reused connection turns out closed before a byte of the request was written is sent once
 *       more on a new one (the backend provably never saw it). Every other resend is the router's.
 *   <li>A request goes out as one buffer, its head written straight from the core's header map
 *       ({@link RequestBytes}): a header that would split it is left out.
 *   <li>The response body is read only as the subscriber asks: the upstream channel does not read
 *       (auto-read off) until there is demand, so a slow client holds its backend back by TCP flow
 *       control, with at most one socket read buffered.
 *   <li>Body chunks are Netty's pooled buffers, handed on without a copy ({@link NettyChunk}; a small
 *       piece of a body that goes on is copied into a buffer of its own size, so that a slow client
 *       holding it does not keep a whole 64 KiB read buffer): each
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

    private final EventLoops loops;
    private final Duration connectTimeout;
    private final Map<EventExecutor, ConnectionPool> pools = new IdentityHashMap<>();
    private volatile boolean closed;
    /** For https backends, made on first use. */
    private volatile JdkHttpTransport tls;

    private NettyTransport(EventLoops loops, Duration connectTimeout) {
        this.loops = loops;
        this.connectTimeout = connectTimeout;
        for (EventExecutor e : loops.group()) {
            pools.put(e, new ConnectionPool((EventLoop) e, loops, connectTimeout));
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
        UpstreamExchange exchange = new UpstreamExchange(pools.get(loop), request, future);
        if (loop.inEventLoop()) {
            exchange.start();
        } else {
            loop.execute(exchange::start);
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
    public int idleConnections() {
        int n = 0;
        for (ConnectionPool p : pools.values()) {
            n += p.idleCount(); // read across threads: an estimate
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
        for (ConnectionPool p : pools.values()) {
            if (!p.loop.isShuttingDown()) {
                p.loop.execute(p::closeAll);
            }
        }
    }
}
