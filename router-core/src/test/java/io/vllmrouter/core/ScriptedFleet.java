package io.vllmrouter.core;

import io.vllmrouter.api.RouterListener;
import io.vllmrouter.core.config.RouterConfigBuilder;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.api.transport.UpstreamRequest;
import io.vllmrouter.api.transport.UpstreamResponse;
import io.vllmrouter.testing.FakeClock;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A router over scripted backends for the streaming tests: a {@link ScriptedTransport}, time on a
 * {@link FakeClock}, always the first candidate (so each test knows which backend a request hits),
 * no health checks, no retry pause, and the request records kept. Close it after each test.
 */
final class ScriptedFleet implements AutoCloseable {

    static final Map<String, List<String>> SSE = Map.of("content-type", List.of("text/event-stream; charset=utf-8"));

    final FakeClock clock = new FakeClock();
    final ScriptedTransport transport = new ScriptedTransport();
    final List<RouterListener.RequestRecord> records = new CopyOnWriteArrayList<>();
    /** Runs when the router retries a request (a stream failover included), on the thread that decided it. */
    volatile Runnable onRetry = () -> { };
    DefaultVllmRouter router;

    /** Starts the router over {@code urls} (capacity 4 each), its request timers on {@code timers}. */
    DefaultVllmRouter start(RouterConfigBuilder config, FakeClock timers, String... urls) {
        for (String u : urls) {
            config.server(new ServerConfig(URI.create(u), 4, List.of(), null));
        }
        router = VllmRouters.builder()
                .config(config.enableActiveHealthCheck(false).retryDelay(Duration.ZERO).build())
                .ticker(clock).scheduler(clock).requestScheduler(timers)
                .strategy(new TestSupport.FirstStrategy())
                .probe(new TestSupport.FakeProbe())
                .transport(transport)
                .listener(new RouterListener() {
                    @Override
                    public void onRequestComplete(RequestRecord record) {
                        records.add(record);
                    }

                    @Override
                    public void onRetry(String requestId, String backendId, String reason) {
                        onRetry.run();
                    }
                })
                .buildRouter();
        return router;
    }

    /** A 200 event stream with {@code body}. */
    static CompletableFuture<UpstreamResponse> sse(Chunks body) {
        return CompletableFuture.completedFuture(UpstreamResponse.of(200, SSE, body));
    }

    /** The requests sent to the backend at {@code base}, in order. */
    List<UpstreamRequest> sentTo(String base) {
        String host = URI.create(base).getHost();
        return transport.sent.stream().filter(r -> r.uri().getHost().equals(host)).toList();
    }

    @Override
    public void close() {
        if (router != null) {
            router.close();
        }
    }
}
