package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.RouterListener;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.testing.FakeClock;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A real backend process goes away and comes back: real HTTP health checks (the production
 * BackendClient) eject it after consecutive failures and re-admit it after consecutive successes.
 * The fake clock decides when checks run; each check's answer is awaited as an event.
 */
class KilledBackendTest {

    private static final byte[] CHAT = "{\"model\":\"m\",\"messages\":[]}".getBytes(StandardCharsets.UTF_8);

    private final FakeClock clock = new FakeClock();
    private HttpServer a;
    private HttpServer b;
    private DefaultVllmRouter router;
    private String urlA;
    private String urlB;
    /** Health check results per backend, in the order the fleet applied them. */
    private final Map<String, BlockingQueue<String>> checks = new ConcurrentHashMap<>();

    @AfterEach
    void stop() {
        if (router != null) {
            router.close();
        }
        if (a != null) {
            a.stop(0);
        }
        if (b != null) {
            b.stop(0);
        }
    }

    private static HttpServer backend(int port, String name) throws IOException {
        HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 16);
        s.createContext("/", ex -> {
            ex.getRequestBody().readAllBytes();
            byte[] body = ex.getRequestURI().getPath().equals("/health") ? new byte[0]
                    : ("{\"served_by\":\"" + name + "\"}").getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, body.length == 0 ? -1 : body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        s.start();
        return s;
    }

    private BackendStats server(int i) {
        return router.stats().servers().get(i);
    }

    private BlockingQueue<String> checksOf(String url) {
        return checks.computeIfAbsent(url, k -> new LinkedBlockingQueue<>());
    }

    /**
     * The next health check results of both backends, as the fleet applied them, A's returned: the
     * listener hears a result after the verdict is in the published state, so stats read right
     * after it see the check. B's result is awaited too (and must pass), so that no check of this
     * round is still in flight when the test moves the fake clock on: a result arriving after the
     * clock moved would measure the whole step as its response time.
     */
    private String nextRound(String what) throws InterruptedException {
        String ofA = checksOf(urlA).poll(20, TimeUnit.SECONDS);
        assertThat(ofA).as("waiting for " + what + ": " + server(0)).isNotNull();
        assertThat(checksOf(urlB).poll(20, TimeUnit.SECONDS)).as("B's check in the same round").isEqualTo("passed");
        return ofA;
    }

    private String routeOnce() throws IOException {
        try (RouterResponse r = router.route(RouterRequest.post("/v1/chat/completions", CHAT).build())) {
            r.body().readAllBytes();
            return r.backendId();
        }
    }

    @Test
    void aKilledBackendIsEjectedAndReadmittedAfterItReturns() throws Exception {
        a = backend(0, "a");
        b = backend(0, "b");
        int portA = a.getAddress().getPort();
        urlA = "http://127.0.0.1:" + portA;
        urlB = "http://127.0.0.1:" + b.getAddress().getPort();
        router = VllmRouters.builder().config(RouterConfig.builder()
                        .server(new ServerConfig(urlA, 4))
                        .server(new ServerConfig(urlB, 4))
                        .healthCheckInterval(Duration.ofSeconds(10))
                        .healthCheckTimeout(Duration.ofSeconds(2))
                        .healthCheckFailureThreshold(3)
                        .healthCheckSuccessThreshold(2)
                        .maxRetries(0)
                        .strategy("round-robin")
                        .build())
                .ticker(clock).scheduler(clock)
                .listener(new RouterListener() {
                    @Override
                    public void onHealthCheck(String backend, boolean passed, String reason) {
                        checksOf(backend).add(passed ? "passed" : "failed: " + reason);
                    }
                })
                .buildRouter();

        clock.runDueTasks();
        assertThat(nextRound("first check")).isEqualTo("passed");
        assertThat(server(0).health().lastCheckEpochMillis()).isPositive();
        assertThat(server(0).status()).isTrue();

        a.stop(0); // the process dies
        for (int failures = 1; failures <= 3; failures++) {
            clock.advance(Duration.ofSeconds(10));
            assertThat(nextRound(failures + " failed check(s)")).startsWith("failed");
            assertThat(server(0).health().consecutiveFailures()).isEqualTo(failures);
        }
        assertThat(server(0).status()).as("ejected after 3 failed checks").isFalse();
        assertThat(server(0).health().reason()).isNotBlank();
        for (int i = 0; i < 4; i++) {
            assertThat(routeOnce()).as("the survivor carries the load").isNotEqualTo(urlA);
        }

        a = backend(portA, "a"); // it comes back on the same address
        clock.advance(Duration.ofSeconds(10));
        assertThat(nextRound("one good check")).isEqualTo("passed");
        assertThat(server(0).health().consecutiveFailures()).isZero();
        assertThat(server(0).status()).as("not yet: one success of two").isFalse();
        clock.advance(Duration.ofSeconds(10));
        assertThat(nextRound("re-admission")).isEqualTo("passed");
        assertThat(server(0).status()).as("re-admitted after two good checks").isTrue();

        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 4; i++) {
            seen.add(routeOnce());
        }
        assertThat(seen).as("traffic reaches the returned backend again").contains(urlA).hasSize(2);
    }
}
