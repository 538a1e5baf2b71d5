package io.vllmrouter.examples.server;

import io.vllmrouter.api.RouterListener;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.core.VllmRouters;
import io.vllmrouter.core.config.RouterConfig;

/**
 * {@link DataPlaneTest} with the router forwarding over the JDK's HTTP client, as embedders have
 * it: the semantics are the router's, whatever moves the bytes.
 */
class DataPlaneOnJdkTransportTest extends DataPlaneTest {

    @Override
    VllmRouter router(RouterConfig config, EventLoops loops, RouterListener listener) {
        return VllmRouters.builder().config(config).listener(listener).build();
    }
}
