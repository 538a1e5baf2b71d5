package io.vllmrouter.examples.kvevents;

import io.vllmrouter.api.spi.BackendView;
import io.vllmrouter.api.spi.CachedPrefix;
import io.vllmrouter.api.spi.KvCacheIndex;
import io.vllmrouter.api.spi.KvEventSource;
import io.vllmrouter.api.spi.PromptTokens;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.zeromq.ZContext;

/**
 * The exact prefix index: what each followed server holds, built from its KV-cache events.
 *
 * <pre>{@code
 * KvIndex index = new KvIndex(64 << 20);
 * index.follow(List.of(new KvEventSource("http://gpu-1:8000", "tcp://gpu-1:5557", "tcp://gpu-1:5558", 1)));
 * CachedPrefix held = index.match(backend, PromptTokens.of("llama", ids, null));
 * }</pre>
 *
 * <p>Ownership: one {@link KvSubscriber} thread per server rank receives and decodes batches and
 * hands them, in order, to this index's owner thread ({@link IndexOwner}), the only one that changes
 * the state (per rank a {@link RankState}) and publishes its figures ({@link IndexFigures}). Request threads read it ({@link #match}) without a lock: a concurrent map
 * from backend id to its ranks, and per rank a {@link BlockTable}. Memory: all ranks together stay
 * under {@code maxBytes}; past it new blocks are dropped (counted), never old ones guessed at.
 *
 * <p>A server's entries are cleared, and rebuilt from its next events, on {@code AllBlocksCleared},
 * on a gap in its sequence numbers that replay could not fill, when its sequence starts over (a
 * restart), and when its backend's {@link BackendView#cacheEpoch() cache epoch} changes (ejected by
 * health checks, or its counters went back).
 */
public final class KvIndex implements KvCacheIndex {

    private static final System.Logger LOG = System.getLogger(KvIndex.class.getName());

    /** One followed server. */
    static final class Server {
        final KvEventSource source;
        final RankState[] ranks;
        final List<KvSubscriber> subscribers = new ArrayList<>();
        /** The backend's cache epoch the entries belong to; Long.MIN_VALUE before the first pick saw it. */
        final AtomicLong epoch = new AtomicLong(Long.MIN_VALUE);
        final AtomicBoolean clearPosted = new AtomicBoolean();
        /** Whether events of an unknown type have been logged for this server (owner thread). */
        boolean skippedLogged;

        /** How logs name one of its ranks: the backend, and the rank when it has more than one. */
        String who(int rank) {
            return source.backendId() + (ranks.length > 1 ? " rank " + rank : "");
        }

        Server(KvEventSource source) {
            this.source = source;
            this.ranks = new RankState[source.ranks()];
            for (int i = 0; i < ranks.length; i++) {
                ranks[i] = new RankState();
            }
        }
    }

    private final long maxBytes;
    private final Map<String, Server> servers = new ConcurrentHashMap<>();
    private final IndexOwner owner;
    private final ZContext zmq = new ZContext();
    private volatile boolean closed;
    /** Owner only: bytes all entries take. */
    private long bytes;
    /** What {@link #stats} reports; the subscribers add to its event counters. */
    final IndexFigures figures = new IndexFigures();

    /** @param maxBytes memory all entries together may take, bytes */
    public KvIndex(long maxBytes) {
        if (maxBytes < 4096) {
            throw new IllegalArgumentException("max_index_bytes: " + maxBytes + " (expected: integer >= 4096)");
        }
        this.maxBytes = maxBytes;
        this.owner = new IndexOwner("vllm-router-kv-index");
    }

    // ---- request threads ------------------------------------------------------------------------

    @Override
    public boolean tracks(BackendView backend) {
        return servers.containsKey(backend.id());
    }

    @Override
    public CachedPrefix match(BackendView backend, PromptTokens prompt) {
        Server s = servers.get(backend.id());
        if (s == null || !epochCurrent(s, backend.cacheEpoch())) {
            return CachedPrefix.NONE;
        }
        long gpuTokens = 0;
        long anyTokens = 0;
        for (RankState r : s.ranks) {
            int bs = r.blockSize;
            if (bs < 1) {
                continue;
            }
            String lora = prompt.model() != null && r.loras.contains(prompt.model()) ? prompt.model() : null;
            long[] keys = prompt.blockKeys(bs, lora);
            BlockTable.Slots slots = r.table.slots();
            int g = 0;
            while (g < keys.length && BlockTable.inGpu(slots.get(keys[g]))) {
                g++;
            }
            int t = g;
            while (t < keys.length && BlockTable.held(slots.get(keys[t]))) {
                t++;
            }
            gpuTokens += (long) g * bs;
            anyTokens += (long) t * bs;
        }
        // vLLM's data-parallel front end does not route by prefix: a block one of n ranks holds helps
        // one request in n.
        int n = s.ranks.length;
        return gpuTokens == 0 && anyTokens == 0 ? CachedPrefix.NONE
                : new CachedPrefix((int) (gpuTokens / n), (int) ((anyTokens - gpuTokens) / n));
    }

    /**
     * Whether the entries belong to the backend's current cache epoch; when the epoch moved (ejected,
     * restarted) a clear is posted to the owner, and until it ran nothing is trusted.
     */
    private boolean epochCurrent(Server s, long epoch) {
        long seen = s.epoch.get();
        if (seen == epoch) {
            return true;
        }
        if (seen == Long.MIN_VALUE && s.epoch.compareAndSet(Long.MIN_VALUE, epoch)) {
            return true;
        }
        if (s.clearPosted.compareAndSet(false, true)) {
            boolean posted = owner.offer(() -> {
                clear(s, "its backend was ejected or restarted");
                s.epoch.set(epoch);
                s.clearPosted.set(false);
            });
            if (!posted) {
                s.clearPosted.set(false);
            }
        }
        return false;
    }

    // ---- the router's state path --------------------------------------------------------------

    @Override
    public synchronized void follow(List<KvEventSource> sources) {
        if (closed) {
            return;
        }
        Map<String, KvEventSource> wanted = new HashMap<>();
        for (KvEventSource src : sources) {
            wanted.put(src.backendId(), src);
        }
        for (Map.Entry<String, Server> e : new ArrayList<>(servers.entrySet())) {
            KvEventSource want = wanted.get(e.getKey());
            if (want == null || !want.equals(e.getValue().source)) {
                Server gone = e.getValue();
                servers.remove(e.getKey());
                gone.subscribers.forEach(KvSubscriber::stop);
                post(() -> {
                    for (RankState r : gone.ranks) {
                        addBytes(r.clear() - r.bytes());
                    }
                    publishCounts();
                });
            }
        }
        for (KvEventSource src : sources) {
            if (!servers.containsKey(src.backendId())) {
                register(src, true);
                LOG.log(Level.INFO, "following the KV-cache events of {0} at {1}{2}", src.backendId(), src.endpoint(),
                        src.ranks() > 1 ? " (" + src.ranks() + " ranks on the next ports)" : "");
            }
        }
    }

    /**
     * Adds a server, with a subscriber per rank when {@code subscribe}; without, its batches come
     * through {@link #feed} (tools and tests that replay recorded or generated events).
     */
    synchronized Server register(KvEventSource src, boolean subscribe) {
        Server s = new Server(src);
        if (subscribe) {
            for (int r = 0; r < src.ranks(); r++) {
                s.subscribers.add(new KvSubscriber(this, s, r, zmq));
            }
        }
        servers.put(src.backendId(), s);
        post(() -> {
            for (RankState r : s.ranks) {
                addBytes(r.bytes());
            }
            publishCounts();
        });
        s.subscribers.forEach(KvSubscriber::start);
        return s;
    }

    /** Hands one batch of a registered server's rank to the owner, as its subscriber would. */
    void feed(String backendId, int rank, KvEvent.Batch batch) {
        Server s = servers.get(backendId);
        if (s != null) {
            post(() -> apply(s, rank, batch));
        }
    }

    // ---- subscriber threads ---------------------------------------------------------------------

    /** Hands a task to the owner, waiting while the queue is full; false when closed. */
    boolean post(Runnable task) {
        return owner.post(task);
    }

    /** Applies one batch of rank {@code rank} of {@code s}. Owner thread. */
    void apply(Server s, int rank, KvEvent.Batch batch) {
        if (servers.get(s.source.backendId()) != s) {
            return;     // no longer followed
        }
        figures.skippedEvents.add(batch.skipped());
        if (batch.skipped() > 0 && !s.skippedLogged) {
            s.skippedLogged = true;
            LOG.log(Level.INFO, "KV events of {0}: {1} event(s) of a type this router does not know were skipped "
                    + "(counted in kv_events_skipped; not logged again)", s.source.backendId(), batch.skipped());
        }
        RankState r = s.ranks[rank];
        for (KvEvent e : batch.events()) {
            if (e instanceof KvEvent.BlockStored st) {
                if (st.group() <= 0) {
                    addBytes(r.stored(st, maxBytes - bytes, figures.counts));
                }
            } else if (e instanceof KvEvent.BlockRemoved rm) {
                if (rm.group() <= 0) {
                    addBytes(r.removed(rm, figures.counts));
                }
            } else if (e instanceof KvEvent.AllBlocksCleared) {
                figures.clears.increment();
                addBytes(r.clear());
                LOG.log(Level.INFO, "KV events of {0}: the server cleared its prefix cache (AllBlocksCleared); "
                        + "its entries go", s.who(rank));
            }
        }
        publishCounts();
        figures.batches.increment();    // last: a reader that sees the batch counted sees its figures
    }

    /** Drops a rank's entries: they are no longer trusted. Owner thread. */
    void clearRank(Server s, int rank, String why) {
        if (servers.get(s.source.backendId()) != s) {
            return;
        }
        figures.clears.increment();
        addBytes(s.ranks[rank].clear());
        publishCounts();
        LOG.log(Level.DEBUG, "KV index of {0} rank {1} cleared: {2}", s.source.backendId(), rank, why);
    }

    private void clear(Server s, String why) {
        for (int r = 0; r < s.ranks.length; r++) {
            clearRank(s, r, why);
        }
    }

    private void addBytes(long delta) {
        bytes += delta;
    }

    /** Owner thread: the figures of the state now, for readers. */
    private void publishCounts() {
        long n = 0;
        for (Server s : servers.values()) {
            for (RankState r : s.ranks) {
                n += r.table.size();
            }
        }
        figures.publish(bytes, n);
    }

    /** Runs {@code task} on the owner thread after everything posted before it, and waits (tests, tools). */
    void sync(Runnable task) throws InterruptedException {
        owner.sync(task);
    }

    /** Batches applied so far (every rank of every server). */
    long batchesApplied() {
        return figures.batches.sum();
    }

    /**
     * Waits until {@code condition} holds, checking it each time the owner has run a task; returns
     * whether it held in time. For tests and tools that must not poll.
     */
    public boolean await(java.util.function.BooleanSupplier condition, java.time.Duration timeout) throws InterruptedException {
        return owner.await(condition, timeout);
    }

    // ---- figures ----------------------------------------------------------------------------------

    /**
     * {@code kv_index_entries} (blocks held, over all ranks), {@code kv_index_bytes} (arrays as
     * allocated), {@code kv_index_max_bytes}, {@code kv_index_servers}; events:
     * {@code kv_events_batches}, {@code kv_events_stored_blocks}, {@code kv_events_removed_blocks},
     * {@code kv_events_unknown_blocks} (a parent or hash we never saw), {@code kv_events_dropped_blocks}
     * (past the cap), {@code kv_events_skipped} (unknown event types), {@code kv_events_clears},
     * {@code kv_events_gaps}, {@code kv_events_replays}, {@code kv_events_replay_failures},
     * {@code kv_events_restarts}, {@code kv_events_bad_payloads}.
     */
    @Override
    public Map<String, Long> stats() {
        return figures.stats(maxBytes, servers.size());
    }

    long maxBytes() {
        return maxBytes;
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        owner.stop();
        for (Server s : servers.values()) {
            s.subscribers.forEach(KvSubscriber::stop);
        }
        for (Server s : servers.values()) {
            s.subscribers.forEach(KvSubscriber::join);
        }
        servers.clear();
        zmq.close();
    }

    boolean closed() {
        return closed;
    }
}
