package io.vllmrouter.core;

import io.vllmrouter.api.spi.RouteContext;
import java.util.random.RandomGenerator;

/** The router's {@link RouteContext}: the request's fields, and its prompt hashes on demand. */
record RequestContext(RequestInfo info, int attempt, RandomGenerator random) implements RouteContext {

    @Override
    public String model() {
        return info.model();
    }

    @Override
    public boolean stream() {
        return info.stream();
    }

    @Override
    public String affinityKey() {
        return info.affinityKey();
    }

    @Override
    public io.vllmrouter.api.spi.RequestSize size() {
        return info.size();
    }

    @Override
    public long[] promptBlockHashes(int blockChars) {
        return info.prompt().hashes(blockChars);
    }
}
