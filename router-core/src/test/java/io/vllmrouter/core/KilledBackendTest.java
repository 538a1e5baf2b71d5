package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.core.time.FakeClock;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
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

    private void await(String what, Predicate<BackendStats> condition, int i) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.test(server(i))) {
            assertThat(System.nanoTime()).as("waiting for " + what + ": " + server(i)).isLessThan(deadline);
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
        }
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
        String urlA = "http://127.0.0.1:" + portA;
        router = VllmRouters.builder().config(RouterConfig.builder()
                        .server(new ServerConfig(urlA, 4))
                        .server(new ServerConfig("http://127.0.0.1:" + b.getAddress().getPort(), 4))
                        .healthCheckInterval(Duration.ofSeconds(10))
                        .healthCheckTimeout(Duration.ofSeconds(2))
                        .healthCheckFailureThreshold(3)
                        .healthCheckSuccessThreshold(2)
                        .maxRetries(0)
                        .strategy("round-robin")
                        .build())
                .ticker(clock).scheduler(clock).build();

        clock.runDueTasks();
        await("first check", s -> s.health().lastCheckEpochMillis() > 0, 0);
        assertThat(server(0).status()).isTrue();

        a.stop(0); // the process dies
        for (int failures = 1; failures <= 3; failures++) {
            clock.advance(Duration.ofSeconds(10));
            int expected = failures;
            await(failures + " failed check(s)", s -> s.health().consecutiveFailures() == expected, 0);
        }
        assertThat(server(0).status()).as("ejected after 3 failed checks").isFalse();
        assertThat(server(0).health().reason()).isNotBlank();
        for (int i = 0; i < 4; i++) {
            assertThat(routeOnce()).as("the survivor carries the load").isNotEqualTo(urlA);
        }

        a = backend(portA, "a"); // it comes back on the same address
        clock.advance(Duration.ofSeconds(10));
        await("one good check", s -> s.health().consecutiveFailures() == 0, 0);
        assertThat(server(0).status()).as("not yet: one success of two").isFalse();
        clock.advance(Duration.ofSeconds(10));
        await("re-admission", BackendStats::status, 0);

        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 4; i++) {
            seen.add(routeOnce());
        }
        assertThat(seen).as("traffic reaches the returned backend again").contains(urlA).hasSize(2);
    }
}
