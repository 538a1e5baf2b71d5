package io.vllmrouter.examples.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.examples.tracing.ProxyTracing;
import io.vllmrouter.testing.RouterEvents;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Traces from the proxy to an OTLP/HTTP receiver on 127.0.0.1: a chat completion sent through the proxy
 * arrives as spans carrying the model name and the GenAI attributes. The receiver keeps each POST's body
 * (protobuf; its strings are plain UTF-8, so the test looks for them in the bytes).
 */
class TracingThroughProxyTest {

    private static final Duration SAFETY = Duration.ofSeconds(20);

    private final BlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
    private HttpServer collector;
    private FakeVllm vllm;
    private ProxyStack stack;
    private VllmRouter router;
    private ProxyServer proxy;
    private ProxyTracing tracing;

    @AfterEach
    void stop() {
        if (stack != null) {
            stack.close();
        }
        if (tracing != null) {
            tracing.close();
        }
        if (vllm != null) {
            vllm.close();
        }
        if (collector != null) {
            collector.stop(0);
        }
    }

    private String startCollector() throws IOException {
        collector = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        collector.createContext("/v1/traces", ex -> {
            byte[] body;
            try (InputStream in = ex.getRequestBody()) {
                body = in.readAllBytes();
            }
            if ("gzip".equalsIgnoreCase(ex.getRequestHeaders().getFirst("Content-Encoding"))) {
                try (InputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(body))) {
                    body = in.readAllBytes();
                }
            }
            received.add(body);
            ex.getResponseHeaders().set("Content-Type", "application/x-protobuf");
            ex.sendResponseHeaders(200, -1);
            ex.close();
        });
        collector.start();
        return "http://127.0.0.1:" + collector.getAddress().getPort();
    }

    private void startProxy(ProxyTracing t) throws IOException {
        vllm = new FakeVllm(List.of(FakeVllm.model("llama", 8192)));
        RouterEvents events = new RouterEvents();
        stack = ProxyStack.start(RouterConfig.builder()
                        .server(new ServerConfig(URI.create(vllm.url()), 4, List.of(), null)).build(),
                r -> r.listener(events).listener(t.listener()), o -> { });
        router = stack.router;
        proxy = stack.proxy;
        events.awaitEligible(router, 1, SAFETY);
    }

    private int chat() throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port()
                        + "/v1/chat/completions")).timeout(SAFETY).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"llama\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")).build(),
                HttpResponse.BodyHandlers.ofString());
        return r.statusCode();
    }

    private String allReceived() throws InterruptedException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] first = received.poll(SAFETY.toSeconds(), TimeUnit.SECONDS);
        assertThat(first).as("spans received by the collector").isNotNull();
        all.writeBytes(first);
        for (byte[] more; (more = received.poll()) != null; ) {
            all.writeBytes(more);
        }
        return all.toString(StandardCharsets.ISO_8859_1);
    }

    @Test
    void aChatCompletionThroughTheProxyArrivesAsSpansWithGenAiAttributes() throws Exception {
        tracing = ProxyTracing.start(startCollector(), Map.of());
        assertThat(tracing).isNotNull();
        assertThat(tracing.describe()).endsWith("/v1/traces");
        startProxy(tracing);

        assertThat(chat()).isEqualTo(200);
        tracing.close();   // flushes the batch
        tracing = null;

        String spans = allReceived();
        assertThat(spans).contains("vllm-router")             // service.name
                .contains("chat llama")                        // span name: operation and model
                .contains("gen_ai.operation.name").contains("gen_ai.request.model").contains("llama")
                .contains("gen_ai.response.time_to_first_chunk")
                .contains("server.address").contains("server.port")
                .contains("vllm_router.outcome").contains("success");
        assertThat(vllm.lastTraceparent).as("traceparent sent to the backend").matches("00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}");
    }

    @Test
    void theStandardEnvironmentTurnsItOnAndNothingElseDoes() throws Exception {
        String endpoint = startCollector();
        assertThat(ProxyTracing.start(null, Map.of())).isNull();
        assertThat(ProxyTracing.start(null, Map.of("OTEL_TRACES_EXPORTER", "none"))).isNull();
        assertThat(ProxyTracing.start(endpoint, Map.of("OTEL_SDK_DISABLED", "true"))).isNull();

        tracing = ProxyTracing.start(null, Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint,
                "OTEL_SERVICE_NAME", "router-under-test"));
        assertThat(tracing).isNotNull();
        startProxy(tracing);
        assertThat(chat()).isEqualTo(200);
        tracing.close();
        tracing = null;
        assertThat(allReceived()).contains("router-under-test").contains("chat llama");
    }
}
