package io.vllmrouter.examples.server;

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
import io.vllmrouter.core.config.RouterConfigBuilder;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.examples.sim.Faults;
import io.vllmrouter.examples.sim.Reasoning;
import io.vllmrouter.examples.sim.SimConfig;
import io.vllmrouter.examples.sim.SimulatedVllm;
import io.vllmrouter.testing.FakeClock;
import java.io.EOFException;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The router against simulated vLLM servers that stream the way vLLM does: a non-streaming answer
 * longer than {@code first_token_timeout} runs once; a stream stalled after its headers is tried
 * elsewhere; vLLM's in-band error is resumed seamlessly under stream failover, and without it ends
 * the stream as a cut one, through the proxy too; an answer whose {@code [DONE]} went by is not
 * generated again; a reasoning model's thinking and answer keep their fields across a continuation.
 * The servers count what they were asked ({@code vllm:request_success_total}, requests held by a fault).
 */
@Timeout(60)
class VllmStreamingTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration SAFETY = Duration.ofSeconds(20);
    private static final String PATH = "/v1/chat/completions";
    private static final String STREAM = "{\"model\":\"llama\",\"stream\":true,\"max_tokens\":12,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"Tell me about routers\"}]}";
    private static final String PLAIN = STREAM.replace("\"stream\":true", "\"stream\":false");

    private final FakeClock clock = new FakeClock();
    private final List<SimulatedVllm> sims = new ArrayList<>();
    private VllmRouter router;
    private ProxyStack stack;

    @AfterEach
    void stop() throws Exception {
        if (stack != null) {
            stack.close();
        } else if (router != null) {
            router.close();
        }
        sims.forEach(SimulatedVllm::close);
    }

    private SimulatedVllm sim(SimConfig.Builder b) throws IOException {
        SimulatedVllm s = SimulatedVllm.start(b.build());
        sims.add(s);
        return s;
    }

    private static SimConfig.Builder simConfig() {
        return SimConfig.builder().models("llama").seed(11).timeScale(50);
    }

    /** A router over {@code first} then {@code second}, its request timers on the fake clock. */
    private VllmRouter router(RouterConfigBuilder config, SimulatedVllm first, SimulatedVllm second) {
        RouterConfig c = config.server(new ServerConfig(first.baseUrl(), 4, List.of("llama"), null))
                .server(new ServerConfig(second.baseUrl(), 4, List.of("llama"), null))
                .enableActiveHealthCheck(false).retryDelay(Duration.ZERO).build();
        router = VllmRouters.builder().config(c).strategy(new First()).requestScheduler(clock).build();
        return router;
    }

    private static RouterRequest post(String body) {
        return RouterRequest.post(PATH, body.getBytes(StandardCharsets.UTF_8)).header("Content-Type", "application/json").build();
    }

    private static String read(RouterResponse r) throws IOException {
        try (r) {
            return new String(r.body().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** Answers the server finished, however they ended ({@code vllm:request_success_total} over its reasons). */
    private static double finished(SimulatedVllm sim) throws IOException, InterruptedException {
        String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(sim.baseUrl().resolve("/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        double sum = 0;
        for (String line : metrics.split("\n")) {
            if (line.startsWith("vllm:request_success_total{")) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    /** The uninterrupted answer, straight from a healthy server. */
    private static Answer reference(SimulatedVllm sim, String body) throws Exception {
        return Answer.parse(HttpClient.newHttpClient().send(HttpRequest.newBuilder(sim.baseUrl().resolve(PATH))
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString()).body());
    }

    @Test
    void aNonStreamingAnswerThreeTimesLongerThanTheFirstTokenTimeoutSucceedsAndRunsOnce() throws Exception {
        // 1.5 s of prefill in real time: the answer, and so its headers, come after that
        SimulatedVllm slow = sim(simConfig().timeScale(1).ttftBaseMs(1500).tpotBaseMs(1));
        SimulatedVllm other = sim(simConfig());
        router(RouterConfig.builder().firstTokenTimeout(Duration.ofMillis(500)), slow, other);

        CompletableFuture<RouterResponse> f = router.routeAsync(post(PLAIN));
        assertThat(slow.awaitState(s -> s.running() + s.waiting() == 1, SAFETY)).isTrue();
        clock.advance(Duration.ofMillis(1500));          // three first-token timeouts pass while it generates
        String body = read(f.get(SAFETY.toSeconds(), TimeUnit.SECONDS));

        assertThat(JSON.readTree(body).path("object").asText()).isEqualTo("chat.completion");
        assertThat(finished(slow)).isEqualTo(1);
        assertThat(finished(other)).as("never run a second time").isZero();
        assertThat(router.stats().servers().get(0).requests().failed()).isZero();
    }

    @Test
    void aStreamStalledAfterItsHeadersIsRetriedAndCompletes() throws Exception {
        SimulatedVllm stalled = sim(simConfig().faults(Faults.stalling()));
        SimulatedVllm healthy = sim(simConfig());
        router(RouterConfig.builder().firstTokenTimeout(Duration.ofSeconds(5)), stalled, healthy);

        CompletableFuture<RouterResponse> f = router.routeAsync(post(STREAM));
        assertThat(stalled.awaitState(s -> s.hanging(PATH) == 1, SAFETY)).isTrue();
        assertThat(f).as("headers without a token answer nothing yet").isNotDone();
        clock.advance(Duration.ofSeconds(5));
        Answer got = Answer.parse(read(f.get(SAFETY.toSeconds(), TimeUnit.SECONDS)));

        assertThat(got.content).isEqualTo(reference(healthy, STREAM).content);
        assertThat(got.done).isEqualTo(1);
        assertThat(stalled.hanging(PATH)).as("the stalled server was asked once").isEqualTo(1);
        assertThat(finished(healthy)).isEqualTo(2);     // the retry and the reference
        assertThat(router.stats().servers().get(0).requests().failed()).isEqualTo(1);
    }

    @Test
    void anInBandEngineErrorIsResumedSeamlesslyUnderStreamFailover() throws Exception {
        SimulatedVllm failing = sim(simConfig().faults(Faults.errorAfter(5)));   // role + 4 tokens, then the error
        SimulatedVllm healthy = sim(simConfig());
        router(RouterConfig.builder().streamFailover(true), failing, healthy);

        Answer got = Answer.parse(read(router.route(post(STREAM))));

        Answer reference = reference(healthy, STREAM);
        assertThat(got.content).isNotEmpty().isEqualTo(reference.content);
        assertThat(got.errors).isZero();
        assertThat(got.done).isEqualTo(1);
        assertThat(got.lastIsDone).isTrue();
        assertThat(got.ids).hasSize(1);
        assertThat(router.stats().servers().get(0).requests().failed()).isEqualTo(1);
        assertThat(finished(failing)).isEqualTo(1);
        assertThat(finished(healthy)).isEqualTo(2);     // the continuation and the reference
    }

    @Test
    void withoutFailoverAnInBandErrorReachesTheClientThroughTheProxyAndTheStreamEndsCut() throws Exception {
        SimulatedVllm failing = sim(simConfig().faults(Faults.errorAfter(3)));
        SimulatedVllm healthy = sim(simConfig());
        RouterConfig c = RouterConfig.builder()
                .server(new ServerConfig(failing.baseUrl(), 4, List.of("llama"), null))
                .server(new ServerConfig(healthy.baseUrl(), 4, List.of("llama"), null))
                .enableActiveHealthCheck(false).build();
        stack = ProxyStack.start(c, r -> r.strategy(new First()), o -> { });
        router = stack.router;

        StringBuilder text = new StringBuilder();
        try (DataPlaneTest.RawClient client = DataPlaneTest.RawClient.post(stack.port(), STREAM)) {
            assertThat(client.status).isEqualTo(200);
            assertThatThrownBy(() -> {
                byte[] chunk;
                while ((chunk = client.nextChunk()) != null) {
                    text.append(new String(chunk, StandardCharsets.UTF_8));
                }
                text.append("<terminator>");
            }).as("the stream ends without its chunked terminator").isInstanceOf(EOFException.class);
        }
        assertThat(text.toString()).contains("\"type\": \"InternalServerError\"").doesNotContain("[DONE]")
                .doesNotContain("<terminator>");
        assertThat(finished(healthy)).as("nothing is run again once the answer started").isZero();
        assertThat(router.stats().servers().get(0).requests().failed()).isEqualTo(1);
    }

    @Test
    void anAnswerWhoseDoneWentByIsNotResumedWhenTheConnectionDrops() throws Exception {
        SimulatedVllm dropping = sim(simConfig().faults(Faults.cutAfterDone()));
        SimulatedVllm healthy = sim(simConfig());
        router(RouterConfig.builder().streamFailover(true), dropping, healthy);

        String body = read(router.route(post(STREAM)));
        Answer got = Answer.parse(body);

        assertThat(got.content).isEqualTo(reference(healthy, STREAM).content);
        assertThat(got.done).isEqualTo(1);
        assertThat(got.lastIsDone).isTrue();
        assertThat(finished(healthy)).as("the reference only, no continuation").isEqualTo(1);
        assertThat(finished(dropping)).isEqualTo(1);
    }

    @Test
    void aReasoningModelsThinkingAndAnswerKeepTheirFieldsAcrossAContinuation() throws Exception {
        // role + 3 reasoning tokens + 2 content tokens, then the cut
        SimulatedVllm cut = sim(simConfig().reasoning(Reasoning.tokens(3).field("reasoning_content")).faults(Faults.resetAfter(6)));
        SimulatedVllm healthy = sim(simConfig().reasoning(Reasoning.tokens(3).field("reasoning_content")));
        router(RouterConfig.builder().streamFailover(true), cut, healthy);

        Answer got = Answer.parse(read(router.route(post(STREAM))));

        Answer reference = reference(healthy, STREAM);
        assertThat(reference.reasoning).isNotEmpty();
        assertThat(got.reasoning).isEqualTo(reference.reasoning);
        assertThat(got.content).isEqualTo(reference.content);
        assertThat(got.done).isEqualTo(1);
        assertThat(finished(cut)).isEqualTo(1);
        assertThat(finished(healthy)).isEqualTo(2);
    }

    /** Always the first candidate in configuration order. */
    private static final class First implements BalancingStrategy {
        @Override
        public BackendView pick(List<? extends BackendView> candidates, RouteContext context) {
            return candidates.get(0);
        }
    }

    /** What a client reads of an SSE chat stream. */
    private static final class Answer {
        final StringBuilder contentBuilder = new StringBuilder();
        final StringBuilder reasoningBuilder = new StringBuilder();
        String content;
        String reasoning;
        final java.util.Set<String> ids = new java.util.LinkedHashSet<>();
        int done;
        int errors;
        boolean lastIsDone;

        static Answer parse(String body) throws IOException {
            Answer a = new Answer();
            for (String event : body.split("\n\n")) {
                if (!event.startsWith("data: ")) {
                    continue;
                }
                String data = event.substring(6).strip();
                a.lastIsDone = data.equals("[DONE]");
                if (a.lastIsDone) {
                    a.done++;
                    continue;
                }
                JsonNode n = JSON.readTree(data);
                if (n.has("error")) {
                    a.errors++;
                    continue;
                }
                a.ids.add(n.path("id").asText());
                JsonNode delta = n.path("choices").path(0).path("delta");
                a.contentBuilder.append(delta.path("content").asText(""));
                a.reasoningBuilder.append(delta.path("reasoning_content").asText(""));
            }
            a.content = a.contentBuilder.toString();
            a.reasoning = a.reasoningBuilder.toString();
            return a;
        }
    }
}
