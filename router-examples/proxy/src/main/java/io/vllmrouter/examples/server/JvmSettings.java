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
     * {@link #apply()} plus what only the command line wants: Netty's leak detector off. It
     * samples one buffer in 128 and records a stack trace for it; under load that was 4-5 % of the
     * event loops' CPU. Tests and embedders keep Netty's default, so the test suite still finds
     * leaks; {@code -Dio.netty.leakDetection.level=simple} turns it back on for {@code run}.
     */
    public static void applyForCommandLine() {
        setIfAbsent("io.netty.leakDetection.level", "disabled");
        apply();
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }
}
