package io.vllmrouter.examples.server;

import io.vllmrouter.examples.server.upstream.NettyTransport;
import io.vllmrouter.api.RouterListener;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.core.VllmRouters;
import io.vllmrouter.core.config.RouterConfig;

/** Builds the router as the proxy runs it: its upstream calls on the proxy's event loops. */
final class RouterSetup {

    private RouterSetup() {
    }

    static VllmRouter router(RouterConfig config, EventLoops loops, RouterListener listener) {
        return VllmRouters.builder().config(config).listener(listener)
                .transport(NettyTransport.create(loops)).requestScheduler(loops.timers()).build();
    }
}
