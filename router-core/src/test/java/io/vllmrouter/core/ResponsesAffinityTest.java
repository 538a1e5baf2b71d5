package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.api.spi.BackendView;
import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.RouteContext;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.RouterConfigBuilder;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.api.transport.UpstreamResponse;
import io.vllmrouter.testing.FakeClock;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Requests about a stored Responses API object go to the server that created it (vLLM keeps it in
 * that process's memory); one whose server is unknown is looked up on the servers in turn.
 */
class ResponsesAffinityTest {

    private static final String A = "http://gpu-a:8000";
    private static final String B = "http://gpu-b:8000";
    private static final String C = "http://gpu-c:8000";
    private static final Map<String, List<String>> JSON = Map.of("content-type", List.of("application/json"));

    private final FakeClock clock = new FakeClock();
    private final ScriptedTransport transport = new ScriptedTransport();
    /** Response ids each server holds, as its store would. */
    private final Map<String, Set<String>> stores = new ConcurrentHashMap<>();
    private DefaultVllmRouter router;

    @AfterEach
    void stop() {
        if (router != null) {
            router.close();
        }
    }

    /** Always the last candidate: without affinity, a follow-up would go there. */
    private static final class Last implements BalancingStrategy {
        @Override
        public BackendView pick(List<? extends BackendView> candidates, RouteContext context) {
            return candidates.get(candidates.size() - 1);
        }
    }

    /** The candidates in turn: without affinity, a follow-up would go to the next server. */
    private static final class InTurn implements BalancingStrategy {
        private int next;

        @Override
        public synchronized BackendView pick(List<? extends BackendView> candidates, RouteContext context) {
            return candidates.get(next++ % candidates.size());
        }
    }

    private static String fixture(String name) throws Exception {
        try (InputStream in = ResponsesAffinityTest.class.getResourceAsStream("/fixtures/errors/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** A server with a Responses store: creates answer their new id, follow-ups find it or 404 as vLLM does. */
    private void server(String base, String... holds) throws Exception {
        Set<String> store = ConcurrentHashMap.newKeySet();
        store.addAll(List.of(holds));
        stores.put(base, store);
        String notFound = fixture("response-not-found.json");
        transport.answer(base, r -> {
            String path = r.uri().getRawPath();
            if (path.equals("/v1/responses")) {
                String id = "resp_" + r.uri().getHost() + "_" + store.size();
                String body = new String(r.body(), StandardCharsets.UTF_8);
                if (!body.contains("\"store\":false")) {
                    store.add(id);
                }
                if (body.contains("\"stream\":true")) {
                    return answer(200, Map.of("content-type", List.of("text/event-stream")),
                            "event: response.created\ndata: {\"response\":{\"id\":\"" + id + "\",\"object\":\"response\","
                                    + "\"output\":[]},\"sequence_number\":0,\"type\":\"response.created\"}\n\n",
                            "event: response.completed\ndata: {\"response\":{\"id\":\"" + id + "\"},\"type\":\"response.completed\"}\n\n");
                }
                return answer(200, JSON, "{\"id\":\"" + id + "\",\"object\":\"response\",\"status\":\"completed\"}");
            }
            String id = path.substring("/v1/responses/".length()).split("/")[0];
            return store.contains(id) ? answer(200, JSON, "{\"id\":\"" + id + "\",\"object\":\"response\"}")
                    : answer(404, JSON, notFound.replace("resp_0f3c6f2b8a9e4d1c9b7a5e3f2d1c0b9a", id));
        });
    }

    private static CompletableFuture<UpstreamResponse> answer(int status, Map<String, List<String>> headers,
                                                              String... chunks) {
        return CompletableFuture.completedFuture(UpstreamResponse.of(status, headers, Chunks.of(chunks)));
    }

    private void router(BalancingStrategy strategy, RouterConfigBuilder config) {
        router = VllmRouters.builder()
                .config(config.server(new ServerConfig(A, 4)).server(new ServerConfig(B, 4)).server(new ServerConfig(C, 4))
                        .enableActiveHealthCheck(false).retryDelay(Duration.ZERO).build())
                .ticker(clock).scheduler(clock).strategy(strategy).probe(new TestSupport.FakeProbe())
                .transport(transport).buildRouter();
    }

    private Answer route(RouterRequest r) throws Exception {
        try (RouterResponse resp = router.route(r)) {
            return new Answer(resp.status(), resp.backendId(), resp.attempts(),
                    new String(resp.body().readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    private record Answer(int status, String backend, int attempts, String body) {
    }

    private static RouterRequest create(String json) {
        return RouterRequest.post("/v1/responses", json.getBytes(StandardCharsets.UTF_8))
                .header("Content-Type", "application/json").build();
    }

    private List<String> hosts() {
        return transport.sent.stream().map(r -> r.method() + " " + r.uri().getHost() + r.uri().getRawPath()).toList();
    }

    @Test
    void aResponseCreatedThroughTheRouterIsServedByItsServer() throws Exception {
        server(A);
        server(B);
        server(C);
        router(new InTurn(), RouterConfig.builder());
        Answer created = route(create("{\"model\":\"m\",\"input\":\"hi\"}"));
        assertThat(created.backend()).isEqualTo(A);
        assertThat(created.body()).contains("resp_gpu-a_0");
        transport.sent.clear();

        Answer got = route(RouterRequest.get("/v1/responses/resp_gpu-a_0").build());
        assertThat(got.backend()).as("learned from the create; in turn it would be B").isEqualTo(A);
        assertThat(got.attempts()).isEqualTo(1);
        for (String follow : List.of("/v1/responses/resp_gpu-a_0?stream=false", "/v1/responses/resp_gpu-a_0/input_items")) {
            assertThat(route(RouterRequest.get(follow).build()).backend()).isEqualTo(A);
        }
        assertThat(route(RouterRequest.post("/v1/responses/resp_gpu-a_0/cancel", new byte[0]).build()).backend()).isEqualTo(A);
        assertThat(route(RouterRequest.builder("DELETE", "/v1/responses/resp_gpu-a_0").build()).backend()).isEqualTo(A);
        assertThat(hosts()).hasSize(5).allMatch(h -> h.contains("gpu-a"));
    }

    @Test
    void aStreamedCreateIsLearnedFromItsResponseCreatedEvent() throws Exception {
        server(A);
        server(B);
        server(C);
        router(new InTurn(), RouterConfig.builder());
        route(create("{\"model\":\"m\",\"input\":\"hi\"}"));                     // on A
        Answer created = route(create("{\"model\":\"m\",\"input\":\"hi\",\"stream\":true}"));
        assertThat(created.backend()).isEqualTo(B);
        assertThat(created.body()).as("passed on as it came")
                .startsWith("event: response.created\ndata: {\"response\":{\"id\":\"resp_gpu-b_0\"")
                .endsWith("\"type\":\"response.completed\"}\n\n");
        transport.sent.clear();
        assertThat(route(RouterRequest.get("/v1/responses/resp_gpu-b_0").build()).attempts()).isEqualTo(1);
        assertThat(hosts()).as("in turn it would be C").containsExactly("GET gpu-b/v1/responses/resp_gpu-b_0");
    }

    @Test
    void aFollowUpFromAnotherReplicaIsLookedUpAndNoServerIsChargedForItsNotFound() throws Exception {
        server(A);
        server(B);
        server(C, "resp_made_elsewhere");
        router(new TestSupport.FirstStrategy(), RouterConfig.builder());

        Answer got = route(RouterRequest.get("/v1/responses/resp_made_elsewhere").build());
        assertThat(got.status()).isEqualTo(200);
        assertThat(got.backend()).isEqualTo(C);
        assertThat(got.attempts()).isEqualTo(3);
        assertThat(hosts()).containsExactly("GET gpu-a/v1/responses/resp_made_elsewhere",
                "GET gpu-b/v1/responses/resp_made_elsewhere", "GET gpu-c/v1/responses/resp_made_elsewhere");
        assertThat(router.stats().servers()).allSatisfy(s -> {
            assertThat(s.requests().failed()).isZero();
            assertThat(s.circuitState()).isEqualTo(io.vllmrouter.api.CircuitState.CLOSED);
        });

        transport.sent.clear();
        route(RouterRequest.builder("POST", "/v1/responses/resp_made_elsewhere/cancel").build());
        assertThat(hosts()).as("found once, remembered").containsExactly("POST gpu-c/v1/responses/resp_made_elsewhere/cancel");
    }

    @Test
    void whenNoServerHoldsItTheLast404GoesBackAsVllmWroteIt() throws Exception {
        server(A);
        server(B);
        server(C);
        router(new TestSupport.FirstStrategy(), RouterConfig.builder());
        Answer got = route(RouterRequest.get("/v1/responses/resp_nowhere").build());
        assertThat(got.status()).isEqualTo(404);
        assertThat(got.attempts()).isEqualTo(3);
        assertThat(got.body()).isEqualTo(fixture("response-not-found.json")
                .replace("resp_0f3c6f2b8a9e4d1c9b7a5e3f2d1c0b9a", "resp_nowhere"));
        assertThat(router.stats().servers()).allSatisfy(s -> assertThat(s.requests().failed()).isZero());
    }

    @Test
    void previousResponseIdGoesToTheServerThatHoldsItAndTheNewIdIsLearned() throws Exception {
        server(A);
        server(B, "resp_first");
        server(C);
        router(new Last(), RouterConfig.builder());
        route(RouterRequest.get("/v1/responses/resp_first").build());    // C 404, then B: now known
        transport.sent.clear();

        Answer next = route(create("{\"model\":\"m\",\"previous_response_id\":\"resp_first\",\"input\":\"more\"}"));
        assertThat(next.backend()).isEqualTo(B);
        assertThat(next.attempts()).isEqualTo(1);
        String newId = "resp_gpu-b_1";
        assertThat(next.body()).contains(newId);
        transport.sent.clear();
        assertThat(route(RouterRequest.get("/v1/responses/" + newId).build()).backend()).isEqualTo(B);
        assertThat(hosts()).hasSize(1);
    }

    @Test
    void storeFalseIsNotRememberedAndOtherRequestsRouteAsUsual() throws Exception {
        server(A);
        server(B);
        server(C);
        router(new Last(), RouterConfig.builder());
        Answer created = route(create("{\"model\":\"m\",\"store\":false,\"input\":\"hi\"}"));
        assertThat(created.backend()).isEqualTo(C);
        Answer got = route(RouterRequest.get("/v1/responses/resp_gpu-c_0").build());
        assertThat(got.status()).as("vLLM did not store it").isEqualTo(404);
        assertThat(got.attempts()).as("not remembered: looked up everywhere").isEqualTo(3);
        assertThat(ResponsesRoute.of(RouterRequest.get("/v1/responses").build(), null)).isNull();
        assertThat(ResponsesRoute.of(RouterRequest.get("/v1/responsesx/y").build(), null)).isNull();
        assertThat(ResponsesRoute.of(RouterRequest.get("/v1/responses/r1/other").build(), null)).isNull();
        assertThat(ResponsesRoute.of(RouterRequest.post("/v1/chat/completions", new byte[0]).build(), null)).isNull();
    }

    @Test
    void aHolderThatIsNotAdmittedIsLookedForElsewhere() throws Exception {
        server(A, "resp_x");
        server(B);
        server(C);
        router(new TestSupport.FirstStrategy(), RouterConfig.builder());
        route(RouterRequest.get("/v1/responses/resp_x").build());
        router.reconfigure(router.config().toBuilder().servers(List.of(new ServerConfig(B, 4), new ServerConfig(C, 4))).build());
        transport.sent.clear();
        Answer got = route(RouterRequest.get("/v1/responses/resp_x").build());
        assertThat(got.status()).isEqualTo(404);
        assertThat(hosts()).containsExactly("GET gpu-b/v1/responses/resp_x", "GET gpu-c/v1/responses/resp_x");
    }

    @Test
    void theMemoryIsBoundedInCountAndTime() {
        RouterConfig[] config = {RouterConfig.builder().responsesAffinityMax(2).responsesAffinityTtl(Duration.ofSeconds(60)).build()};
        ResponsesAffinity m = new ResponsesAffinity(clock, () -> config[0]);
        m.learned("r1", A);
        m.learned("r2", B);
        m.learned("r3", C);
        assertThat(m.serverOf("r1")).as("the oldest goes first").isNull();
        assertThat(m.serverOf("r2")).isEqualTo(B);
        assertThat(m.serverOf("r3")).isEqualTo(C);
        assertThat(m.size()).isEqualTo(2);
        clock.advance(Duration.ofSeconds(59));
        m.learned("r2", A);                                  // learned again: counts from now
        clock.advance(Duration.ofSeconds(2));
        assertThat(m.serverOf("r3")).as("past its ttl").isNull();
        assertThat(m.serverOf("r2")).isEqualTo(A);
        config[0] = config[0].toBuilder().responsesAffinityMax(0).build();
        m.learned("r4", A);
        assertThat(m.serverOf("r4")).as("0 remembers none").isNull();
    }
}
