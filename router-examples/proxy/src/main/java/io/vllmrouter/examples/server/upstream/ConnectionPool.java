package io.vllmrouter.examples.server.upstream;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.socket.SocketChannel;
import io.vllmrouter.examples.server.EventLoops;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * One event loop's keep-alive connections to the backends, keyed by {@code host:port}. Touched only
 * on that loop: a request goes out on the loop that sends it, so no lock is needed.
 *
 * <p>An idle connection keeps a read pending, so the backend closing it (vLLM drops idle
 * connections after 5 s) is seen at once; it is not reused after {@link #IDLE_MILLIS}.
 */
final class ConnectionPool {

    /** The buffer of each socket read from a backend. */
    static final int READ_BYTES = 64 * 1024;

    /** Idle connections older than this are closed rather than reused. */
    static final long IDLE_MILLIS = 4000;

    final EventLoop loop;
    /** Writes the requests that go out on this loop. */
    final RequestBytes requestBytes = new RequestBytes();
    private final Bootstrap bootstrap;
    private final Map<String, ArrayDeque<Idle>> idle = new HashMap<>();
    private volatile boolean closed;
    /**
     * Idle connections, for tests: written on the loop in opaque mode (a plain
     * store, no fence per request), read anywhere as an estimate through {@link #idleCount()}.
     */
    private int idleCount;
    private static final VarHandle IDLE_COUNT;

    static {
        try {
            IDLE_COUNT = MethodHandles.lookup().findVarHandle(ConnectionPool.class, "idleCount", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    ConnectionPool(EventLoop loop, EventLoops loops, Duration connectTimeout) {
        this.loop = loop;
        this.bootstrap = new Bootstrap()
                .group(loop)
                .channel(loops.socketChannel())
                .option(ChannelOption.ALLOCATOR, loops.allocator())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.AUTO_READ, false)
                // One socket read per read(), into 64 KiB: whatever has arrived of an answer is
                // taken by one system call. (A guess that follows the reads shrank after a read of
                // headers alone, so the next answer took two or three reads and as many writes to
                // the client.) A read's small remainder is not held in the 64 KiB: UpstreamBody
                // copies chunks of up to 8 KiB out (but a body's last), so at most one read's worth
                // is held per stream, and a held SSE event costs its own size.
                .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(READ_BYTES).maxMessagesPerRead(1))
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, connectTimeout.toMillis()))
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        // Requests go out as bytes (RequestBytes): no encoder, one decoder.
                        ResponseDecoder decoder = new ResponseDecoder();
                        ch.pipeline().addLast("http", decoder);
                        ch.pipeline().addLast("upstream", new UpstreamHandler(ConnectionPool.this, decoder));
                    }
                });
    }

    /** {@code host:port} of a backend, the pools' key; made once per backend address, not per request. */
    static String key(URI backend) {
        String k = KEYS.get(backend);
        if (k == null) {
            if (KEYS.size() >= MAX_KEYS) {
                KEYS.clear(); // addresses come and go with discovery: the map never grows past this
            }
            k = backend.getHost() + ":" + port(backend);
            KEYS.put(backend, k);
        }
        return k;
    }

    private static final java.util.concurrent.ConcurrentHashMap<URI, String> KEYS = new java.util.concurrent.ConcurrentHashMap<>();
    private static final int MAX_KEYS = 1024;

    private static int port(URI uri) {
        return uri.getPort() != -1 ? uri.getPort() : "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
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
            countIdle(-1);
            if (i.channel.isActive() && now - i.since < IDLE_MILLIS * 1_000_000L) {
                return i.channel; // its pending read will take the response
            }
            i.channel.close();
        }
        return null;
    }

    ChannelFuture connect(URI backend) {
        return bootstrap.connect(backend.getHost(), port(backend));
    }

    /** Keeps a connection whose exchange finished cleanly, watching it for the backend closing it. */
    void release(String key, Channel ch) {
        if (closed || !ch.isActive()) {
            ch.close();
            return;
        }
        idle.computeIfAbsent(key, k -> new ArrayDeque<>()).addLast(new Idle(ch, System.nanoTime()));
        countIdle(1);
        ch.read(); // a read pending while idle sees the backend close it (stray bytes close it too)
    }

    /** The backend closed an idle connection. */
    void forget(Channel ch) {
        for (ArrayDeque<Idle> q : idle.values()) {
            if (q.removeIf(i -> i.channel == ch)) {
                countIdle(-1);
                return;
            }
        }
    }

    /** Closes the idle connections; runs on the loop. */
    void closeAll() {
        closed = true;
        for (ArrayDeque<Idle> q : idle.values()) {
            for (Idle i : q) {
                i.channel.close();
            }
            q.clear();
        }
        IDLE_COUNT.setOpaque(this, 0);
    }

    /** Changes the idle count; on the loop only (the one writer). */
    private void countIdle(int delta) {
        IDLE_COUNT.setOpaque(this, idleCount + delta);
    }

    /** The idle connections now, read from any thread. */
    int idleCount() {
        return (int) IDLE_COUNT.getOpaque(this);
    }

    private record Idle(Channel channel, long since) {
    }
}
