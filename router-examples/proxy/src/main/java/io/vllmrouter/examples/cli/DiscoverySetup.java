package io.vllmrouter.examples.cli;

import io.vllmrouter.core.DefaultVllmRouter;
import io.vllmrouter.core.discovery.DiscoveryConfig;
import io.vllmrouter.core.discovery.FleetDiscovery;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.Map;

/** Starts {@code [discovery]} for {@code run}: backends from Kubernetes or DNS next to the file's. */
final class DiscoverySetup {

    private static final Logger LOG = LoggerFactory.getLogger(DiscoverySetup.class);

    private DiscoverySetup() {
    }

    /** Starts discovery and the file watch; closes the router and explains when discovery cannot start. */
    static FleetDiscovery start(DefaultVllmRouter router, DiscoveryConfig discovery, Path configFile, Map<String, String> env) {
        FleetDiscovery fleet;
        try {
            fleet = FleetDiscovery.start(router, discovery, env);
        } catch (RuntimeException e) {
            router.close();
            throw new Main.CliException(e.getMessage(), 1);
        }
        fleet.watchFile(configFile, env);
        LOG.info("discovery: {} {}", discovery.kind().name().toLowerCase(java.util.Locale.ROOT),
                discovery.kind() == DiscoveryConfig.Kind.DNS ? discovery.host() + ":" + discovery.portNumber()
                        : discovery.selector());
        return fleet;
    }
}
