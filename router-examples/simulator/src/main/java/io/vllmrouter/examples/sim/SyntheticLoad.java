package io.vllmrouter.examples.sim;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A light open-loop load for demos: Poisson arrivals at a given rate, mixed prompt and output
 * lengths, mostly streaming chat, mostly {@link DemoFleet#MODEL} with some {@link DemoFleet#SECOND_MODEL}.
 * Open loop means arrivals do not wait for answers; at most {@link #MAX_IN_FLIGHT} requests are
 * open at once and arrivals beyond that are counted as dropped.
 *
 * <pre>{@code
 * SyntheticLoad load = SyntheticLoad.start(URI.create("http://127.0.0.1:8888"), 2.0, 42);
 * ...
 * load.stop();
 * }</pre>
 */
public final class SyntheticLoad implements AutoCloseable {

    /** Bound on requests open at once. */
    public static final int MAX_IN_FLIGHT = 256;

    private static final String[] WORDS = {"alpha", "beta", "gamma", "delta", "router", "model", "batch", "token",
        "stream", "cache", "latency", "queue", "server", "fleet", "request", "answer"};

    private final URI base;
    private final double rate;
    private final List<String> models;
    private final SplittableRandom random;
    private final ExecutorService clientExecutor;
    private final HttpClient client;
    private final Thread thread;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicLong sent = new AtomicLong();
    private final AtomicLong succeeded = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition completion = lock.newCondition();
    private volatile boolean stopped;

    private SyntheticLoad(URI base, double rate, long seed, List<String> models) {
        this.base = base;
        this.rate = rate;
        this.models = models;
        this.random = new SplittableRandom(seed);
        AtomicInteger n = new AtomicInteger();
        this.clientExecutor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "synthetic-load-http-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.client = HttpClient.newBuilder().executor(clientExecutor).connectTimeout(Duration.ofSeconds(5)).build();
        this.thread = new Thread(this::run, "synthetic-load");
        thread.setDaemon(true);
    }

    /** Starts sending to {@code routerBase} (e.g. {@code http://127.0.0.1:8888}) with the demo models. */
    public static SyntheticLoad start(URI routerBase, double requestsPerSecond, long seed) {
        return start(routerBase, requestsPerSecond, seed, List.of(DemoFleet.MODEL, DemoFleet.SECOND_MODEL));
    }

    /** As {@link #start(URI, double, long)}; the first model gets 80 % of requests, the others share the rest. */
    public static SyntheticLoad start(URI routerBase, double requestsPerSecond, long seed, List<String> models) {
        Objects.requireNonNull(routerBase, "routerBase");
        if (!Double.isFinite(requestsPerSecond) || requestsPerSecond <= 0 || requestsPerSecond > 10_000) {
            throw new IllegalArgumentException("requestsPerSecond: " + requestsPerSecond + " (expected: > 0 and <= 10000)");
        }
        if (models == null || models.isEmpty()) {
            throw new IllegalArgumentException("models: " + models + " (expected: at least one)");
        }
        SyntheticLoad load = new SyntheticLoad(routerBase, requestsPerSecond, seed, List.copyOf(models));
        load.thread.start();
        return load;
    }

    private void run() {
        long next = System.nanoTime();
        while (!stopped) {
            next += (long) (-Math.log(1 - random.nextDouble()) / rate * 1e9);
            long wait;
            while (!stopped && (wait = next - System.nanoTime()) > 0) {
                LockSupport.parkNanos(this, wait);
            }
            if (stopped) {
                break;
            }
            if (inFlight.get() >= MAX_IN_FLIGHT) {
                dropped.incrementAndGet();
                continue;
            }
            send();
        }
    }

    private void send() {
        String model = models.size() == 1 || random.nextDouble() < 0.8 ? models.get(0)
                : models.get(1 + random.nextInt(models.size() - 1));
        int words = random.nextDouble() < 0.7 ? 20 + random.nextInt(130) : 300 + random.nextInt(700);
        StringBuilder prompt = new StringBuilder(words * 7);
        for (int i = 0; i < words; i++) {
            prompt.append(WORDS[random.nextInt(WORDS.length)]).append(' ');
        }
        int maxTokens = random.nextDouble() < 0.6 ? 16 + random.nextInt(112) : 128 + random.nextInt(384);
        boolean stream = random.nextDouble() < 0.8;
        String body = "{\"model\":" + Json.quote(model) + ",\"messages\":[{\"role\":\"user\",\"content\":"
                + Json.quote(prompt.toString()) + "}],\"max_tokens\":" + maxTokens + ",\"stream\":" + stream + "}";
        HttpRequest request = HttpRequest.newBuilder(base.resolve("/v1/chat/completions"))
                .timeout(Duration.ofMinutes(5))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
        inFlight.incrementAndGet();
        sent.incrementAndGet();
        client.sendAsync(request, HttpResponse.BodyHandlers.discarding()).whenComplete((r, e) -> {
            inFlight.decrementAndGet();
            if (e == null && r.statusCode() / 100 == 2) {
                succeeded.incrementAndGet();
            } else {
                failed.incrementAndGet();
            }
            lock.lock();
            try {
                completion.signalAll();
            } finally {
                lock.unlock();
            }
        });
    }

    /** Stops sending; requests still open are abandoned (their connections close). */
    public void stop() {
        stopped = true;
        LockSupport.unpark(thread);
        try {
            thread.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        clientExecutor.shutdownNow();
    }

    @Override
    public void close() {
        stop();
    }

    /** Waits until at least {@code n} requests completed (succeeded or failed); false on timeout. */
    public boolean awaitCompleted(long n, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            while (succeeded.get() + failed.get() < n) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                completion.await(left, TimeUnit.NANOSECONDS);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    public long sent() { return sent.get(); }
    public long succeeded() { return succeeded.get(); }
    public long failed() { return failed.get(); }
    /** Arrivals skipped because {@link #MAX_IN_FLIGHT} requests were open. */
    public long dropped() { return dropped.get(); }
    public int inFlight() { return inFlight.get(); }
}
