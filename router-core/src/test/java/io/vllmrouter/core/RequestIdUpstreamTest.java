package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.api.transport.UpstreamRequest;
import io.vllmrouter.api.transport.UpstreamResponse;
import io.vllmrouter.testing.FakeClock;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Every attempt of a request carries the request's id upstream as exactly one {@code X-Request-Id}. */
class RequestIdUpstreamTest {

    private static final String A = "http://gpu-a:8000";
    private static final String B = "http://gpu-b:8000";
    private static final byte[] CHAT = "{\"model\":\"m\"}".getBytes(StandardCharsets.UTF_8);

    private final FakeClock clock = new FakeClock();
    private final ScriptedTransport transport = new ScriptedTransport();
    private DefaultVllmRouter router;

    @AfterEach
    void stop() {
        router.close();
    }

    private void router() {
        router = VllmRouters.builder()
                .config(RouterConfig.builder().server(new ServerConfig(A, 4)).server(new ServerConfig(B, 4))
                        .enableActiveHealthCheck(false).retryDelay(java.time.Duration.ZERO).build())
                .ticker(clock).scheduler(clock).strategy(new TestSupport.FirstStrategy())
                .probe(new TestSupport.FakeProbe()).transport(transport).buildRouter();
    }

    private static CompletableFuture<UpstreamResponse> ok(UpstreamRequest r) {
        return CompletableFuture.completedFuture(UpstreamResponse.of(200, Map.of(), Chunks.of("{}")));
    }

    private String route(RouterRequest r) throws Exception {
        try (RouterResponse resp = router.route(r)) {
            resp.body().readAllBytes();
            return resp.requestId();
        }
    }

    private static List<String> idHeaders(UpstreamRequest r) {
        return r.headers().entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase("x-request-id"))
                .flatMap(e -> e.getValue().stream()).toList();
    }

    @Test
    void theHostsIdTheCallersHeaderOrAGeneratedOneGoesUpstream() throws Exception {
        transport.answer(A, RequestIdUpstreamTest::ok);
        router();

        assertThat(route(RouterRequest.post("/v1/chat/completions", CHAT).requestId("host-7")
                .header("x-request-id", "the-callers").build())).isEqualTo("host-7");
        assertThat(idHeaders(transport.sent.get(0))).containsExactly("host-7");

        assertThat(route(RouterRequest.post("/v1/chat/completions", CHAT).header("X-REQUEST-ID", "c-42").build()))
                .isEqualTo("c-42");
        assertThat(idHeaders(transport.sent.get(1))).containsExactly("c-42");

        String generated = route(RouterRequest.post("/v1/chat/completions", CHAT).build());
        assertThat(generated).startsWith("req-");
        assertThat(idHeaders(transport.sent.get(2))).containsExactly(generated);

        String unprintable = route(RouterRequest.post("/v1/chat/completions", CHAT)
                .header("X-Request-Id", "two\nlines").build());
        assertThat(unprintable).startsWith("req-");
        assertThat(idHeaders(transport.sent.get(3))).as("replaced, never sent twice").containsExactly(unprintable);
        String tooLong = route(RouterRequest.post("/v1/chat/completions", CHAT)
                .header("X-Request-Id", "x".repeat(RequestIdHeader.MAX_LENGTH + 1)).build());
        assertThat(idHeaders(transport.sent.get(4))).containsExactly(tooLong).doesNotContain("x".repeat(201));
    }

    @Test
    void aRetryOnAnotherServerCarriesTheSameId() throws Exception {
        AtomicInteger failures = new AtomicInteger();
        transport.answer(A, r -> {
            failures.incrementAndGet();
            return CompletableFuture.completedFuture(UpstreamResponse.of(503, Map.of(), Chunks.of("busy")));
        });
        transport.answer(B, RequestIdUpstreamTest::ok);
        router();

        String id = route(RouterRequest.post("/v1/chat/completions", CHAT).build());
        assertThat(failures).hasValue(1);
        assertThat(transport.sent).hasSize(2);
        assertThat(transport.sent).extracting(r -> r.uri().getHost()).containsExactly("gpu-a", "gpu-b");
        assertThat(transport.sent).allSatisfy(r -> assertThat(idHeaders(r)).containsExactly(id));
    }
}
