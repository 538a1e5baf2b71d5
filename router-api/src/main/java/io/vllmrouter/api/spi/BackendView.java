package io.vllmrouter.api.spi;

import java.net.URI;
import java.util.List;

/**
 * What a {@link BalancingStrategy} may know of one candidate backend. Values are read live (each
 * call may see a newer figure) and cheaply: no I/O, no locks, no allocation.
 *
 * <p>The load estimate is the last scrape's figures plus the requests this router has sent since
 * minus those it finished; when the scrape is stale the router's own in-flight count stands in for
 * {@link #running()} and {@link #waiting()} is 0.
 */
public interface BackendView {

    /** Stable id: the URL as configured. */
    String id();

    /** Base URL. */
    URI url();

    /** {@code max_concurrent_requests}, at least 1. */
    int capacity();

    /** Requests this router has on the backend now (exact). */
    int inFlight();

    /** Estimated requests running on the backend (all clients, not only this router). */
    double running();

    /** Estimated requests waiting in the backend's queue. */
    double waiting();

    /** Estimated outstanding requests: {@code running() + waiting()}. */
    default double outstanding() {
        return running() + waiting();
    }

    /** KV-cache usage 0..1, or NaN when unknown or stale. */
    double kvCacheUsage();

    /** Whether the scraped figures are recent enough to trust. */
    boolean metricsFresh();

    /** Models served; empty when not known (the backend is then a candidate for every model). */
    List<String> models();

    /** Position of the backend in the configuration, for strategies that keep per-backend arrays. */
    int index();

    /**
     * KV-cache blocks the backend holds, from {@code vllm:cache_config_info}'s {@code num_gpu_blocks}
     * in the last good scrape (the server's total: vLLM adds up its data-parallel engines' blocks and
     * writes the sum under each engine); -1 when the backend does not say. Kept while the scrape is
     * stale: it describes the hardware, not the load.
     */
    default long cacheBlocks() {
        return -1;
    }

    /** Tokens per KV-cache block ({@code block_size} of {@code vllm:cache_config_info}); -1 when unknown. */
    default int cacheBlockSize() {
        return -1;
    }

    /**
     * The backend's KV-cache capacity in tokens: the server's {@code cache_tokens} setting when it
     * has one ({@link #cacheTokensConfigured()}), else what it publishes (vLLM's
     * {@code kv_cache_size_tokens} times its engines where it prints that, else
     * {@code cacheBlocks() * cacheBlockSize()}); -1 when unknown.
     */
    default long cacheTokens() {
        long blocks = cacheBlocks();
        int size = cacheBlockSize();
        return blocks > 0 && size > 0 ? blocks * size : -1;
    }

    /** Whether {@link #cacheTokens()} is the operator's per-server setting rather than what the backend publishes. */
    default boolean cacheTokensConfigured() {
        return false;
    }

    /**
     * A number that changes whenever what the backend had cached may have been lost: it was ejected
     * (health checks), its cache counters went back (a restart), or it left the configuration and
     * came back. Strategies that remember what a backend cached forget it when this changes. Only
     * equality is meaningful.
     */
    default long cacheEpoch() {
        return 0;
    }

    /**
     * How fast the backend has been lately (time per output token, time to first token, prefill
     * rate, typical answer length), as the router's fleet owner estimates it from vLLM's histograms
     * and from the streams it relays; see {@link BackendSpeed}. Never null: a backend nothing is
     * known of has the fleet's figures, or {@link BackendSpeed#DEFAULT}. Read live (one volatile
     * read); changes at each scrape round.
     */
    default BackendSpeed speed() {
        return BackendSpeed.DEFAULT;
    }
}
