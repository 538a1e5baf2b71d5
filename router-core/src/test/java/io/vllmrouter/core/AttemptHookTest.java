package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.vllmrouter.api.RouterListener;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.api.transport.TransportException;
import io.vllmrouter.api.transport.UpstreamResponse;
import io.vllmrouter.testing.FakeClock;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The listener's per-request and per-attempt hooks: one start, each attempt's start (with headers it adds) and end. */
class AttemptHookTest {

    private static final String A = "http://gpu-a:8000";
    private static final String B = "http://gpu-b:8000";

    private final FakeClock clock = new FakeClock();
    private final ScriptedTransport transport = new ScriptedTransport();
    private final List<String> heard = new CopyOnWriteArrayList<>();
    private DefaultVllmRouter router;

    @AfterEach
    void stop() {
        router.close();
    }

    @Test
    void eachAttemptIsHeardAndCarriesTheHeadersTheListenerAdds() throws IOException {
        RouterConfig c = RouterConfig.builder().enableActiveHealthCheck(false).retryDelay(Duration.ZERO).maxRetries(1)
                .server(new ServerConfig(URI.create(A), 4, List.of(), null))
                .server(new ServerConfig(URI.create(B), 4, List.of(), null)).build();
        router = VllmRouters.builder().config(c).ticker(clock).scheduler(clock)
                .strategy(new TestSupport.FirstStrategy()).probe(new TestSupport.FakeProbe()).transport(transport)
                .listener(new RouterListener() {
                    @Override
                    public void onRequestStart(String requestId, String model, RouterRequest request) {
                        heard.add("start " + requestId + " " + model + " " + request.headers().get("traceparent"));
                    }

                    @Override
                    public void onAttemptStart(String requestId, String backend, int attempt, BiConsumer<String, String> header) {
                        heard.add("attempt " + attempt + " " + backend);
                        header.accept("traceparent", "00-0af7651916cd43dd8448eb211c80319c-00000000000000a" + attempt + "-01");
                    }

                    @Override
                    public void onAttemptEnd(String requestId, String backend, int attempt, int status, String failure) {
                        heard.add("end " + attempt + " " + status + " " + failure);
                    }
                }).buildRouter();
        transport.answer(A, r -> CompletableFuture.failedFuture(
                new TransportException(TransportException.Kind.CONNECT, "connection refused", null)));
        transport.answer(B, r -> CompletableFuture.completedFuture(UpstreamResponse.of(200, Map.of(), Chunks.of("{}"))));

        RouterRequest request = RouterRequest.post("/v1/chat/completions",
                        "{\"model\":\"m\",\"messages\":[]}".getBytes(StandardCharsets.UTF_8))
                .header("Content-Type", "application/json").header("traceparent", "00-caller-01").requestId("r1").build();
        try (RouterResponse r = router.route(request)) {
            r.body().readAllBytes();
        }

        assertThat(heard).containsExactly(
                "start r1 m [00-caller-01]",
                "attempt 1 " + A,
                "end 1 -1 CONNECT: connection refused",
                "attempt 2 " + B,
                "end 2 200 null");
        // the caller's traceparent is replaced, never sent twice
        assertThat(transport.sent.get(1).headers().entrySet().stream()
                .filter(e -> e.getKey().equalsIgnoreCase("traceparent")).toList())
                .singleElement().satisfies(e -> assertThat(e.getValue())
                        .containsExactly("00-0af7651916cd43dd8448eb211c80319c-00000000000000a2-01"));
    }
}
