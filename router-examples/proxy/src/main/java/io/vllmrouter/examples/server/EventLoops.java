package io.vllmrouter.examples.server;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.FastThreadLocal;

import io.vllmrouter.api.time.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The proxy's threads: one Netty event-loop group, one thread per core by default, shared by the
 * HTTP server and the upstream connections ({@link io.vllmrouter.examples.server.upstream.NettyTransport}), so a request and its
 * upstream call run on the same thread with no hand-off. Native epoll where available (Linux
 * x86_64), NIO elsewhere.
 *
 * <pre>{@code
 * EventLoops loops = EventLoops.create(0);   // 0: one per core
 * ...
 * loops.close();
 * }</pre>
 */
public final class EventLoops implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EventLoops.class);

    /** {@code -Dvllmrouter.netty.epoll=false} forces NIO. */
    static final String EPOLL_PROPERTY = "vllmrouter.netty.epoll";

    private final EventLoopGroup group;
    private final boolean epoll;
    private final int threads;

    private EventLoops(EventLoopGroup group, boolean epoll, int threads) {
        this.group = group;
        this.epoll = epoll;
        this.threads = threads;
    }

    /**
     * Starts {@code threads} event loops ({@code 0}: one per available processor).
     */
    public static EventLoops create(int threads) {
        if (threads < 0) {
            throw new IllegalArgumentException("threads: " + threads + " (expected: >= 0, 0 = one per core)");
        }
        int n = threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
        boolean epoll = Boolean.parseBoolean(System.getProperty(EPOLL_PROPERTY, "true")) && Epoll.isAvailable();
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(n, new DefaultThreadFactory("vllm-router-io", true), io);
        return new EventLoops(group, epoll, n);
    }

    /** The group. */
    public EventLoopGroup group() {
        return group;
    }

    /** How many event loops (threads). */
    public int threads() {
        return threads;
    }

    /**
     * The buffer allocator of every channel on these loops: Netty's pooled (jemalloc-like)
     * allocator with per-thread caches. Against Netty 4.2's default adaptive allocator it spent
     * 5-20 % less CPU per request under wrk (streamed answers most: the adaptive one kept
     * allocating and zeroing new direct chunks for the 64 KiB upstream reads).
     */
    public ByteBufAllocator allocator() {
        return PooledByteBufAllocator.DEFAULT;
    }

    /** {@code "epoll"} or {@code "nio"}. */
    public String kind() {
        return epoll ? "epoll" : "nio";
    }

    public Class<? extends ServerChannel> serverChannel() {
        return epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    public Class<? extends SocketChannel> socketChannel() {
        return epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    /** The event loop the calling thread runs, or the next one of the group. */
    public EventLoop current() {
        EventLoop own = ownLoop.get(); // an index into the loop thread's own table: several times per request
        return own != null ? own : group.next();
    }

    /**
     * Each thread's loop, found once per thread. Scanning the loops on every call read the other
     * loops' state, cache lines their own threads keep writing.
     */
    private final FastThreadLocal<EventLoop> ownLoop = new FastThreadLocal<>() {
        @Override
        protected EventLoop initialValue() {
            for (EventExecutor e : group) {
                if (e.inEventLoop()) {
                    return (EventLoop) e;
                }
            }
            return null;
        }
    };

    /**
     * Timers on these loops, for {@code VllmRouters.Builder.requestScheduler}: a task scheduled
     * from a loop runs on that loop, so a request's deadline is set and cancelled on the thread
     * that carries the request (no lock, no other thread woken); from any other thread it goes to
     * the next loop. Tasks must be short and must not block. Closing it does nothing: the loops
     * are closed with this object.
     */
    public Scheduler timers() {
        return timers;
    }

    private final Scheduler timers = new Scheduler() {
        @Override
        public Cancellable schedule(Runnable task, Duration delay) {
            ScheduledFuture<?> f = open(current()).schedule(guarded(task), delay.toNanos(), TimeUnit.NANOSECONDS);
            return () -> f.cancel(false);
        }

        @Override
        public Cancellable scheduleAtFixedRate(Runnable task, Duration initialDelay, Duration period) {
            ScheduledFuture<?> f = open(current()).scheduleAtFixedRate(guarded(task), initialDelay.toNanos(),
                    period.toNanos(), TimeUnit.NANOSECONDS);
            return () -> f.cancel(false);
        }

        /** The calling thread's loop: a woken request goes on on the thread that carries it. */
        @Override
        public java.util.concurrent.Executor callerExecutor() {
            java.util.concurrent.Executor own = ownWaker.get(); // made once per loop thread, not per request
            return own != null ? own : refusingOnceStopping(group.next());
        }

        @Override
        public void close() {
        }
    };

    /**
     * The loop, refused once it is shutting down: on its own thread Netty would take a task and drop
     * it unrun at the end, and a request's deadline or wake-up must not be dropped silently.
     */
    private static EventLoop open(EventLoop loop) {
        if (loop.isShuttingDown()) {
            throw new RejectedExecutionException("the event loops are shutting down");
        }
        return loop;
    }

    private static java.util.concurrent.Executor refusingOnceStopping(EventLoop loop) {
        return task -> open(loop).execute(task);
    }

    /** Each loop thread's executor for woken requests, refusing once the loop is shutting down. */
    private final FastThreadLocal<java.util.concurrent.Executor> ownWaker = new FastThreadLocal<>() {
        @Override
        protected java.util.concurrent.Executor initialValue() {
            EventLoop own = ownLoop.get();
            return own == null ? null : refusingOnceStopping(own);
        }
    };

    private static Runnable guarded(Runnable task) {
        return () -> {
            try {
                task.run();
            } catch (RuntimeException | Error e) {
                LOG.error("timer task failed", e);
            }
        };
    }

    /** Stops the loops (closing every channel still open) and waits up to 5 s for them. */
    @Override
    public void close() {
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    @Override
    public String toString() {
        return "EventLoops[" + threads + " " + kind() + "]";
    }
}
