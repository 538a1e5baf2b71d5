package io.vllmrouter.examples.server;

import io.vllmrouter.api.RouterListener;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.core.VllmRouters;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.examples.server.upstream.NettyTransport;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * The router and its proxy as {@code vllm-router run} starts them, for full-stack tests: one event
 * loop group carrying the clients, the upstream calls and the requests' timers, the proxy on
 * 127.0.0.1 at a free port. {@link #close()} stops them in reverse order, at once.
 *
 * <pre>{@code
 * try (ProxyStack stack = ProxyStack.start(config)) {
 *     client.send(HttpRequest.newBuilder(stack.uri("/v1/models")).build(), ...);
 * }
 * }</pre>
 */
final class ProxyStack implements AutoCloseable {

    final EventLoops loops;
    final VllmRouter router;
    final ProxyServer proxy;

    private ProxyStack(EventLoops loops, VllmRouter router, ProxyServer proxy) {
        this.loops = loops;
        this.router = router;
        this.proxy = proxy;
    }

    /** The router's builder as the proxy runs it: its upstream calls and timers on {@code loops}. */
    static VllmRouters.Builder routerBuilder(RouterConfig config, EventLoops loops) {
        return VllmRouters.builder().config(config).transport(NettyTransport.create(loops)).requestScheduler(loops.timers());
    }

    /** A router as the proxy runs it, telling {@code listener}. */
    static VllmRouter router(RouterConfig config, EventLoops loops, RouterListener listener) {
        return routerBuilder(config, loops).listener(listener).build();
    }

    static ProxyStack start(RouterConfig config) throws IOException {
        return start(config, r -> { }, o -> { });
    }

    /**
     * Starts the stack on one event loop; {@code router} and {@code options} adjust the router's
     * builder (a listener, a strategy, another transport) and the proxy's options (TLS, limits).
     */
    static ProxyStack start(RouterConfig config, Consumer<VllmRouters.Builder> router, Consumer<ProxyOptions.Builder> options)
            throws IOException {
        EventLoops loops = EventLoops.create(1);
        VllmRouter r = null;
        try {
            VllmRouters.Builder b = routerBuilder(config, loops);
            router.accept(b);
            r = b.build();
            ProxyOptions.Builder o = ProxyOptions.builder().host("127.0.0.1").port(0).eventLoops(loops);
            options.accept(o);
            return new ProxyStack(loops, r, ProxyServer.start(r, o.build()));
        } catch (IOException | RuntimeException | Error e) {
            if (r != null) {
                r.close();
            }
            loops.close();
            throw e;
        }
    }

    int port() {
        return proxy.port();
    }

    /** {@code path} on the proxy, over cleartext HTTP. */
    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + proxy.port() + path);
    }

    @Override
    public void close() {
        proxy.stop(Duration.ZERO);
        router.close();
        loops.close();
    }
}
