package io.vllmrouter.examples.server;

import io.vllmrouter.examples.server.upstream.NettyTransport;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.api.RouterListener;
import io.vllmrouter.core.VllmRouters;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.RouterConfigBuilder;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.testing.RouterEvents;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;

/** End to end: the proxy on 127.0.0.1:0 in front of {@link FakeVllm} backends, driven by HttpClient. */
class ProxyServerTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration SAFETY = Duration.ofSeconds(20);
    private static final String CHAT = "{\"model\":\"llama\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    private static final String CHAT_STREAM = "{\"model\":\"llama\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    /**
     * Runs each blocking task on a new daemon thread. Never the common pool: the JDK's HttpClient
     * completes every {@code sendAsync} future through {@code CompletableFuture}'s default executor,
     * which on Java 25 is the common pool even when its parallelism is 1 (2 CPUs), so a test task
     * blocked there stalls the router's forwarded requests and health checks (Java 17 used a thread
     * per task at parallelism 1, which hid this).
     */
    private static final Executor OWN_THREAD = task -> {
        Thread t = new Thread(task, "test-blocking-task");
        t.setDaemon(true);
        t.start();
    };

    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private final Set<String> ejected = ConcurrentHashMap.newKeySet();
    private final RouterEvents recorded = new RouterEvents();
    private VllmRouter router;
    private ProxyServer proxy;
    private ProxyMetrics metrics;
    private EventLoops loops;

    @AfterEach
    void tearDown() throws Exception {
        if (proxy != null) {
            proxy.stop(Duration.ZERO);
        }
        if (router != null) {
            router.close();
        }
        if (loops != null) {
            loops.close();
        }
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    private FakeVllm backend(String... models) throws IOException {
        FakeVllm b = new FakeVllm(List.of(models));
        closeables.add(b);
        return b;
    }

    private void start(UnaryOperator<RouterConfigBuilder> tweak, FakeVllm... backends) throws IOException {
        RouterConfigBuilder config = RouterConfig.builder()
                .healthCheckInterval(Duration.ofMillis(100))
                .healthCheckFailureThreshold(1)
                .healthCheckSuccessThreshold(1)
                .metricsInterval(Duration.ofMillis(200))
                .modelsRefreshInterval(Duration.ofMillis(200))
                .maxRetries(1)
                .retryDelay(Duration.ZERO)
                .requestTimeout(Duration.ofSeconds(30));
        for (FakeVllm b : backends) {
            config.server(new ServerConfig(b.url(), 4));
        }
        metrics = new ProxyMetrics();
        RouterListener events = new RouterListener() {
            @Override
            public void onHealthChange(String backend, boolean healthy, String reason) {
                if (healthy) {
                    ejected.remove(backend);
                } else {
                    ejected.add(backend);
                }
            }
        };
        loops = EventLoops.create(2);
        router = VllmRouters.builder().config(tweak.apply(config).build())
                .listener(metrics).listener(events).listener(recorded).transport(NettyTransport.create(loops)).requestScheduler(loops.timers()).build();
        proxy = ProxyServer.start(router, ProxyOptions.builder().host("127.0.0.1").port(0).metrics(metrics)
                .version("9.9.9").eventLoops(loops).build());
        recorded.awaitEligible(router, backends.length, SAFETY);
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + proxy.port() + path);
    }

    private HttpResponse<String> get(String path) throws Exception {
        return client.send(HttpRequest.newBuilder(uri(path)).timeout(SAFETY).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String path, String body, String mode) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(SAFETY)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (mode != null) {
            b.header("X-Test-Mode", mode);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Waits until the router state the test needs is reached: checked again at each router event. */
    private void await(String what, BooleanSupplier condition) {
        recorded.awaitUntil(what, condition, SAFETY);
    }

    private void awaitModels(int n) {
        await(n + " models in the catalogue", () -> router.models().stream().map(m -> m.id()).distinct().count() >= n);
    }

    private static JsonNode json(HttpResponse<String> r) throws IOException {
        return JSON.readTree(r.body());
    }

    private static void assertOpenAiError(HttpResponse<String> r, int status, String code) throws IOException {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("content-type")).hasValue("application/json");
        JsonNode e = json(r).get("error");
        assertThat(e).as(r.body()).isNotNull();
        assertThat(e.get("message").asText()).isNotBlank();
        assertThat(e.get("type").asText()).isNotBlank();
        assertThat(e.has("param")).isTrue();
        if (code != null) {
            assertThat(e.get("code").asText()).isEqualTo(code);
        }
    }

    @Test
    void chatCompletionIsForwarded() throws Exception {
        FakeVllm a = backend(FakeVllm.model("llama", 8192));
        start(c -> c, a);
        HttpResponse<String> r = post("/v1/chat/completions", CHAT, null);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(json(r).at("/choices/0/message/content").asText()).isEqualTo("Hello from " + a.url());
        assertThat(r.headers().firstValue("x-request-id")).isPresent();
        assertThat(a.chatRequests.get()).isEqualTo(1);
    }

    @Test
    void clientRequestIdIsKept() throws Exception {
        start(c -> c, backend(FakeVllm.model("llama", 8192)));
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(uri("/v1/chat/completions")).timeout(SAFETY)
                .header("X-Request-Id", "my-id-42").POST(HttpRequest.BodyPublishers.ofString(CHAT)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-request-id")).hasValue("my-id-42");
    }

    @Test
    void streamEventsArriveBeforeTheBackendFinishes() throws Exception {
        FakeVllm a = backend(FakeVllm.model("llama", 8192));
        start(c -> c, a);
        HttpRequest req = HttpRequest.newBuilder(uri("/v1/chat/completions")).timeout(SAFETY)
                .header("X-Test-Mode", "stream-latch").POST(HttpRequest.BodyPublishers.ofString(CHAT_STREAM)).build();
        CompletableFuture<List<String>> events = CompletableFuture.supplyAsync(() -> {
            try {
                HttpResponse<InputStream> r = client.send(req, HttpResponse.BodyHandlers.ofInputStream());
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
                List<String> lines = new ArrayList<>();
                try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = in.readLine()) != null) {
                        if (line.startsWith("data:")) {
                            lines.add(line);
                            if (lines.size() == 1) {
                                // The backend is still blocked: this event came through on its own.
                                assertThat(a.streamFinished).isNotDone();
                                a.release.countDown();
                            }
                        }
                    }
                }
                return lines;
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        }, OWN_THREAD);
        List<String> lines = events.get(SAFETY.toSeconds(), TimeUnit.SECONDS);
        assertThat(lines).hasSize(3);
        assertThat(lines.get(0)).contains("Hel");
        assertThat(lines.get(2)).isEqualTo("data: [DONE]");
    }

    @Test
    void clientDisconnectMidStreamCancelsUpstream() throws Exception {
        FakeVllm a = backend(FakeVllm.model("llama", 8192));
        start(c -> c, a);
        HttpRequest req = HttpRequest.newBuilder(uri("/v1/chat/completions")).timeout(SAFETY)
                .header("X-Test-Mode", "stream-forever").POST(HttpRequest.BodyPublishers.ofString(CHAT_STREAM)).build();
        HttpResponse<InputStream> r = client.send(req, HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        InputStream body = r.body();
        byte[] first = new byte[64];
        assertThat(body.read(first)).isPositive();
        body.close();
        IOException backendSaw = a.writeFailed.get(SAFETY.toSeconds(), TimeUnit.SECONDS);
        assertThat(backendSaw).isNotNull();
        assertThat(a.streamFinished).isNotDone();
    }

    @Test
    void modelsAreTheUnionKeepingBackendFields() throws Exception {
        FakeVllm a = backend(FakeVllm.model("llama", 8192));
        FakeVllm b = backend(FakeVllm.model("llama", 8192), FakeVllm.model("mistral", 32768));
        start(c -> c, a, b);
        awaitModels(2);
        HttpResponse<String> r = get("/v1/models");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode root = json(r);
        assertThat(root.get("object").asText()).isEqualTo("list");
        List<String> ids = new ArrayList<>();
        root.get("data").forEach(m -> ids.add(m.get("id").asText()));
        assertThat(ids).containsExactlyInAnyOrder("llama", "mistral");
        root.get("data").forEach(m -> {
            assertThat(m.get("object").asText()).isEqualTo("model");
            assertThat(m.get("max_model_len").asInt()).isEqualTo(m.get("id").asText().equals("llama") ? 8192 : 32768);
        });
        HttpResponse<String> one = get("/v1/models/mistral");
        assertThat(one.statusCode()).isEqualTo(200);
        assertThat(json(one).get("max_model_len").asInt()).isEqualTo(32768);
        assertOpenAiError(get("/v1/models/nope"), 404, "model_not_found");
    }

    @Test
    void healthIsHealthyThenDegradedThenUnhealthy() throws Exception {
        FakeVllm a = backend(FakeVllm.model("llama", 8192));
        FakeVllm b = backend(FakeVllm.model("llama", 8192));
        start(c -> c, a, b);
        await("first health checks", () -> a.healthChecks.get() > 0 && b.healthChecks.get() > 0
                && router.stats().summary().healthyServers() == 2);

        HttpResponse<String> r = get("/health");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode h = json(r);
        assertThat(h.get("status").asText()).isEqualTo("ok");
        assertThat(h.get("total_servers").asInt()).isEqualTo(2);
        assertThat(h.get("eligible_servers").asInt()).isEqualTo(2);
        assertThat(h.get("healthy_servers").asInt()).isEqualTo(2);
        JsonNode s0 = h.get("servers").get(0);
        assertThat(s0.get("url").asText()).isEqualTo(a.url());
        assertThat(s0.get("healthy").asBoolean()).isTrue();
        assertThat(s0.get("state").asText()).isEqualTo("eligible");
        assertThat(s0.get("reason").isNull()).isTrue();
        assertThat(s0.get("circuit_breaker").asText()).isEqualTo("closed");
        for (String field : new String[] {"last_check", "consecutive_failures", "success_rate", "response_time_ms", "models", "in_flight"}) {
            assertThat(s0.has(field)).as(field).isTrue();
        }

        a.healthStatus = 500;
        await("a ejected", () -> ejected.contains(a.url()));
        r = get("/health");
        assertThat(r.statusCode()).isEqualTo(200);
        h = json(r);
        assertThat(h.get("status").asText()).isEqualTo("degraded");
        assertThat(h.get("eligible_servers").asInt()).isEqualTo(1);
        assertThat(h.get("servers").get(0).get("healthy").asBoolean()).isFalse();
        assertThat(h.get("servers").get(0).get("state").asText()).isEqualTo("ejected");
        assertThat(h.get("servers").get(0).get("reason").asText()).startsWith("ejected: ").contains("status 500");
        assertThat(h.get("servers").get(0).get("consecutive_failures").asInt()).isPositive();

        b.healthStatus = 500;
        await("b ejected", () -> ejected.contains(b.url()));
        r = get("/health");
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(json(r).get("status").asText()).isEqualTo("unavailable");

        HttpResponse<String> refused = post("/v1/chat/completions", CHAT, null);
        assertOpenAiError(refused, 503, null);
        assertThat(refused.headers().firstValue("retry-after")).isPresent();
        assertThat(Integer.parseInt(refused.headers().firstValue("retry-after").orElseThrow())).isNotNegative();
    }

    @Test
    void healthIs503FromTheFirstAnswerWhileNoServerHasPassedACheck() throws Exception {
        int closedPort;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        String dead = "http://127.0.0.1:" + closedPort;
        RouterConfigBuilder config = RouterConfig.builder().healthCheckInterval(Duration.ofSeconds(30))
                .server(new ServerConfig(URI.create(dead), 4, List.of(), null, "gpu-dead"));
        metrics = new ProxyMetrics();
        loops = EventLoops.create(1);
        router = VllmRouters.builder().config(config.build()).listener(recorded)
                .transport(NettyTransport.create(loops)).requestScheduler(loops.timers()).build();
        proxy = ProxyServer.start(router, ProxyOptions.builder().host("127.0.0.1").port(0).metrics(metrics)
                .eventLoops(loops).build());

        HttpResponse<String> first = get("/health");
        assertThat(first.statusCode()).isEqualTo(503);
        assertThat(json(first).get("status").asText()).isEqualTo("unavailable");
        assertThat(json(first).get("servers").get(0).get("state").asText()).isEqualTo("not_ready");

        recorded.await(RouterEvents.HealthCheck.class, e -> !e.passed(), SAFETY);
        JsonNode h = json(get("/health"));
        JsonNode s0 = h.get("servers").get(0);
        assertThat(s0.get("name").asText()).isEqualTo("gpu-dead");
        assertThat(s0.get("state").asText()).isEqualTo("not_ready");
        assertThat(s0.get("reason").asText()).startsWith("not ready: health check failed: ")
                .contains("connection refused").doesNotContain("Exception");
        assertThat(get("/health").statusCode()).isEqualTo(503);
    }

    @Test
    void loadStatsHasTheSeedShape() throws Exception {
        FakeVllm a = backend(FakeVllm.model("llama", 8192));
        start(c -> c, a);
        HttpResponse<String> r = get("/load-stats");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode root = json(r);
        JsonNode s = root.get("servers").get(0);
        assertThat(s.get("url").asText()).isEqualTo(a.url());
        for (String f : new String[] {"current_load", "max_capacity", "available_capacity", "utilization_percent", "status", "detailed_metrics"}) {
            assertThat(s.has(f)).as(f).isTrue();
        }
        assertThat(s.get("max_capacity").asInt()).isEqualTo(4);
        JsonNode sum = root.get("summary");
        for (String f : new String[] {"total_servers", "healthy_servers", "total_active_load", "total_capacity", "overall_utilization_percent"}) {
            assertThat(sum.has(f)).as(f).isTrue();
        }
        assertThat(sum.get("total_servers").asInt()).isEqualTo(1);
    }

    @Test
    void servesTheDashboardPage() throws Exception {
        FakeVllm a = backend(FakeVllm.model("llama", 8192));
        start(c -> c, a);
        HttpResponse<String> r = get("/dashboard");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/html");
        assertThat(r.body()).contains("<title>vllm-router dashboard</title>").contains("fetch(\"dashboard/data\"")
                .doesNotContain("http://").doesNotContain("https://");
        assertThat(post("/dashboard", "{}", null).statusCode()).isEqualTo(405);
    }

    @Test
    void theDashboardsDataNamesTheServersAndSaysWhyOneIsDown() throws Exception {
        FakeVllm a = backend(FakeVllm.model("llama", 8192));
        FakeVllm b = backend(FakeVllm.model("llama", 8192));
        start(c -> c, a, b);
        b.healthStatus = 500;
        await("b ejected", () -> ejected.contains(b.url()));
        HttpResponse<String> r = get("/dashboard/data");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode d = json(r);
        assertThat(d.path("title").asText()).isEqualTo("vllm-router 9.9.9");
        assertThat(d.path("summary").path("eligible").asInt()).isEqualTo(1);
        JsonNode down = d.path("servers").get(1);
        assertThat(down.path("url").asText()).isEqualTo(b.url());
        assertThat(down.path("state").asText()).isEqualTo("ejected");
        assertThat(down.path("reason").asText()).startsWith("ejected: ").contains("status 500");
        assertThat(d.path("history").path("times").size()).as("sampled from the start").isPositive();
        assertThat(d.path("outcomes").path("per_second").has("cut_short")).isTrue();
    }

    @Test
    void metricsCountRequests() throws Exception {
        FakeVllm a = backend(FakeVllm.model("llama", 8192));
        start(c -> c, a);
        assertThat(post("/v1/chat/completions", CHAT, null).statusCode()).isEqualTo(200);
        assertThat(post("/v1/chat/completions", CHAT, null).statusCode()).isEqualTo(200);
        await("requests recorded", () -> metrics.requestsTotal() >= 2);
        HttpResponse<String> r = get("/metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/plain");
        String backend = a.url();
        assertThat(r.body())
                .contains("vllm_router_requests_total{backend=\"" + backend + "\",model=\"llama\",outcome=\"success\",status=\"200\"} 2")
                .contains("vllm_router_request_duration_seconds_count{backend=\"" + backend + "\"} 2")
                .contains("vllm_router_time_to_first_byte_seconds_bucket{backend=\"" + backend + "\",le=\"+Inf\"} 2")
                .contains("vllm_router_backend_in_flight{backend=\"" + backend + "\"} 0")
                .contains("vllm_router_backend_circuit_state{backend=\"" + backend + "\"} 0")
                .contains("vllm_router_config_reloads_total{result=\"applied\"}")
                .contains("vllm_router_retries_total");
    }

    @Test
    void rootDescribesTheService() throws Exception {
        start(c -> c.strategy("least-loaded"), backend(FakeVllm.model("llama", 8192)));
        HttpResponse<String> r = get("/");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode n = json(r);
        assertThat(n.get("service").asText()).isEqualTo("vLLM Router");
        assertThat(n.get("version").asText()).isEqualTo("9.9.9");
        assertThat(n.get("strategy").asText()).isEqualTo("least-loaded");
        assertThat(n.get("endpoints").toString()).contains("/v1/chat/completions").contains("/health").contains("/metrics");
    }

    @Test
    void dashboardPageIsServed() throws Exception {
        FakeVllm a = backend(FakeVllm.model("llama", 8192));
        start(c -> c, a);
        HttpResponse<String> r = get(DashboardPage.PATH);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValue(DashboardPage.CONTENT_TYPE);
        assertThat(r.headers().firstValue("cache-control")).hasValue("no-cache");
        assertThat(r.body()).containsIgnoringCase("<html");
        assertThat(r.body().getBytes(StandardCharsets.UTF_8)).hasSize(DashboardPage.length());
    }

    @Test
    void malformedJsonIs400() throws Exception {
        start(c -> c, backend(FakeVllm.model("llama", 8192)));
        HttpResponse<String> r = post("/v1/chat/completions", "{\"model\": \"llama\", ", null);
        assertOpenAiError(r, 400, null);
        assertThat(json(r).at("/error/type").asText()).isEqualTo("invalid_request_error");
    }

    @Test
    void bodyOverTheLimitIs413() throws Exception {
        FakeVllm a = backend(FakeVllm.model("llama", 8192));
        start(c -> c.extension(io.vllmrouter.examples.server.config.FrontDoorSettings.INSTANCE,
                io.vllmrouter.examples.server.config.FrontDoorConfig.builder().maxBodyBytes(1024).build()), a);
        String big = "{\"model\":\"llama\",\"prompt\":\"" + "x".repeat(2000) + "\"}";
        assertOpenAiError(post("/v1/completions", big, null), 413, "request_too_large");
        // Without Content-Length (chunked upload) the bounded read catches it too.
        HttpResponse<String> chunked = client.send(HttpRequest.newBuilder(uri("/v1/completions")).timeout(SAFETY)
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(
                        big.getBytes(StandardCharsets.UTF_8)))).build(), HttpResponse.BodyHandlers.ofString());
        assertOpenAiError(chunked, 413, "request_too_large");
        assertThat(a.chatRequests.get()).isZero();
        String small = "{\"model\":\"llama\",\"prompt\":\"hi\"}";
        assertThat(post("/v1/completions", small, null).statusCode()).isEqualTo(200);
    }

    @Test
    void unknownModelIs404() throws Exception {
        start(c -> c, backend(FakeVllm.model("llama", 8192)));
        awaitModels(1);
        assertOpenAiError(post("/v1/chat/completions", CHAT.replace("llama", "gpt-17"), null), 404, "model_not_found");
    }

    @Test
    void upstreamFailureAfterRetriesIs502() throws Exception {
        FakeVllm a = backend(FakeVllm.model("llama", 8192));
        FakeVllm b = backend(FakeVllm.model("llama", 8192));
        start(c -> c.maxRetries(1), a, b);
        assertOpenAiError(post("/v1/chat/completions", CHAT, "fail502"), 502, null);
        assertThat(a.chatRequests.get() + b.chatRequests.get()).isEqualTo(2);
    }

    @Test
    void timeoutIs504() throws Exception {
        FakeVllm a = backend(FakeVllm.model("llama", 8192));
        start(c -> c.requestTimeout(Duration.ofMillis(800)).maxRetries(0), a);
        assertOpenAiError(post("/v1/chat/completions", CHAT, "hang"), 504, null);
    }

    @Test
    void theProxysOwnEndpointsAnswerHeadWithAGetsHeadersAndNoBody() throws Exception {
        start(c -> c, backend(FakeVllm.model("llama", 8192)));
        for (String path : new String[] {"/health", "/v1/models", "/v1/models/llama", "/"}) {
            HttpResponse<String> got = get(path);
            HttpResponse<String> head = client.send(HttpRequest.newBuilder(uri(path)).timeout(SAFETY)
                    .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(head.statusCode()).as(path).isEqualTo(200);
            assertThat(head.body()).as(path).isEmpty();
            assertThat(head.headers().firstValue("content-type")).as(path).isEqualTo(got.headers().firstValue("content-type"));
            assertThat(head.headers().firstValueAsLong("content-length")).as(path)
                    .hasValue(got.body().getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
        }
        // the connection carries on: nothing of a body was left on it
        assertThat(get("/health").statusCode()).isEqualTo(200);
    }

    @Test
    void unknownPathIs404AndWrongMethodIs405() throws Exception {
        start(c -> c, backend(FakeVllm.model("llama", 8192)));
        assertOpenAiError(get("/nope"), 404, "not_found");
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(uri("/health")).timeout(SAFETY)
                .DELETE().build(), HttpResponse.BodyHandlers.ofString());
        assertOpenAiError(r, 405, "method_not_allowed");
        assertThat(r.headers().firstValue("allow")).hasValue("GET, HEAD");
        r = client.send(HttpRequest.newBuilder(uri("/v1/chat/completions")).timeout(SAFETY)
                .PUT(HttpRequest.BodyPublishers.ofString(CHAT)).build(), HttpResponse.BodyHandlers.ofString());
        assertOpenAiError(r, 405, "method_not_allowed");
    }

    @Test
    void pathsLeavingV1AreRefused() throws Exception {
        FakeVllm a = backend(FakeVllm.model("llama", 8192));
        start(c -> c, a);
        for (String path : new String[] {"/v1/../health", "/v1/%2e%2e/metrics", "/v1/%2E%2E/%2E%2E/etc/passwd",
                "/v1//chat/completions", "/v1/chat%2fcompletions", "/v1/./models"}) {
            HttpResponse<String> r = rawGet(path);
            assertThat(r.statusCode()).as(path).isEqualTo(400);
            assertThat(json(r).at("/error/code").asText()).as(path).isEqualTo("invalid_path");
        }
        assertThat(a.chatRequests.get()).isZero();
    }

    /** Sends the path byte for byte (HttpClient might normalise some forms). */
    private HttpResponse<String> rawGet(String path) throws Exception {
        try (Socket s = new Socket("127.0.0.1", proxy.port())) {
            s.setSoTimeout((int) SAFETY.toMillis());
            OutputStream out = s.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String all = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int status = Integer.parseInt(all.substring(9, 12));
            String body = all.substring(all.indexOf("\r\n\r\n") + 4);
            return new RawResponse(status, body);
        }
    }

    private record RawResponse(int statusCode, String body) implements HttpResponse<String> {
        @Override public HttpRequest request() { return null; }
        @Override public java.util.Optional<HttpResponse<String>> previousResponse() { return java.util.Optional.empty(); }
        @Override public java.net.http.HttpHeaders headers() { return java.net.http.HttpHeaders.of(java.util.Map.of(), (a, b) -> true); }
        @Override public java.util.Optional<javax.net.ssl.SSLSession> sslSession() { return java.util.Optional.empty(); }
        @Override public URI uri() { return null; }
        @Override public HttpClient.Version version() { return HttpClient.Version.HTTP_1_1; }
    }

    @Test
    void stopDrainsInFlightRequests() throws Exception {
        FakeVllm a = backend(FakeVllm.model("llama", 8192));
        start(c -> c, a);
        CompletableFuture<HttpResponse<String>> slow = client.sendAsync(HttpRequest.newBuilder(uri("/v1/chat/completions"))
                .timeout(SAFETY).header("X-Test-Mode", "hang").POST(HttpRequest.BodyPublishers.ofString(CHAT)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(a.chatArrivals.tryAcquire(SAFETY.toSeconds(), TimeUnit.SECONDS)).as("request reached the backend").isTrue();
        CompletableFuture<Void> stopBegun = proxy.stopping();
        CompletableFuture<Void> stopped = CompletableFuture.runAsync(() -> proxy.stop(SAFETY), OWN_THREAD);
        stopBegun.get(SAFETY.toSeconds(), TimeUnit.SECONDS);
        assertThat(proxy.isStopping()).isTrue();
        assertThat(stopped).isNotDone();
        assertThat(proxy.activeExchanges()).isEqualTo(1);
        a.release.countDown();
        assertThat(slow.get(SAFETY.toSeconds(), TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        stopped.get(SAFETY.toSeconds(), TimeUnit.SECONDS);
    }
}
