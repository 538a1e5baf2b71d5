package io.vllmrouter.core.config;

import java.net.URI;
import java.net.URISyntaxException;

/**
 * Where one server publishes its KV-cache events: {@code kv_events = "tcp://gpu-1:5557"}, with an
 * optional {@code kv_events_replay = "tcp://gpu-1:5558"} and {@code kv_events_ranks = 2} in the
 * server's entry. Matches vLLM's {@code --kv-events-config '{"enable_kv_cache_events": true,
 * "publisher": "zmq", "endpoint": "tcp://*:5557", "replay_endpoint": "tcp://*:5558"}'}: the server
 * binds, the router connects; data-parallel rank {@code r} binds each port plus {@code r}.
 *
 * @param endpoint the PUB socket, {@code tcp://host:port}
 * @param replay   the ROUTER replay socket, {@code tcp://host:port}, or null
 * @param ranks    data-parallel ranks (engines) of the server, each on the next ports, {@code >= 1}
 */
public record KvEventsConfig(String endpoint, String replay, int ranks) {

    /** What an endpoint must look like. */
    static final String ENDPOINT_EXPECTED = "tcp://host:port, where the server's --kv-events-config binds";

    /** Most data-parallel ranks per server (ports in a row). */
    public static final int MAX_RANKS = 256;

    public KvEventsConfig {
        endpoint = check("kv_events", endpoint);
        if (replay != null) {
            replay = check("kv_events_replay", replay);
        }
        if (ranks < 1 || ranks > MAX_RANKS) {
            throw new IllegalArgumentException("kv_events_ranks: " + ranks + " (expected: integer 1.." + MAX_RANKS + ")");
        }
        int last = port(endpoint) + ranks - 1;
        if (last > 65_535 || (replay != null && port(replay) + ranks - 1 > 65_535)) {
            throw new IllegalArgumentException("kv_events_ranks: " + ranks
                    + " (expected: ranks whose ports, one per rank after the configured one, stay <= 65535)");
        }
    }

    private static String check(String key, String value) {
        if (value == null) {
            throw new IllegalArgumentException(key + ": null (expected: " + ENDPOINT_EXPECTED + ")");
        }
        String s = value.strip();
        try {
            URI u = new URI(s);
            if (!"tcp".equals(u.getScheme()) || u.getHost() == null || u.getPort() < 1 || u.getPort() > 65_535
                    || (u.getRawPath() != null && !u.getRawPath().isEmpty()) || u.getRawQuery() != null) {
                throw new IllegalArgumentException(key + ": " + value + " (expected: " + ENDPOINT_EXPECTED + ")");
            }
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(key + ": " + value + " (expected: " + ENDPOINT_EXPECTED + ")");
        }
        return s;
    }

    private static int port(String endpoint) {
        return URI.create(endpoint).getPort();
    }
}
