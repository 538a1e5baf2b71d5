package io.vllmrouter.core;

import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.BalancingStrategyProvider;
import java.util.Iterator;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.TreeMap;

/** The one place the router turns a strategy name into an instance. */
final class Strategies {

    private static final System.Logger LOG = System.getLogger(Strategies.class.getName());

    private Strategies() {
    }

    /**
     * A new instance of the strategy named {@code name}.
     *
     * @throws IllegalArgumentException naming the strategies found
     */
    static BalancingStrategy create(String name) {
        Map<String, BalancingStrategyProvider> byName = new TreeMap<>();
        Iterator<BalancingStrategyProvider> it = ServiceLoader.load(BalancingStrategyProvider.class).iterator();
        while (true) {
            BalancingStrategyProvider p;
            try {
                if (!it.hasNext()) {
                    break;
                }
                p = it.next();
            } catch (ServiceConfigurationError e) {
                LOG.log(System.Logger.Level.WARNING, "skipping a strategy provider that failed to load", e);
                continue;
            }
            BalancingStrategyProvider old = byName.get(p.name());
            if (old == null || p.priority() > old.priority()) {
                byName.put(p.name(), p);
            }
        }
        BalancingStrategyProvider p = byName.get(name);
        if (p == null) {
            throw new IllegalArgumentException("strategy: \"" + name + "\" (expected one of: " + byName.keySet() + ")");
        }
        return p.create();
    }
}
