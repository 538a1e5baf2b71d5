package io.vllmrouter.api;

import java.time.Duration;
import java.util.List;

/**
 * A read-only view of the configuration a router runs with ({@link VllmRouter#config()}): what a
 * host shows or needs to serve requests. The engine's full configuration type implements it.
 */
public interface RouterSettings {

    /** The backends, in configuration order. */
    List<? extends BackendSettings> servers();

    /** The balancing strategy's name, e.g. {@code weighted-score}. */
    String strategy();

    /** Bound on a whole forwarded request, stream included, unless the request sets its own. */
    Duration requestTimeout();

    /** Further backends tried after a failure before any byte reached the caller. */
    int maxRetries();

    /** Time between active health checks; also the {@code Retry-After} hint of a 503. */
    Duration healthCheckInterval();

    /** Time between checks of the configuration file for changes. */
    Duration configReloadInterval();

}
