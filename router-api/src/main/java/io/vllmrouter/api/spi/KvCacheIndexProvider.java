package io.vllmrouter.api.spi;

/**
 * Makes a {@link KvCacheIndex} implementation available to the router, found with
 * {@link java.util.ServiceLoader} (register in
 * {@code META-INF/services/io.vllmrouter.api.spi.KvCacheIndexProvider}) when a strategy asks for a
 * KV-event index ({@link PickInputs#kvEvents()}). A provider has a cheap public no-argument
 * constructor that never throws.
 */
public interface KvCacheIndexProvider {

    /**
     * A new, empty index following no server yet.
     *
     * @param maxBytes memory the index may use at most; past it new blocks are not recorded
     */
    KvCacheIndex create(long maxBytes);
}
