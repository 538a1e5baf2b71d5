package io.vllmrouter.examples.kvevents;

import io.vllmrouter.api.spi.KvCacheIndex;
import io.vllmrouter.api.spi.KvCacheIndexProvider;

/** Makes {@link KvIndex} the router's KV-event index; found by {@link java.util.ServiceLoader}. */
public final class KvEventsIndexProvider implements KvCacheIndexProvider {

    /** Does nothing; the index starts on {@link #create}. */
    public KvEventsIndexProvider() {
    }

    @Override
    public KvCacheIndex create(long maxBytes) {
        return new KvIndex(maxBytes);
    }
}
