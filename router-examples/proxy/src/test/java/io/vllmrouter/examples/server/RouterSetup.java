package io.vllmrouter.examples.server;

import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.core.VllmRouters;
import io.vllmrouter.core.config.RouterConfig;

/** Builds the router as the proxy runs it: its upstream calls on the proxy's event loops. */
final class RouterSetup {

    private RouterSetup() {
    }

    static VllmRouter router(RouterConfig config, EventLoops loops) {
        return VllmRouters.builder().config(config).transport(NettyTransport.create(loops)).build();
    }
}
