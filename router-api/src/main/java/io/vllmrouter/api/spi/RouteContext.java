package io.vllmrouter.api.spi;

import java.util.random.RandomGenerator;

/** What a strategy may know of the request being routed. */
public interface RouteContext {

    /** The request's {@code model}, or null when it named none. */
    String model();

    /** Whether the client asked for a stream. */
    boolean stream();

    /** An affinity key ({@code user} field or {@code X-Session-Id} header), or null. */
    String affinityKey();

    /** 1 for the first try, 2 for the first retry, ... */
    int attempt();

    /** The router's random source for tie-breaking (seeded in tests). */
    RandomGenerator random();

    /** A plain context, for tests and for hosts that call a strategy directly. */
    static RouteContext of(String model, boolean stream, String affinityKey, int attempt, RandomGenerator random) {
        return new Simple(model, stream, affinityKey, attempt, random);
    }

    /** The value behind {@link #of}. */
    record Simple(String model, boolean stream, String affinityKey, int attempt, RandomGenerator random)
            implements RouteContext {
    }
}
