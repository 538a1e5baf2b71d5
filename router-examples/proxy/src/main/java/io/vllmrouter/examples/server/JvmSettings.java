package io.vllmrouter.examples.server;

/**
 * Process-wide JDK settings the proxy and the simulator want, applied only where the operator set
 * nothing. Each is read once by the JDK, so call {@link #apply()} first thing in {@code main}; the
 * proxy and the simulator also call it when their classes load, which covers embedders that start
 * them before anything else.
 */
public final class JvmSettings {

    private JvmSettings() {
    }

    public static void apply() {
        // SSE events are small writes: without TCP_NODELAY, Nagle plus delayed ACKs hold each back
        // ~40 ms. The JDK's HTTP server reads this once, when the first server in the JVM starts.
        setIfAbsent("sun.net.httpserver.nodelay", "true");
        // The JDK HttpClient completes every sendAsync future through CompletableFuture's default
        // executor. With 2 CPUs the common pool has parallelism 1, and Java 17 then starts a new
        // thread for every such task (one per forwarded request); Java 25 uses the single worker,
        // which anything blocking stalls. Read once, when the common pool is first used.
        int cpus = Runtime.getRuntime().availableProcessors();
        if (cpus <= 2) {
            setIfAbsent("java.util.concurrent.ForkJoinPool.common.parallelism", "4");
        }
    }

    /**
     * {@link #apply()} plus what only the command line wants. Netty's leak detector off: it
     * samples one buffer in 128 and records a stack trace for it; under load that was 4-5 % of the
     * event loops' CPU. Tests and embedders keep Netty's default, so the test suite still finds
     * leaks; {@code -Dio.netty.leakDetection.level=simple} turns it back on for {@code run}. And
     * Netty's per-thread buffer cache extended to the transport's 64 KiB reads (an embedder of
     * {@link io.vllmrouter.examples.server.upstream.NettyTransport} may set
     * {@code -Dio.netty.allocator.maxCachedBufferCapacity=65536} likewise). And Netty's count of
     * each pooled chunk's bytes in use, which nothing here reads, off. And Netty's per-thread batch
     * of recycled objects made large enough for the requests a loop has in flight.
     */
    public static void applyForCommandLine() {
        setIfAbsent("io.netty.leakDetection.level", "disabled");
        // The transport reads a backend's answers into 64 KiB buffers; Netty's per-thread cache
        // keeps buffers up to 32 KiB by default, so each read would take its buffer from the shared
        // arena, under its lock. Cached, a read's buffer goes back to its event loop's own cache
        // (at most 64 of them per loop). docs/benchmarks.md has the figures.
        setIfAbsent("io.netty.allocator.maxCachedBufferCapacity", String.valueOf(64 * 1024));
        // Netty counts each pooled chunk's bytes in use with a LongAdder, added to when a buffer is
        // taken and when it is released: two atomic updates per buffer, for a figure only Netty's
        // allocator metric reads, and nothing in the router does: 1.2 % of the router's user time
        // streamed, in a profile.
        setIfAbsent("io.netty.trackPinnedMemory", "false");
        // Netty's Recycler keeps each thread's released objects (pooled buffers' wrappers, write
        // entries) in a batch of 32; with tens of requests in flight per loop the batch overflows,
        // and every release past it asks the JDK for the owner thread's state and goes through a
        // lock-free queue instead: 2.8 % of the router's user time plain, in a profile, against
        // none with a batch of 1,024 (8 KiB per recycled type per thread).
        setIfAbsent("io.netty.recycler.chunkSize", "1024");
        apply();
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }
}
