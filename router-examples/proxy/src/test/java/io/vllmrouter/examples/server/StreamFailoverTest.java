package io.vllmrouter.examples.server;

import io.vllmrouter.examples.server.upstream.NettyTransport;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.api.spi.BackendView;
import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.RouteContext;
import io.vllmrouter.core.VllmRouters;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.api.transport.Transport;
import io.vllmrouter.examples.sim.Faults;
import io.vllmrouter.examples.sim.SimConfig;
import io.vllmrouter.examples.sim.SimulatedVllm;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code stream_failover}: a streamed chat completion whose backend is cut mid-answer continues on
 * another backend, and the caller reads the same text an uninterrupted answer has, under one id,
 * with one usage and one {@code [DONE]} — embedded on the JDK and Netty transports, and through the
 * proxy. The simulators share a seed, so the same conversation gives the same words on each.
 */
@Timeout(60)
class StreamFailoverTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CHAT = "{\"model\":\"llama\",\"stream\":true,\"max_tokens\":12,"
            + "\"stream_options\":{\"include_usage\":true},"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"Tell me about routers\"}]}";

    private SimulatedVllm cut;
    private SimulatedVllm whole;
    private VllmRouter router;
    private EventLoops loops;
    private ProxyServer proxy;

    @BeforeEach
    void start() throws IOException {
        SimConfig.Builder sim = SimConfig.builder().models("llama").seed(11).timeScale(50);
        cut = SimulatedVllm.start(sim.faults(Faults.resetAfter(4)).build());   // role + 3 tokens, then cut
        whole = SimulatedVllm.start(sim.faults(Faults.NONE).build());
    }

    @AfterEach
    void stop() throws Exception {
        if (proxy != null) {
            proxy.stop(Duration.ZERO);
        }
        if (router != null) {
            router.close();
        }
        if (loops != null) {
            loops.close();
        }
        cut.close();
        whole.close();
    }

    private VllmRouter router(Transport transport, boolean failover) {
        RouterConfig config = RouterConfig.builder()
                .server(new ServerConfig(cut.baseUrl(), 4, List.of("llama"), null))
                .server(new ServerConfig(whole.baseUrl(), 4, List.of("llama"), null))
                .enableActiveHealthCheck(false)
                .streamFailover(failover)
                .build();
        VllmRouters.Builder b = VllmRouters.builder().config(config).strategy(new First());
        if (transport != null) {
            b.transport(transport);
        }
        router = b.build();
        return router;
    }

    /** The uninterrupted answer, straight from the healthy simulator. */
    private Stream reference() throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create(whole.baseUrl() + "/v1/chat/completions"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(CHAT)).build(),
                HttpResponse.BodyHandlers.ofString());
        return Stream.parse(r.body());
    }

    private static String routed(VllmRouter router, String body) throws IOException {
        try (RouterResponse r = router.route(RouterRequest.post("/v1/chat/completions", body.getBytes(StandardCharsets.UTF_8))
                .header("Content-Type", "application/json").build())) {
            assertThat(r.status()).isEqualTo(200);
            return new String(r.body().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private void assertSeamless(Stream resumed, Stream reference) {
        assertThat(router.stats().servers().get(0).requests().failed()).as("the cut backend's failure").isEqualTo(1);
        assertThat(router.stats().servers().get(1).requests().succeeded()).as("the continuation").isEqualTo(1);
        assertThat(reference.text).isNotEmpty();
        assertThat(resumed.text).isEqualTo(reference.text);
        assertThat(resumed.ids).hasSize(1);
        assertThat(resumed.done).isEqualTo(1);
        assertThat(resumed.lastIsDone).isTrue();
        assertThat(resumed.roles).isEqualTo(1);
        assertThat(resumed.usages).singleElement().satisfies(u -> {
            assertThat(u.path("completion_tokens").asInt()).isEqualTo(12);
            assertThat(u.path("total_tokens").asInt())
                    .isEqualTo(u.path("prompt_tokens").asInt() + u.path("completion_tokens").asInt());
        });
    }

    @Test
    void aStreamCutMidAnswerContinuesOnAnotherBackendOnTheJdkTransport() throws Exception {
        Stream resumed = Stream.parse(routed(router(null, true), CHAT));
        assertSeamless(resumed, reference());
    }

    @Test
    void aStreamCutMidAnswerContinuesOnAnotherBackendOnTheNettyTransport() throws Exception {
        loops = EventLoops.create(1);
        Stream resumed = Stream.parse(routed(router(NettyTransport.create(loops), true), CHAT));
        assertSeamless(resumed, reference());
    }

    @Test
    void aStreamCutMidAnswerContinuesThroughTheProxy() throws Exception {
        loops = EventLoops.create(1);
        proxy = ProxyServer.start(router(NettyTransport.create(loops), true),
                ProxyOptions.builder().host("127.0.0.1").port(0).eventLoops(loops).build());
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + proxy.port() + "/v1/chat/completions"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(CHAT)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertSeamless(Stream.parse(r.body()), reference());
    }

    @Test
    void withoutFailoverTheCutIsAnErrorForTheReader() {
        VllmRouter r = router(null, false);
        assertThatThrownBy(() -> routed(r, CHAT)).isInstanceOf(IOException.class);
    }

    @Test
    void aRequestWithToolsIsNotResumedAndTheCutStaysVisible() {
        VllmRouter r = router(null, true);
        String withTools = CHAT.replace("\"stream\":true,", "\"stream\":true,\"tools\":[{\"type\":\"function\","
                + "\"function\":{\"name\":\"f\",\"parameters\":{}}}],");
        assertThatThrownBy(() -> routed(r, withTools)).isInstanceOf(IOException.class);
    }

    /** Always the first candidate in configuration order: the cut simulator. */
    private static final class First implements BalancingStrategy {
        @Override
        public BackendView pick(List<? extends BackendView> candidates, RouteContext context) {
            return candidates.get(0);
        }
    }

    /** What a client sees of an SSE chat stream. */
    private static final class Stream {
        final StringBuilder textBuilder = new StringBuilder();
        String text;
        final Set<String> ids = new LinkedHashSet<>();
        final List<JsonNode> usages = new ArrayList<>();
        int done;
        int roles;
        boolean lastIsDone;

        static Stream parse(String body) throws IOException {
            Stream s = new Stream();
            for (String event : body.split("\n\n")) {
                if (!event.startsWith("data: ")) {
                    continue;
                }
                String data = event.substring(6).strip();
                s.lastIsDone = data.equals("[DONE]");
                if (s.lastIsDone) {
                    s.done++;
                    continue;
                }
                JsonNode n = JSON.readTree(data);
                s.ids.add(n.path("id").asText());
                JsonNode c = n.path("choices").path(0);
                if (c.path("delta").has("role")) {
                    s.roles++;
                }
                s.textBuilder.append(c.path("delta").path("content").asText(""));
                if (n.hasNonNull("usage")) {
                    s.usages.add(n.get("usage"));
                }
            }
            s.text = s.textBuilder.toString();
            return s;
        }
    }
}
