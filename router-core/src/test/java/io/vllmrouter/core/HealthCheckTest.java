package io.vllmrouter.core;

import io.vllmrouter.api.RouterListener;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vllmrouter.api.NoHealthyBackendException;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.RouterConfigBuilder;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.testing.FakeClock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Active health checks driven by a fake clock and a scripted probe. */
class HealthCheckTest {

    private static final String A = "http://gpu-a:8000";
    private static final String B = "http://gpu-b:8000";

    private final FakeClock clock = new FakeClock();
    private final TestSupport.FakeProbe probe = new TestSupport.FakeProbe();
    private final List<String> changes = new CopyOnWriteArrayList<>();
    private DefaultVllmRouter router;

    private DefaultVllmRouter router(String... urls) {
        RouterConfigBuilder c = RouterConfig.builder()
                .healthCheckInterval(Duration.ofSeconds(10))
                .healthCheckFailureThreshold(3)
                .healthCheckSuccessThreshold(2)
                .healthCheckMaxResponseTime(Duration.ofSeconds(2))
                .healthCheckTimeout(Duration.ofSeconds(5));
        for (String u : urls) {
            c.server(new ServerConfig(u, 4));
        }
        router = VllmRouters.builder().config(c.build()).ticker(clock).scheduler(clock)
                .strategy(new TestSupport.FirstStrategy()).probe(probe)
                .listener(new RouterListener() {
                    @Override
                    public void onHealthChange(String backend, boolean healthy, String reason) {
                        changes.add(backend + (healthy ? " up" : " down: " + reason));
                    }
                })
                .buildRouter();
        return router;
    }

    @AfterEach
    void stop() {
        router.close();
    }

    private boolean admitted(int i) {
        return router.stats().servers().get(i).status();
    }

    @Test
    void ejectsAfterFailedChecksAndReadmitsWhenTheBackendReturns() {
        router(A, B);
        clock.runDueTasks(); // first check at start: both pass and become eligible
        assertThat(admitted(0)).isTrue();
        assertThat(changes).containsExactly(A + " up", B + " up");
        changes.clear();
        probe.healthStatus(A, 503);
        clock.advance(Duration.ofSeconds(20)); // checks 2 and 3 fail
        assertThat(admitted(0)).isTrue();
        clock.advance(Duration.ofSeconds(10)); // check 4: the third failure in a row
        assertThat(admitted(0)).isFalse();
        assertThat(admitted(1)).isTrue();
        assertThat(router.stats().servers().get(0).health().reason()).contains("status 503");
        assertThat(router.stats().summary().healthyServers()).isEqualTo(1);
        assertThat(changes).containsExactly(A + " down: 3 consecutive failed health checks (last: status 503)");

        probe.healthStatus(A, 200);
        clock.advance(Duration.ofSeconds(10));
        assertThat(admitted(0)).isFalse();
        clock.advance(Duration.ofSeconds(10));
        assertThat(admitted(0)).isTrue();
        assertThat(changes).last().isEqualTo(A + " up");
    }

    @Test
    void aServerIsNotEligibleUntilItsFirstCheckPasses() {
        router(A, B);
        probe.healthFails(A);
        assertThat(admitted(0)).as("before any check").isFalse();
        assertThat(admitted(1)).isFalse();
        assertThat(router.stats().servers().get(0).health().reason()).contains("not checked yet");
        clock.runDueTasks();
        assertThat(admitted(0)).isFalse();
        assertThat(admitted(1)).isTrue();
        assertThat(router.stats().servers().get(0).health().reason()).startsWith("health check failed: ");
        assertThat(changes).containsExactly(B + " up");
        probe.healthStatus(A, 200);
        clock.advance(Duration.ofSeconds(10));
        assertThat(admitted(0)).as("one pass admits a new server").isTrue();
        assertThat(changes).containsExactly(B + " up", A + " up");
    }

    @Test
    void allDownGives503AndTheRouterRecoversByItself() {
        router(A);
        probe.healthFails(A);
        clock.advance(Duration.ofSeconds(20));
        assertThatThrownBy(() -> router.route(RouterRequest.get("/v1/models").build()))
                .isInstanceOfSatisfying(NoHealthyBackendException.class, e -> {
                    assertThat(e.retryAfterSeconds()).isEqualTo(10);
                    assertThat(e.getMessage()).contains("No eligible server").contains("total=1, healthy=0, breaker open=0");
                });
        probe.healthStatus(A, 200);
        clock.advance(Duration.ofSeconds(20));
        clock.advance(Duration.ofSeconds(30));
        assertThat(admitted(0)).as("the failures before the first pass do not eject it").isTrue();
        assertThat(admitted(0)).isTrue();
    }

    @Test
    void aSlowCheckCountsAsFailed() {
        router(A);
        List<CompletableFuture<Integer>> pending = new CopyOnWriteArrayList<>();
        probe.health.put(A, u -> {
            CompletableFuture<Integer> f = new CompletableFuture<>();
            pending.add(f);
            return f;
        });
        for (int i = 0; i < 3; i++) {
            clock.runDueTasks();
            clock.advance(Duration.ofSeconds(3)); // longer than health_check_max_response_time
            pending.get(i).complete(200);
            clock.advance(Duration.ofSeconds(7));
        }
        assertThat(admitted(0)).isFalse();
        assertThat(router.stats().servers().get(0).health().reason()).contains("slow");
    }

    @Test
    void aBackendStillBeingCheckedIsSkipped() {
        router(A);
        List<CompletableFuture<Integer>> pending = new CopyOnWriteArrayList<>();
        probe.health.put(A, u -> {
            CompletableFuture<Integer> f = new CompletableFuture<>();
            pending.add(f);
            return f;
        });
        clock.advance(Duration.ofSeconds(35));
        assertThat(pending).hasSize(1);
        pending.get(0).complete(200);
        clock.advance(Duration.ofSeconds(10));
        assertThat(pending).hasSize(2);
    }

    @Test
    void checksOffLeavesEveryBackendAdmitted() {
        router = VllmRouters.builder()
                .config(RouterConfig.builder().server(new ServerConfig(A, 4)).enableActiveHealthCheck(false).build())
                .ticker(clock).scheduler(clock).strategy(new TestSupport.FirstStrategy()).probe(probe).buildRouter();
        probe.healthFails(A);
        clock.advance(Duration.ofMinutes(5));
        assertThat(admitted(0)).isTrue();
        assertThat(probe.calls).noneMatch(c -> c.startsWith("health"));
    }
}
