package io.vllmrouter.examples.server;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small vLLM stand-in on 127.0.0.1 for the proxy's end-to-end tests: /health, /metrics,
 * /v1/models and /v1/chat/completions. The chat behaviour is chosen per request by the
 * {@code X-Test-Mode} header (forwarded by the proxy): {@code ok} (default), {@code stream},
 * {@code stream-latch} (first event, then wait for {@link #release}), {@code stream-forever}
 * (events until a write fails, recorded in {@link #writeFailed}), {@code fail502}, {@code hang}.
 */
final class FakeVllm implements AutoCloseable {

    final HttpServer server;
    final ExecutorService executor = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fake-vllm");
        t.setDaemon(true);
        return t;
    });
    final String modelsJson;
    volatile int healthStatus = 200;
    final CountDownLatch release = new CountDownLatch(1);
    final CompletableFuture<IOException> writeFailed = new CompletableFuture<>();
    final CompletableFuture<Void> streamFinished = new CompletableFuture<>();
    final AtomicInteger chatRequests = new AtomicInteger();
    /** One permit per chat or completion request received, for tests that wait for one. */
    final Semaphore chatArrivals = new Semaphore(0);
    final AtomicInteger healthChecks = new AtomicInteger();
    /** Requests to any path this fake does not serve (answered 404), such as vLLM's administration paths. */
    final AtomicInteger otherRequests = new AtomicInteger();
    /** The body of the last chat or completion request, or null. */
    volatile String lastBody;
    /** The Authorization header of the last chat request, or null. */
    volatile String lastAuthorization;
    /** The traceparent header of the last chat request, or null. */
    volatile String lastTraceparent;
    /** Completed when a {@code hang} request has arrived and waits for {@link #release}. */
    final CompletableFuture<Void> hanging = new CompletableFuture<>();

    FakeVllm(List<String> modelEntries) throws IOException {
        this.modelsJson = "{\"object\":\"list\",\"data\":[" + String.join(",", modelEntries) + "]}";
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
    }

    static String model(String id, int maxModelLen) {
        return "{\"id\":\"" + id + "\",\"object\":\"model\",\"owned_by\":\"vllm\",\"max_model_len\":" + maxModelLen + "}";
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getPath();
            switch (path) {
                case "/health":
                    healthChecks.incrementAndGet();
                    ex.sendResponseHeaders(healthStatus, -1);
                    return;
                case "/metrics":
                    send(ex, 200, "text/plain; version=0.0.4", "# TYPE vllm:num_requests_running gauge\n"
                            + "vllm:num_requests_running{model_name=\"m\"} 0.0\n"
                            + "# TYPE vllm:num_requests_waiting gauge\n"
                            + "vllm:num_requests_waiting{model_name=\"m\"} 0.0\n"
                            + "# TYPE vllm:kv_cache_usage_perc gauge\n"
                            + "vllm:kv_cache_usage_perc{model_name=\"m\"} 0.25\n");
                    return;
                case "/v1/models":
                    send(ex, 200, "application/json", modelsJson);
                    return;
                case "/v1/chat/completions":
                case "/v1/completions":
                    lastBody = new String(ex.getRequestBody().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
                    lastAuthorization = ex.getRequestHeaders().getFirst("Authorization");
                    lastTraceparent = ex.getRequestHeaders().getFirst("traceparent");
                    chatRequests.incrementAndGet();
                    chatArrivals.release();
                    chat(ex);
                    return;
                default:
                    otherRequests.incrementAndGet();
                    send(ex, 404, "application/json", "{\"error\":{\"message\":\"not found\"}}");
            }
        }
    }

    private void chat(HttpExchange ex) throws IOException {
        String mode = ex.getRequestHeaders().getFirst("X-Test-Mode");
        mode = mode == null ? "ok" : mode;
        switch (mode) {
            case "fail502":
                send(ex, 502, "application/json", "{\"error\":\"bad gateway\"}");
                return;
            case "hang":
                hanging.complete(null);
                await();
                send(ex, 200, "application/json", "{}");
                return;
            case "stream":
            case "stream-latch": {
                ex.getResponseHeaders().set("Content-Type", "text/event-stream");
                ex.sendResponseHeaders(200, 0);
                OutputStream out = ex.getResponseBody();
                event(out, "{\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}");
                if (mode.equals("stream-latch")) {
                    await();
                }
                event(out, "{\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}");
                out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
                out.flush();
                streamFinished.complete(null);
                return;
            }
            case "stream-forever": {
                ex.getResponseHeaders().set("Content-Type", "text/event-stream");
                ex.sendResponseHeaders(200, 0);
                OutputStream out = ex.getResponseBody();
                try {
                    for (long i = 0; i < 10_000_000L; i++) {
                        event(out, "{\"choices\":[{\"delta\":{\"content\":\"token " + i + "\"}}]}");
                    }
                } catch (IOException e) {
                    writeFailed.complete(e);
                    throw e;
                }
                streamFinished.complete(null);
                return;
            }
            default:
                send(ex, 200, "application/json",
                        "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
                                + "\"message\":{\"role\":\"assistant\",\"content\":\"Hello from " + url() + "\"}}]}");
        }
    }

    private void await() {
        try {
            release.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void event(OutputStream out, String json) throws IOException {
        out.write(("data: " + json + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static void send(HttpExchange ex, int status, String type, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
    }

    @Override
    public void close() {
        release.countDown();
        server.stop(0);
        executor.shutdownNow();
    }
}
