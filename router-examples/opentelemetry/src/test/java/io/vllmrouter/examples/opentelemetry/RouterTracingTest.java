package io.vllmrouter.examples.opentelemetry;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.tomakehurst.wiremock.WireMockServer;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.core.VllmRouters;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link RouterTracing} on a real router over HTTP, spans caught by the SDK's in-memory exporter. */
class RouterTracingTest {

    private static final String CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
    private static final String CALLER_PARENT = "00f067aa0ba902b7";

    private final InMemorySpanExporter exported = InMemorySpanExporter.create();
    private OpenTelemetrySdk otel;
    private WireMockServer vllm;
    private VllmRouter router;
    private RouterTracing tracing;

    @BeforeEach
    void start() {
        otel = OpenTelemetrySdk.builder()
                .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(exported)).build())
                .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
                .build();
        vllm = new WireMockServer(wireMockConfig().bindAddress("127.0.0.1").dynamicPort());
        vllm.start();
        vllm.stubFor(post("/v1/chat/completions").willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json")
                .withBody("{\"id\":\"c1\",\"object\":\"chat.completion\",\"model\":\"llama\",\"choices\":[]}")));
        tracing = new RouterTracing(otel);
    }

    @AfterEach
    void stop() {
        if (router != null) {
            router.close();
        }
        vllm.stop();
        otel.close();
    }

    private static int closedPort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private void chat() throws Exception {
        RouterRequest request = RouterRequest.post("/v1/chat/completions",
                        "{\"model\":\"llama\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}".getBytes(StandardCharsets.UTF_8))
                .header("Content-Type", "application/json")
                .header("traceparent", "00-" + CALLER_TRACE + "-" + CALLER_PARENT + "-01")
                .requestId("req-1").build();
        try (RouterResponse r = router.route(request)) {
            assertThat(r.status()).isEqualTo(200);
            r.body().readAllBytes();
        }
    }

    @Test
    void aRequestIsAServerSpanInTheCallersTraceWithAClientSpanPerAttempt() throws Exception {
        String dead = "http://127.0.0.1:" + closedPort();
        router = VllmRouters.builder().config(RouterConfig.builder().enableActiveHealthCheck(false)
                        .retryDelay(Duration.ZERO).maxRetries(1).strategy("round-robin")
                        .server(new ServerConfig(URI.create(dead), 4, List.of(), null))
                        .server(new ServerConfig(URI.create(vllm.baseUrl()), 4, List.of(), null)).build())
                .listener(tracing).build();
        // round-robin over two: at least one of the two requests meets the dead server first
        chat();
        chat();

        List<SpanData> spans = exported.getFinishedSpanItems();
        List<SpanData> servers = spans.stream().filter(s -> s.getKind() == SpanKind.SERVER).toList();
        List<SpanData> clients = spans.stream().filter(s -> s.getKind() == SpanKind.CLIENT)
                .sorted(Comparator.comparing(SpanData::getStartEpochNanos)).toList();
        assertThat(servers).hasSize(2);
        long refused = clients.stream().filter(c -> c.getStatus().getStatusCode() == StatusCode.ERROR).count();
        assertThat(refused).isPositive();
        assertThat(clients).hasSize(2 + (int) refused);
        assertThat(tracing.open()).isZero();

        for (SpanData server : servers) {
            assertThat(server.getName()).isEqualTo("chat llama");
            assertThat(server.getTraceId()).isEqualTo(CALLER_TRACE);
            assertThat(server.getParentSpanId()).isEqualTo(CALLER_PARENT);
            assertThat(server.getAttributes().get(RouterTracing.OPERATION)).isEqualTo("chat");
            assertThat(server.getAttributes().get(RouterTracing.REQUEST_MODEL)).isEqualTo("llama");
            assertThat(server.getAttributes().get(RouterTracing.OUTCOME)).isEqualTo("success");
            assertThat(server.getAttributes().get(RouterTracing.STATUS_CODE)).isEqualTo(200L);
            assertThat(server.getAttributes().get(RouterTracing.TIME_TO_FIRST_CHUNK)).isNotNull().isPositive();
            assertThat(server.getAttributes().get(RouterTracing.BACKEND)).isEqualTo(vllm.baseUrl());
        }
        SpanData failed = clients.stream().filter(c -> c.getStatus().getStatusCode() == StatusCode.ERROR)
                .findFirst().orElseThrow();
        assertThat(failed.getAttributes().get(RouterTracing.SERVER_PORT)).isEqualTo((long) URI.create(dead).getPort());
        assertThat(failed.getAttributes().get(RouterTracing.STATUS_CODE)).isNull();
        assertThat(failed.getStatus().getDescription()).contains("connection refused");
        assertThat(failed.getAttributes().get(RouterTracing.ERROR_TYPE)).doesNotContain("Exception");
        List<SpanData> answered = clients.stream().filter(c -> c.getStatus().getStatusCode() != StatusCode.ERROR).toList();
        assertThat(answered).hasSize(2).allSatisfy(c -> {
            assertThat(c.getName()).isEqualTo("chat llama");
            assertThat(c.getAttributes().get(RouterTracing.SERVER_ADDRESS)).isEqualTo(URI.create(vllm.baseUrl()).getHost());
            assertThat(c.getAttributes().get(RouterTracing.SERVER_PORT)).isEqualTo((long) vllm.port());
            assertThat(c.getAttributes().get(RouterTracing.STATUS_CODE)).isEqualTo(200L);
            assertThat(servers).anySatisfy(s -> assertThat(c.getParentSpanId()).isEqualTo(s.getSpanId()));
        });

        // vLLM got each answering attempt's own span as its parent, in the caller's trace
        List<String> sent = vllm.findAll(postRequestedFor(urlEqualTo("/v1/chat/completions"))).stream()
                .map(r -> r.getHeader("traceparent")).toList();
        assertThat(sent).containsExactlyInAnyOrderElementsOf(answered.stream()
                .map(c -> "00-" + CALLER_TRACE + "-" + c.getSpanId() + "-01").toList());
    }

    @Test
    void withoutAnSdkNothingIsRecordedAndNothingLeaks() throws Exception {
        tracing = new RouterTracing(io.opentelemetry.api.OpenTelemetry.noop());
        router = VllmRouters.builder().config(RouterConfig.builder().enableActiveHealthCheck(false)
                        .server(new ServerConfig(URI.create(vllm.baseUrl()), 4, List.of(), null)).build())
                .listener(tracing).build();
        chat();
        assertThat(tracing.open()).isZero();
        assertThat(exported.getFinishedSpanItems()).isEmpty();
        // the caller's own traceparent goes on untouched when the router does not trace
        assertThat(vllm.findAll(postRequestedFor(urlEqualTo("/v1/chat/completions"))).get(0).getHeader("traceparent"))
                .isEqualTo("00-" + CALLER_TRACE + "-" + CALLER_PARENT + "-01");
    }

    @Test
    void operationsFollowTheOpenAiPaths() {
        assertThat(RouterTracing.operation("/v1/chat/completions")).isEqualTo("chat");
        assertThat(RouterTracing.operation("/v1/completions?x=1")).isEqualTo("text_completion");
        assertThat(RouterTracing.operation("/v1/embeddings")).isEqualTo("embeddings");
        assertThat(RouterTracing.operation("/v1/models")).isEqualTo("/v1/models");
    }
}
