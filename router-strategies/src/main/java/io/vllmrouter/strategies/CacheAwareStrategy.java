package io.vllmrouter.strategies;

import io.vllmrouter.api.spi.BackendView;
import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.ExpectedTime;
import io.vllmrouter.api.spi.KvCacheIndex;
import io.vllmrouter.api.spi.PickInputs;
import io.vllmrouter.api.spi.PromptBlocks;
import io.vllmrouter.api.spi.PromptTokens;
import io.vllmrouter.api.spi.RouteContext;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Sends each prompt where its prefix is most likely cached, without overloading anyone.
 *
 * <p>Per request the prompt's leading text is cut into blocks of {@code block_chars} characters,
 * each hashed with its predecessor ({@link RouteContext#promptBlockHashes}). Per backend an index
 * ({@link BlockIndex}) remembers the blocks this strategy sent there, least recently used first out,
 * with the capacity of the backend's real KV cache ({@code num_gpu_blocks * block_size} tokens from
 * {@code vllm:cache_config_info}, else {@code default_cache_tokens}). A pick:
 *
 * <ol>
 *   <li>Load is what sending the request there costs in expected time, beyond its shortest service
 *       time among the candidates ({@link ExpectedTime#relativeLoad}, the figure {@code latency-aware}
 *       minimizes): on equally fast backends with free slots exactly {@code outstanding / capacity}
 *       (as {@code least-loaded}); a queue, or a slower backend, adds what it costs this request.
 *       A backend is <em>overloaded</em>
 *       when its load exceeds the lowest by more than {@code load_margin} and is more than
 *       {@code load_ratio} times it; the others are <em>eligible</em>. So a cached prefix on a slow,
 *       busy backend does not win over a cold fast one when it would finish later overall.</li>
 *   <li>The eligible backend holding the longest cached prefix (at least {@code min_match_blocks}
 *       blocks) wins; among equal prefixes the least loaded, then rendezvous.</li>
 *   <li>No eligible backend holds any of it, and the request has an affinity key (the {@code user}
 *       field or the session header) with {@code session_affinity}: the candidate that rendezvous
 *       hashing of the key ranks first, unless it is overloaded (then the first-ranked among those
 *       within {@code cold_margin} of the lowest load). A conversation's later turns find their
 *       history on that backend, so step 2 keeps them there.</li>
 *   <li>Otherwise (a cold prefix): among the backends within {@code cold_margin} of the lowest
 *       load, the one that rendezvous hashing of the first {@code rendezvous_blocks} blocks ranks
 *       first. Independent router replicas see nearly the same loads, so they send a new shared
 *       prefix to the same backend without talking to each other.</li>
 *   <li>No prompt text and no key: the least loaded, ties at random.</li>
 * </ol>
 *
 * The chosen backend's index then records the prompt's blocks (the first block most recently
 * used, as vLLM frees a sequence's blocks from the end).
 *
 * <p>Memory: all indexes together stay under {@code max_index_bytes}: each backend's capacity is
 * the smaller of its cache and an equal share of the cap, and its arrays never grow past that. An
 * entry costs 24 to 32 bytes. Entries leave when the backend would have evicted them (LRU), when
 * its {@link BackendView#cacheEpoch() cache epoch} changes (ejected, restarted), and when it leaves
 * the configuration ({@link #backendsChanged}). {@link #stats()} reports the figures.
 *
 * <p>With {@code index = "kv-events"} ({@link KvIndexSettings}) the match length of a backend whose
 * KV-cache events the router follows comes from that exact index ({@link ExactMatch}), given the
 * request's tokens; backends that publish no events, and requests whose tokens did not come within
 * {@code tokenize_timeout}, use the approximate index, which keeps recording every pick.
 *
 * <p>Thread-safety: indexes are found in a {@link ConcurrentHashMap} by backend id (lock-free
 * reads); each index has its own monitor, held for one lookup or one recording. A pick locks the
 * candidates' indexes one after the other, never two at once and never a lock shared by all
 * backends, so picks for different backends do not contend.
 */
public final class CacheAwareStrategy implements BalancingStrategy {

    /** The name config uses: {@value}. */
    public static final String NAME = "cache-aware";

    private final CacheAwareSettings settings;
    private final KvIndexSettings kv;
    private final Map<String, BlockIndex> indexes = new ConcurrentHashMap<>();
    /** Backends in the configuration, for the equal share of the memory cap; at least the indexes held. */
    private volatile int configured;

    private final LongAdder hitPicks = new LongAdder();
    private final LongAdder coldPicks = new LongAdder();
    private final LongAdder sessionPicks = new LongAdder();
    private final LongAdder loadOverrides = new LongAdder();
    private final LongAdder promptBlocks = new LongAdder();
    private final LongAdder matchedBlocks = new LongAdder();
    private final LongAdder exactPicks = new LongAdder();
    private final LongAdder tokensMissing = new LongAdder();

    /** With the default settings. */
    public CacheAwareStrategy() {
        this(CacheAwareSettings.DEFAULTS);
    }

    public CacheAwareStrategy(CacheAwareSettings settings) {
        this(settings, KvIndexSettings.DEFAULTS);
    }

    public CacheAwareStrategy(CacheAwareSettings settings, KvIndexSettings kv) {
        this.settings = java.util.Objects.requireNonNull(settings, "settings");
        this.kv = java.util.Objects.requireNonNull(kv, "kv");
    }

    /** With {@code index = "kv-events"}: the prompt's tokens and the router's KV-event index. */
    @Override
    public PickInputs pickInputs() {
        return kv.pickInputs(settings.maxIndexBytes());
    }

    public CacheAwareSettings settings() {
        return settings;
    }

    @Override
    public BackendView pick(List<? extends BackendView> candidates, RouteContext context) {
        int n = candidates.size();
        if (n == 0) {
            return null;
        }
        long[] blocks = context.promptBlockHashes(settings.blockChars());
        String key = settings.sessionAffinity() ? context.affinityKey() : null;
        ExpectedTime time = ExpectedTime.of(context.size(), candidates);
        // Each candidate's load read once: other threads change it as they route, and every
        // comparison below (the margins, the minimum) must see the same figures.
        double[] loads = new double[n];
        double min = Double.POSITIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            loads[i] = time.relativeLoad(candidates.get(i));
            min = Math.min(min, loads[i]);
        }
        double limit = Math.max(min + settings.loadMargin(), min * settings.loadRatio());
        double coldLimit = min + settings.coldMargin();

        BackendView chosen = null;
        int bestMatch = 0;
        boolean overridden = false;
        KvCacheIndex exact = kv.kvEvents() && blocks.length > 0 ? context.kvCacheIndex() : null;
        PromptTokens tokens = exact == null ? null : context.promptTokens();
        if (exact != null && tokens == null) {
            tokensMissing.increment();
        }
        boolean usedExact = false;
        if (blocks.length > 0) {
            double bestLoad = 0;
            long rendezvousKey = blocks[Math.min(settings.rendezvousBlocks(), blocks.length) - 1];
            long bestRank = 0;
            for (int i = 0; i < n; i++) {
                BackendView b = candidates.get(i);
                BlockIndex idx = index(b);
                int m = ExactMatch.blocks(exact, tokens, b, settings, kv.offloadedWeight());
                if (m == ExactMatch.NOT_TRACKED) {
                    m = idx.longestPrefix(blocks, b.cacheEpoch());
                } else {
                    usedExact = true;
                }
                if (m < settings.minMatchBlocks() || m < bestMatch) {
                    continue;
                }
                double l = loads[i];
                if (l > limit) {
                    overridden = true;
                    continue;
                }
                long rank = rank(rendezvousKey, idx.idHash);
                if (m > bestMatch || l < bestLoad || (l == bestLoad && Long.compareUnsigned(rank, bestRank) > 0)) {
                    chosen = b;
                    bestMatch = m;
                    bestLoad = l;
                    bestRank = rank;
                }
            }
            promptBlocks.add(blocks.length);
            if (usedExact) {
                exactPicks.increment();
            }
        }
        if (chosen != null) {
            hitPicks.increment();
            matchedBlocks.add(bestMatch);
        } else if (key != null) {
            // No usable cached prefix: the session's backend, while it is not overloaded.
            long keyHash = BlockIndex.hash64(key);
            int session = rendezvous(candidates, loads, keyHash, Double.POSITIVE_INFINITY);
            if (loads[session] <= limit) {
                chosen = candidates.get(session);
                sessionPicks.increment();
            } else {
                chosen = candidates.get(rendezvous(candidates, loads, keyHash, coldLimit));
                loadOverrides.increment();
            }
        } else if (blocks.length > 0) {
            // A cold prefix: among the backends about as loaded as the least loaded, the one its
            // leading blocks rank first, so that other replicas send it to the same place.
            chosen = candidates.get(rendezvous(candidates, loads,
                    blocks[Math.min(settings.rendezvousBlocks(), blocks.length) - 1], coldLimit));
            if (overridden) {
                loadOverrides.increment();
            } else {
                coldPicks.increment();
            }
        } else {
            return leastLoaded(candidates, loads, context);
        }
        if (blocks.length > 0) {
            index(chosen).record(blocks, blocks.length, chosen.cacheEpoch(), capacityOf(chosen));
        }
        return chosen;
    }

    /**
     * The index of the candidate with load at most {@code limit} ranked first for {@code key}
     * (highest random weight). {@code limit} is at least the least of {@code loads}, so there is one.
     */
    private int rendezvous(List<? extends BackendView> candidates, double[] loads, long key, double limit) {
        int best = -1;
        long bestRank = 0;
        for (int i = 0, n = candidates.size(); i < n; i++) {
            if (loads[i] > limit) {
                continue;
            }
            long r = rank(key, index(candidates.get(i)).idHash);
            if (best < 0 || Long.compareUnsigned(r, bestRank) > 0) {
                best = i;
                bestRank = r;
            }
        }
        return best;
    }

    /** Rendezvous weight of a backend for a key: both hashed together, compared as unsigned. */
    static long rank(long key, long backendHash) {
        return PromptBlocks.mix(key ^ PromptBlocks.mix(backendHash + 0x9E3779B97F4A7C15L));
    }

    private static BackendView leastLoaded(List<? extends BackendView> candidates, double[] loads, RouteContext context) {
        BackendView chosen = null;
        double best = Double.POSITIVE_INFINITY;
        int ties = 0;
        for (int i = 0, n = candidates.size(); i < n; i++) {
            BackendView b = candidates.get(i);
            double l = loads[i];
            if (chosen == null || l < best) {
                chosen = b;
                best = l;
                ties = 1;
            } else if (l == best && context.random().nextInt(++ties) == 0) {
                chosen = b;
            }
        }
        return chosen;
    }

    private BlockIndex index(BackendView b) {
        BlockIndex idx = indexes.get(b.id());
        if (idx == null) {
            idx = indexes.computeIfAbsent(b.id(), id -> new BlockIndex(id, b.cacheEpoch()));
        }
        return idx;
    }

    /**
     * Index capacity of one backend, in blocks: its cache in tokens (the server's own
     * {@code cache_tokens}, else this strategy's {@code cache_tokens}, else what it publishes, else
     * {@code default_cache_tokens}) in blocks of {@code block_chars / chars_per_token} tokens, at
     * most an equal share of {@code max_index_bytes}.
     */
    int capacityOf(BackendView b) {
        long tokens = b.cacheTokensConfigured() ? b.cacheTokens() : settings.cacheTokens();
        if (tokens <= 0) {
            tokens = b.cacheTokens();
        }
        if (tokens <= 0) {
            tokens = settings.defaultCacheTokens();
        }
        double tokensPerBlock = settings.blockChars() / settings.charsPerToken();
        long fromCache = (long) Math.max(1, Math.ceil(tokens / tokensPerBlock));
        return (int) Math.min(Integer.MAX_VALUE, Math.min(fromCache, shareSlots()));
    }

    /** Slots one backend may hold so that all together stay under the cap. */
    private long shareSlots() {
        int backends = Math.max(1, Math.max(configured, indexes.size()));
        long share = settings.maxIndexBytes() / backends;
        return Math.max(1, (share - BlockIndex.OVERHEAD_BYTES) / BlockIndex.MAX_ENTRY_BYTES);
    }

    /** Drops the indexes of backends no longer configured and applies the new equal share of the cap. */
    @Override
    public void backendsChanged(List<? extends BackendView> backends) {
        Set<String> ids = new HashSet<>();
        for (BackendView b : backends) {
            ids.add(b.id());
        }
        configured = ids.size();
        indexes.keySet().retainAll(ids);
        for (BackendView b : backends) {
            BlockIndex idx = indexes.get(b.id());
            if (idx != null) {
                idx.resize(capacityOf(b));
            }
        }
    }

    /**
     * {@code index_entries}, {@code index_bytes} (arrays as allocated), {@code index_max_bytes} (the
     * cap), {@code index_backends}, {@code index_evictions}, and pick counts: {@code picks_cache_hit},
     * {@code picks_cold}, {@code picks_session}, {@code picks_load_override}; {@code prompt_blocks}
     * and {@code matched_blocks} (their ratio is the share of prompt text routed to a backend that
     * held it); {@code picks_kv_events} (picks that read the KV-event index for some candidate) and
     * {@code picks_without_tokens} (picks with {@code index = "kv-events"} whose tokens did not come
     * in time).
     */
    @Override
    public Map<String, Long> stats() {
        long entries = 0;
        long bytes = 0;
        long evictions = 0;
        for (BlockIndex idx : indexes.values()) {
            entries += idx.size();
            bytes += idx.bytes();
            evictions += idx.evictions();
        }
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("index_entries", entries);
        m.put("index_bytes", bytes);
        m.put("index_max_bytes", settings.maxIndexBytes());
        m.put("index_backends", (long) indexes.size());
        m.put("index_evictions", evictions);
        m.put("picks_cache_hit", hitPicks.sum());
        m.put("picks_cold", coldPicks.sum());
        m.put("picks_session", sessionPicks.sum());
        m.put("picks_load_override", loadOverrides.sum());
        m.put("prompt_blocks", promptBlocks.sum());
        m.put("matched_blocks", matchedBlocks.sum());
        if (kv.kvEvents()) {
            m.put("picks_kv_events", exactPicks.sum());
            m.put("picks_without_tokens", tokensMissing.sum());
        }
        return m;
    }

    /** Entries the index of backend {@code id} holds now (0 when it has none), for tests. */
    int entries(String id) {
        BlockIndex idx = indexes.get(id);
        return idx == null ? 0 : idx.size();
    }

    @Override
    public String toString() {
        return NAME;
    }
}
