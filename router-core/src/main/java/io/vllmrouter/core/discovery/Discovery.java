package io.vllmrouter.core.discovery;

import io.vllmrouter.core.config.ServerConfig;

import java.util.List;
import java.util.function.Consumer;

/**
 * A source of backends that come and go: the pods behind a Kubernetes Service, the addresses of a DNS
 * name. {@link FleetDiscovery} applies what it finds to a running router.
 */
public interface Discovery extends AutoCloseable {

    /**
     * Starts discovering; {@code onChange} receives the whole current list (sorted by URL) each time it
     * changes, never concurrently with itself. Nothing is reported before the first successful look.
     */
    void start(Consumer<List<ServerConfig>> onChange);

    /** Stops discovering; idempotent. */
    @Override
    void close();
}
