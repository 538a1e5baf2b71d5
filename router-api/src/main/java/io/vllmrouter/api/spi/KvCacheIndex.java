package io.vllmrouter.api.spi;

import java.util.List;
import java.util.Map;

/**
 * What the servers really hold in their prefix caches, learned from the KV-cache events they publish
 * (vLLM's {@code --kv-events-config}): a strategy asks it instead of guessing from the requests it
 * sent. One index per router; every router replica that follows the same servers converges to the
 * same index without a shared store.
 *
 * <pre>{@code
 * KvCacheIndex index = context.kvCacheIndex();
 * PromptTokens prompt = context.promptTokens();
 * if (index != null && prompt != null && index.tracks(backend)) {
 *     CachedPrefix held = index.match(backend, prompt);
 * }
 * }</pre>
 *
 * <p>Threads: {@link #tracks} and {@link #match} are called on request threads, many at once: no
 * I/O, no lock, little allocation. {@link #follow} is called on the router's state path (start and
 * each configuration applied), never concurrently with itself; {@link #stats} now and then;
 * {@link #close} once.
 */
public interface KvCacheIndex extends AutoCloseable {

    /**
     * Whether the index follows {@code backend}'s events, so that {@link #match} tells what it holds;
     * when false the strategy falls back to its own guess for that backend.
     */
    boolean tracks(BackendView backend);

    /**
     * The leading part of {@code prompt} that {@code backend} holds: counted from the first block up
     * to the first block it does not hold, as vLLM's prefix lookup counts. {@link CachedPrefix#NONE}
     * when the backend is not tracked, its entries are not trusted (its stream had a gap, it was
     * ejected or restarted), or nothing matches.
     */
    CachedPrefix match(BackendView backend, PromptTokens prompt);

    /** The servers to follow from now on; those no longer listed are dropped with their entries. */
    void follow(List<KvEventSource> sources);

    /**
     * Figures by snake_case name (entries, bytes, the cap, events, gaps, replays, clears, ...), shown
     * with the strategy's in {@link io.vllmrouter.api.RouterStats#strategyStats()}.
     */
    Map<String, Long> stats();

    /** Stops following every server and frees the index. Idempotent. */
    @Override
    void close();
}
