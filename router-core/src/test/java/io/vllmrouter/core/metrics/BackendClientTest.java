package io.vllmrouter.core.metrics;

import io.vllmrouter.api.ModelInfo;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import io.vllmrouter.api.transport.TransportException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class BackendClientTest {

    /** Safety net for waiting on futures that must complete; never the thing under test. */
    private static final long WAIT_SECONDS = 30;
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final Duration SHORT_TIMEOUT = Duration.ofMillis(300);

    private final List<WireMockServer> servers = new ArrayList<>();
    private final List<AutoCloseable> sockets = new ArrayList<>();
    private WireMockServer backend;
    private BackendClient client;

    @BeforeEach
    void setUp() {
        backend = startServer();
        HttpClient http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5))
                .build();
        client = new BackendClient(http);
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable s : sockets) {
            s.close();
        }
        for (WireMockServer s : servers) {
            s.stop();
        }
    }

    private WireMockServer startServer() {
        WireMockServer server = new WireMockServer(options().bindAddress("127.0.0.1").dynamicPort());
        servers.add(server);
        server.start();
        return server;
    }

    private static URI base(WireMockServer server) {
        return URI.create("http://127.0.0.1:" + server.port());
    }

    private static void stub(WireMockServer server, String path, ResponseDefinitionBuilder response) {
        server.stubFor(get(urlEqualTo(path)).willReturn(response));
    }

    private static <T> T value(CompletableFuture<T> future) throws Exception {
        return future.get(WAIT_SECONDS, TimeUnit.SECONDS);
    }

    /** The failure the future completed with; it must be the exception itself, not a wrapper. */
    private static Throwable failure(CompletableFuture<?> future) throws Exception {
        Throwable error = future.handle((v, e) -> e).get(WAIT_SECONDS, TimeUnit.SECONDS);
        if (error == null) {
            fail("expected the future to fail, it completed with " + future.get());
        }
        assertThat(error).isNotInstanceOf(CompletionException.class).isNotInstanceOf(ExecutionException.class);
        return error;
    }

    // ---- /metrics

    @Test
    void scrapesAndParsesMetrics() throws Exception {
        stub(backend, "/metrics", aResponse().withHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                .withBody(MetricsFixtures.read("vllm-v1-dp2.txt")));

        LoadMetrics m = value(client.scrapeMetrics(base(backend), null, TIMEOUT));

        assertThat(m).isEqualTo(new LoadMetrics(7, 5, 0.3125, 65535, 27528, 16, 96426));
        backend.verify(getRequestedFor(urlEqualTo("/metrics"))
                .withHeader("Accept", equalTo("text/plain; version=0.0.4"))
                .withoutHeader("Authorization"));
    }

    @Test
    void baseUrlMayHaveAPathAndATrailingSlash() throws Exception {
        stub(backend, "/gpu-1/metrics", aResponse().withBody("sglang:num_running_reqs 2\n"));
        stub(backend, "/gpu-1/health", aResponse().withStatus(200));

        URI base = URI.create(base(backend) + "/gpu-1/");
        assertThat(value(client.scrapeMetrics(base, null, TIMEOUT)).running()).isEqualTo(2);
        assertThat(value(client.checkHealth(base, null, TIMEOUT))).isEqualTo(200);
    }

    @Test
    void aPageWithoutTheFiguresIsNotAnError() throws Exception {
        stub(backend, "/metrics", aResponse().withBody("# HELP go_goroutines Goroutines.\ngo_goroutines 12\n"));

        LoadMetrics m = value(client.scrapeMetrics(base(backend), null, TIMEOUT));

        assertThat(m.hasLoad()).isFalse();
        assertThat(m.running()).isNaN();
        assertThat(m.waiting()).isNaN();
        assertThat(m.kvCacheUsage()).isNaN();
        assertThat(m.maxFds()).isNaN();
    }

    @Test
    void non200StatusFailsWithTheStatusAndUrl() throws Exception {
        stub(backend, "/metrics", aResponse().withStatus(500).withBody("Internal Server Error"));

        Throwable error = failure(client.scrapeMetrics(base(backend), null, TIMEOUT));

        assertThat(error).isExactlyInstanceOf(IOException.class)
                .hasMessage("GET " + base(backend) + "/metrics: HTTP 500 (expected: 200): Internal Server Error");
    }

    @Test
    void garbageTextFailsWithMetricsFormatException() throws Exception {
        stub(backend, "/metrics", aResponse().withBody("Service Unavailable, try later\n"));

        Throwable error = failure(client.scrapeMetrics(base(backend), null, TIMEOUT));

        assertThat(error).isInstanceOfSatisfying(MetricsFormatException.class, e -> {
            assertThat(e.line()).isEqualTo(1);
            assertThat(e.getMessage()).contains("invalid value 'Unavailable,' for Service");
        });
    }

    @Test
    void slowBackendTimesOut() throws Exception {
        stub(backend, "/metrics", aResponse().withBody("vllm:num_requests_running 1\n").withFixedDelay(20_000));

        Throwable error = failure(client.scrapeMetrics(base(backend), null, SHORT_TIMEOUT));

        assertThat(error).isInstanceOf(HttpTimeoutException.class)
                .hasMessageContaining("GET " + base(backend) + "/metrics");
    }

    @Test
    void oneHungBackendDoesNotDelayAnother() throws Exception {
        StallingServer slow = new StallingServer();
        stub(backend, "/metrics", aResponse().withBody("vllm:num_requests_running 2\n"));

        CompletableFuture<LoadMetrics> hung = client.scrapeMetrics(slow.base(), null, Duration.ofSeconds(60));
        slow.headersSent.get(WAIT_SECONDS, TimeUnit.SECONDS); // the hung scrape is in flight from here on
        CompletableFuture<LoadMetrics> fast = client.scrapeMetrics(base(backend), null, Duration.ofSeconds(60));

        assertThat(value(fast).running()).isEqualTo(2);
        assertThat(hung).as("the hung backend's scrape is still pending").isNotDone();
        hung.cancel(true);
    }

    /**
     * A backend that sends headers and then stalls in the body: the client's own request timeout
     * stops at the headers, so this is the deadline on the whole call at work.
     */
    @Test
    void stalledBodyTimesOutAndTheConnectionIsClosed() throws Exception {
        StallingServer stalling = new StallingServer();

        Throwable error = failure(client.scrapeMetrics(stalling.base(), null, SHORT_TIMEOUT));

        assertThat(error).isInstanceOf(HttpTimeoutException.class)
                .hasMessage("GET " + stalling.base() + "/metrics: no complete response within PT0.3S");
        assertThat(stalling.closedByClient.get(WAIT_SECONDS, TimeUnit.SECONDS))
                .as("the exchange was cancelled, so the client closed the connection").isTrue();
    }

    @Test
    void cancellingTheFutureCancelsTheExchange() throws Exception {
        StallingServer stalling = new StallingServer();

        CompletableFuture<Integer> health = client.checkHealth(stalling.base(), null, Duration.ofSeconds(60));
        stalling.headersSent.get(WAIT_SECONDS, TimeUnit.SECONDS);
        health.cancel(true);

        assertThat(stalling.closedByClient.get(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
        assertThatThrownBy(health::join).isInstanceOf(CancellationException.class);
    }

    @Test
    void connectionRefused() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            port = s.getLocalPort();
        }
        URI base = URI.create("http://127.0.0.1:" + port);

        Throwable scrape = failure(client.scrapeMetrics(base, null, TIMEOUT));
        Throwable health = failure(client.checkHealth(base, null, TIMEOUT));

        assertThat(scrape).isInstanceOf(ConnectException.class)
                .hasMessage("GET " + base + "/metrics: connection refused");
        assertThat(health).isInstanceOf(ConnectException.class)
                .hasMessage("GET " + base + "/health: connection refused");
        assertThat(TransportException.describe(health)).isEqualTo("GET " + base + "/health: connection refused");
    }

    @Test
    void anUnknownHostIsNotAConnectionRefused() throws Exception {
        URI base = URI.create("http://no-such-host.invalid:8000");
        Throwable health = failure(client.checkHealth(base, null, TIMEOUT));
        assertThat(TransportException.describe(health)).isEqualTo("GET " + base + "/health: unknown host");
    }

    // ---- /v1/models

    @Test
    void fetchesTheModelList() throws Exception {
        stub(backend, "/v1/models", aResponse().withHeader("Content-Type", "application/json").withBody("""
                {"object":"list","data":[
                  {"id":"Qwen/Qwen3-0.6B","object":"model","owned_by":"vllm","max_model_len":40960},
                  {"id":"my-lora","object":"model","parent":"Qwen/Qwen3-0.6B"}
                ]}"""));

        List<ModelInfo> models = value(client.fetchModels(base(backend), null, TIMEOUT));

        assertThat(models).extracting(ModelInfo::id).containsExactly("Qwen/Qwen3-0.6B", "my-lora");
        assertThat(json(models.get(0)).get("max_model_len").asInt()).isEqualTo(40960);
        assertThat(json(models.get(1)).get("parent").asText()).isEqualTo("Qwen/Qwen3-0.6B");
        assertThatThrownBy(() -> models.add(models.get(0))).isInstanceOf(UnsupportedOperationException.class);
        backend.verify(getRequestedFor(urlEqualTo("/v1/models")).withHeader("Accept", equalTo("application/json")));
    }

    @Test
    void emptyModelList() throws Exception {
        stub(backend, "/v1/models", aResponse().withBody("{\"object\":\"list\",\"data\":[]}"));

        assertThat(value(client.fetchModels(base(backend), null, TIMEOUT))).isEmpty();
    }

    @Test
    void garbageModelsJson() throws Exception {
        stub(backend, "/v1/models", aResponse().withBody("<html>not json</html>"));

        assertThat(failure(client.fetchModels(base(backend), null, TIMEOUT)))
                .isExactlyInstanceOf(IOException.class)
                .hasMessageStartingWith("GET " + base(backend) + "/v1/models: body is not JSON");
    }

    @Test
    void modelsWithoutDataArray() throws Exception {
        stub(backend, "/v1/models", aResponse().withBody("{\"object\":\"list\",\"models\":[]}"));

        assertThat(failure(client.fetchModels(base(backend), null, TIMEOUT)))
                .isExactlyInstanceOf(IOException.class)
                .hasMessageContaining("/v1/models: expected an object with a \"data\" array");
    }

    @Test
    void modelsEntryWithoutId() throws Exception {
        stub(backend, "/v1/models", aResponse().withBody("{\"data\":[{\"id\":\"a\"},{\"name\":\"b\"}]}"));

        assertThat(failure(client.fetchModels(base(backend), null, TIMEOUT)))
                .isExactlyInstanceOf(IOException.class)
                .hasMessageContaining("data[1] has no string \"id\"");
    }

    @Test
    void emptyModelsBody() throws Exception {
        stub(backend, "/v1/models", aResponse().withStatus(200));

        assertThat(failure(client.fetchModels(base(backend), null, TIMEOUT)))
                .isExactlyInstanceOf(IOException.class)
                .hasMessageContaining("got an empty body");
    }

    @Test
    void modelsNon200() throws Exception {
        stub(backend, "/v1/models", aResponse().withStatus(401).withBody("{\"error\":\"bad key\"}"));

        assertThat(failure(client.fetchModels(base(backend), null, TIMEOUT)))
                .isExactlyInstanceOf(IOException.class)
                .hasMessage("GET " + base(backend) + "/v1/models: HTTP 401 (expected: 200): {\"error\":\"bad key\"}");
    }

    // ---- /health

    @Test
    void healthCompletesWithAnyStatus() throws Exception {
        stub(backend, "/health", aResponse().withStatus(200));
        WireMockServer sick = startServer();
        stub(sick, "/health", aResponse().withStatus(503).withBody("loading"));

        assertThat(value(client.checkHealth(base(backend), null, TIMEOUT))).isEqualTo(200);
        assertThat(value(client.checkHealth(base(sick), null, TIMEOUT))).isEqualTo(503);
    }

    @Test
    void slowHealthTimesOut() throws Exception {
        stub(backend, "/health", aResponse().withStatus(200).withFixedDelay(20_000));

        assertThat(failure(client.checkHealth(base(backend), null, SHORT_TIMEOUT)))
                .isInstanceOf(HttpTimeoutException.class);
    }

    // ---- auth and arguments

    @Test
    void sendsTheApiKeyAsBearerToken() throws Exception {
        stub(backend, "/metrics", aResponse().withBody("vllm:num_requests_running 1\n"));
        stub(backend, "/v1/models", aResponse().withBody("{\"data\":[]}"));
        stub(backend, "/health", aResponse().withStatus(200));

        value(client.scrapeMetrics(base(backend), "sk-secret", TIMEOUT));
        value(client.fetchModels(base(backend), "sk-secret", TIMEOUT));
        value(client.checkHealth(base(backend), "sk-secret", TIMEOUT));

        for (String path : List.of("/metrics", "/v1/models", "/health")) {
            backend.verify(1, getRequestedFor(urlEqualTo(path))
                    .withHeader("Authorization", equalTo("Bearer sk-secret")));
        }
    }

    @Test
    void noAuthorizationHeaderWithoutKey() throws Exception {
        stub(backend, "/health", aResponse().withStatus(200));

        value(client.checkHealth(base(backend), null, TIMEOUT));
        value(client.checkHealth(base(backend), "", TIMEOUT));

        backend.verify(2, getRequestedFor(urlEqualTo("/health")).withoutHeader("Authorization"));
    }

    @Test
    void rejectsBadArguments() {
        URI base = base(backend);
        assertThatThrownBy(() -> client.scrapeMetrics(base, null, Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("timeout: PT0S (expected: > 0)");
        assertThatThrownBy(() -> client.checkHealth(base, null, Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("timeout: PT-1S (expected: > 0)");
        assertThatThrownBy(() -> client.fetchModels(URI.create("ftp://host/x"), null, TIMEOUT))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("base: ftp://host/x (expected: http:// or https:// URL with a host)");
        assertThatThrownBy(() -> client.scrapeMetrics(null, null, TIMEOUT)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> client.scrapeMetrics(base, null, null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> new BackendClient(null)).isInstanceOf(NullPointerException.class);
    }

    /**
     * Answers one request with headers and the start of a 1000-byte body, then sends nothing more;
     * reports when the client closes the connection.
     */
    private final class StallingServer {

        final CompletableFuture<Void> headersSent = new CompletableFuture<>();
        final CompletableFuture<Boolean> closedByClient = new CompletableFuture<>();
        private final ServerSocket socket;

        StallingServer() throws IOException {
            socket = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
            sockets.add(socket);
            Thread thread = new Thread(this::serve, "stalling-backend");
            thread.setDaemon(true);
            thread.start();
        }

        URI base() {
            return URI.create("http://127.0.0.1:" + socket.getLocalPort());
        }

        private void serve() {
            try (Socket s = socket.accept()) {
                InputStream in = s.getInputStream();
                BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
                String line;
                while ((line = reader.readLine()) != null && !line.isEmpty()) {
                    // request head
                }
                s.getOutputStream().write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n"
                        + "vllm:num_requests_running 1\n").getBytes(StandardCharsets.US_ASCII));
                s.getOutputStream().flush();
                headersSent.complete(null);
                closedByClient.complete(in.read() == -1);
            } catch (IOException e) {
                headersSent.completeExceptionally(e);
                closedByClient.complete(e instanceof java.net.SocketException);
            }
        }
    }

    /** A model entry's JSON, parsed. */
    private static com.fasterxml.jackson.databind.JsonNode json(io.vllmrouter.api.ModelInfo m) throws Exception {
        return new com.fasterxml.jackson.databind.ObjectMapper().readTree(m.json());
    }
}
