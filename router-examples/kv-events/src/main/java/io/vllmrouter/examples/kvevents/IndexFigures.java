package io.vllmrouter.examples.kvevents;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * The figures a {@link KvIndex} reports, by the names its {@link KvIndex#stats()} lists: how big the
 * index is and what its events did.
 *
 * <p>Threads: the event counters ({@link LongAdder}s) are added to by the subscriber threads and the
 * owner; {@link #counts} and {@link #publish} are the owner's: it publishes the block counts after
 * each change (volatile writes) and only then counts the batch, so that a reader that sees a batch
 * counted sees its figures. {@link #stats} may be called from any thread.
 */
final class IndexFigures {

    final LongAdder batches = new LongAdder();
    final LongAdder clears = new LongAdder();
    final LongAdder skippedEvents = new LongAdder();
    final LongAdder gaps = new LongAdder();
    final LongAdder replays = new LongAdder();
    final LongAdder replayFailures = new LongAdder();
    final LongAdder restarts = new LongAdder();
    final LongAdder badPayloads = new LongAdder();
    /** Owner only: what applying events did, published by {@link #publish}. */
    final RankState.Counts counts = new RankState.Counts();

    private volatile long bytes;
    private volatile long entries;
    private volatile long stored;
    private volatile long removed;
    private volatile long unknown;
    private volatile long dropped;

    /** Owner: the index's size now, and {@link #counts}, for readers. */
    void publish(long bytes, long entries) {
        this.bytes = bytes;
        this.stored = counts.stored;
        this.removed = counts.removed;
        this.unknown = counts.unknown;
        this.dropped = counts.dropped;
        this.entries = entries;
    }

    /** Every figure by name, in the order {@link KvIndex#stats()} lists them. */
    Map<String, Long> stats(long maxBytes, int servers) {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("kv_index_entries", entries);
        m.put("kv_index_bytes", bytes);
        m.put("kv_index_max_bytes", maxBytes);
        m.put("kv_index_servers", (long) servers);
        m.put("kv_events_batches", batches.sum());
        m.put("kv_events_stored_blocks", stored);
        m.put("kv_events_removed_blocks", removed);
        m.put("kv_events_unknown_blocks", unknown);
        m.put("kv_events_dropped_blocks", dropped);
        m.put("kv_events_skipped", skippedEvents.sum());
        m.put("kv_events_clears", clears.sum());
        m.put("kv_events_gaps", gaps.sum());
        m.put("kv_events_replays", replays.sum());
        m.put("kv_events_replay_failures", replayFailures.sum());
        m.put("kv_events_restarts", restarts.sum());
        m.put("kv_events_bad_payloads", badPayloads.sum());
        return m;
    }
}
