package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.api.spi.BackendView;
import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.RouteContext;
import io.vllmrouter.api.transport.UpstreamResponse;
import io.vllmrouter.testing.FakeClock;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A strategy that throws costs the routing choice, never the request: it goes to the least loaded candidate. */
class StrategyFailureTest {

    private static final String A = "http://a:8000";
    private static final String B = "http://b:8000";

    private final ScriptedTransport transport = new ScriptedTransport();
    private final AtomicInteger picks = new AtomicInteger();
    private DefaultVllmRouter router;

    @AfterEach
    void stop() {
        router.close();
    }

    @Test
    void aStrategyThatThrowsLeavesTheRequestToTheLeastLoaded() throws Exception {
        BalancingStrategy broken = new BalancingStrategy() {
            @Override
            public BackendView pick(List<? extends BackendView> candidates, RouteContext context) {
                picks.incrementAndGet();
                throw new IllegalStateException("a bug in a plug-in strategy");
            }
        };
        FakeClock clock = new FakeClock();
        RouterConfig config = RouterConfig.builder().enableActiveHealthCheck(false)
                .server(new ServerConfig(A, 4)).server(new ServerConfig(B, 4)).build();
        for (String s : List.of(A, B)) {
            transport.answer(s, r -> CompletableFuture.completedFuture(
                    UpstreamResponse.of(200, Map.of("content-type", List.of("application/json")), Chunks.of("{}"))));
        }
        router = VllmRouters.builder().config(config).ticker(clock).scheduler(clock).strategy(broken)
                .probe(new TestSupport.FakeProbe()).transport(transport).buildRouter();
        long before = Snapshot.STRATEGY_FAILURES.sum();
        for (int i = 0; i < 3; i++) {
            try (RouterResponse r = router.route(RouterRequest.post("/v1/chat/completions",
                    "{\"model\":\"m\",\"messages\":[]}".getBytes(java.nio.charset.StandardCharsets.UTF_8)).header("Content-Type", "application/json").build())) {
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.backendId()).isIn(A, B);
                r.body().readAllBytes();
            }
        }
        assertThat(picks.get()).as("the strategy was asked each time").isEqualTo(3);
        assertThat(Snapshot.STRATEGY_FAILURES.sum() - before).isEqualTo(3);
        assertThat(router.stats().strategyStats()).containsKey("strategy_failures");
    }
}
