package io.vllmrouter.core;

import io.vllmrouter.api.spi.KvCacheIndex;
import io.vllmrouter.api.spi.PromptTokens;
import io.vllmrouter.api.spi.RouteContext;
import java.util.random.RandomGenerator;

/**
 * The router's {@link RouteContext}: the request's fields, its prompt hashes on demand, its tokens
 * when the strategy asked for them, and the router's KV-event index (null when none).
 */
record RequestContext(RequestInfo info, int attempt, RandomGenerator random, KvCacheIndex kvCacheIndex)
        implements RouteContext {

    RequestContext(RequestInfo info, int attempt, RandomGenerator random) {
        this(info, attempt, random, null);
    }

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
    public PromptTokens promptTokens() {
        return info.tokens().tokens();
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
