package io.vllmrouter.api.spi;

import java.util.Objects;

/**
 * One server's KV-cache event stream, as configured ({@code kv_events}, {@code kv_events_replay},
 * {@code kv_events_ranks} of a server entry). vLLM's publisher for data-parallel rank {@code r} binds
 * the configured port plus {@code r} ({@code ZmqEventPublisher.offset_endpoint_port}), for the replay
 * socket too.
 *
 * @param backendId      the backend's id ({@link BackendView#id()})
 * @param endpoint       the PUB socket of rank 0, {@code tcp://host:port}
 * @param replayEndpoint the ROUTER replay socket of rank 0, or null when the server has none
 * @param ranks          data-parallel ranks, each on the next port, {@code >= 1}
 */
public record KvEventSource(String backendId, String endpoint, String replayEndpoint, int ranks) {

    public KvEventSource {
        Objects.requireNonNull(backendId, "backendId");
        Objects.requireNonNull(endpoint, "endpoint");
        if (ranks < 1) {
            throw new IllegalArgumentException("kv_events_ranks: " + ranks + " (expected: integer >= 1)");
        }
    }
}
