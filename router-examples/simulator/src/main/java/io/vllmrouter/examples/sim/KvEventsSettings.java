package io.vllmrouter.examples.sim;

import io.vllmrouter.examples.kvevents.KvEventEncoder;

/**
 * How a simulator publishes KV-cache events, as vLLM's {@code --kv-events-config} says it:
 * {@code {"enable_kv_cache_events": true, "publisher": "zmq", "endpoint": "tcp://*:PORT",
 * "replay_endpoint": "tcp://*:REPLAY"}}, here bound on 127.0.0.1.
 *
 * <pre>{@code
 * SimConfig.builder().prefixCache(true).kvEvents(KvEventsSettings.on(5557, 5558)).build();
 * }</pre>
 *
 * @param port       the PUB port of rank 0 (the simulator binds {@code port + rank}); 0 = ephemeral;
 *                   -1 = no events
 * @param replayPort the replay ROUTER port of rank 0; 0 = ephemeral; -1 = none
 * @param shape      the wire shape: maps (current vLLM) or tagged arrays (its first releases)
 * @param hashBytes  block hashes as 32-byte strings ({@code VLLM_KV_EVENTS_USE_INT_BLOCK_HASHES=0})
 *                   rather than 64-bit integers (vLLM's default)
 * @param hashSeed   the hash seed ({@code PYTHONHASHSEED}), or null for a random one (vLLM's default)
 * @param rank       the data-parallel rank the simulator publishes as
 */
public record KvEventsSettings(int port, int replayPort, KvEventEncoder.Shape shape, boolean hashBytes, Long hashSeed,
                               int rank) {

    /** No events (the default). */
    public static final KvEventsSettings OFF = new KvEventsSettings(-1, -1, KvEventEncoder.Shape.MAP, false, null, 0);

    public KvEventsSettings {
        if (port < -1 || port > 65_535) {
            throw new IllegalArgumentException("kv_events_port: " + port + " (expected: 0..65535, 0 = ephemeral, -1 = off)");
        }
        if (replayPort < -1 || replayPort > 65_535) {
            throw new IllegalArgumentException("kv_events_replay_port: " + replayPort
                    + " (expected: 0..65535, 0 = ephemeral, -1 = none)");
        }
        if (rank < 0 || rank > 255) {
            throw new IllegalArgumentException("data_parallel_rank: " + rank + " (expected: 0..255)");
        }
        java.util.Objects.requireNonNull(shape, "shape");
    }

    /** Events in the map shape with integer hashes and a random seed, on these ports (0: ephemeral; replay -1: none). */
    public static KvEventsSettings on(int port, int replayPort) {
        return new KvEventsSettings(port, replayPort, KvEventEncoder.Shape.MAP, false, null, 0);
    }

    public boolean enabled() {
        return port >= 0;
    }

    public KvEventsSettings withShape(KvEventEncoder.Shape s) {
        return new KvEventsSettings(port, replayPort, s, hashBytes, hashSeed, rank);
    }

    public KvEventsSettings withHashBytes(boolean bytes) {
        return new KvEventsSettings(port, replayPort, shape, bytes, hashSeed, rank);
    }

    public KvEventsSettings withHashSeed(Long seed) {
        return new KvEventsSettings(port, replayPort, shape, hashBytes, seed, rank);
    }

    public KvEventsSettings withRank(int r) {
        return new KvEventsSettings(port, replayPort, shape, hashBytes, hashSeed, r);
    }
}
