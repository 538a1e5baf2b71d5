package io.vllmrouter.examples.server;

import io.vllmrouter.api.RouterListener;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.testing.RouterEvents;

import java.io.IOException;
import java.time.Duration;
import java.util.function.UnaryOperator;

/**
 * The data-plane tests' setup: one {@link RawBackend}, a router in front of it on two event loops,
 * and the proxy on a free port of 127.0.0.1, started once the router knows the backend's model.
 * Closing stops them all, the proxy first.
 */
final class RawProxy implements AutoCloseable {

    /** Builds the router under test (on the proxy's transport, or another one). */
    interface Routers {
        VllmRouter create(RouterConfig config, EventLoops loops, RouterListener listener);
    }

    final RawBackend backend;
    final EventLoops loops;
    final VllmRouter router;
    final ProxyServer proxy;

    private RawProxy(RawBackend backend, EventLoops loops, VllmRouter router, ProxyServer proxy) {
        this.backend = backend;
        this.loops = loops;
        this.router = router;
        this.proxy = proxy;
    }

    /** {@code capacity}: the backend's {@code max_concurrent_requests}; {@code options}: more proxy options. */
    static RawProxy start(int capacity, Routers routers, RouterEvents events,
                          UnaryOperator<ProxyOptions.Builder> options, Duration safety) throws IOException {
        RawBackend backend = new RawBackend();
        EventLoops loops = null;
        VllmRouter router = null;
        ProxyServer proxy = null;
        try {
            RouterConfig config = RouterConfig.builder()
                    .healthCheckInterval(Duration.ofMillis(200))
                    .metricsInterval(Duration.ofMillis(200))
                    .maxRetries(1)
                    .retryDelay(Duration.ZERO)
                    .requestTimeout(Duration.ofSeconds(30))
                    .server(new ServerConfig(backend.url(), capacity))
                    .build();
            loops = EventLoops.create(2);
            router = routers.create(config, loops, events);
            proxy = ProxyServer.start(router,
                    options.apply(ProxyOptions.builder().host("127.0.0.1").port(0).eventLoops(loops)).build());
            VllmRouter r = router;
            events.awaitUntil("the backend's model is known", () -> !r.models().isEmpty(), safety);
            return new RawProxy(backend, loops, router, proxy);
        } catch (IOException | RuntimeException | Error e) {
            if (proxy != null) {
                proxy.stop(Duration.ZERO);
            }
            if (router != null) {
                router.close();
            }
            if (loops != null) {
                loops.close();
            }
            backend.close();
            throw e;
        }
    }

    @Override
    public void close() throws IOException {
        proxy.stop(Duration.ZERO);
        router.close();
        loops.close();
        backend.close();
    }
}
