package io.vllmrouter.api;

import java.net.URI;
import java.util.List;

/** One configured backend, as {@link RouterSettings#servers()} shows it. The API key is not shown. */
public interface BackendSettings {

    /** Base URL, http or https, without a trailing slash. */
    URI url();

    /** The id used in stats, logs and listener events: the URL as a string. */
    String id();

    /** {@code max_concurrent_requests}: the capacity strategies divide load by, at least 1. */
    int maxConcurrentRequests();

    /** Models configured for the backend; empty means they are learned from its {@code /v1/models}. */
    List<String> models();

    /** A short name people see (dashboards), or null when the configuration gives none. */
    String name();
}
