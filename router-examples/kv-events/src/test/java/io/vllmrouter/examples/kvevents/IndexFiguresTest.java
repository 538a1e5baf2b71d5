package io.vllmrouter.examples.kvevents;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The index's figures on their own: names, and what a reader sees before and after a publish. */
class IndexFiguresTest {

    private final IndexFigures figures = new IndexFigures();

    @Test
    void everyFigureHasItsNameInOrder() {
        assertThat(figures.stats(4096, 0).keySet()).containsExactly("kv_index_entries", "kv_index_bytes",
                "kv_index_max_bytes", "kv_index_servers", "kv_events_batches", "kv_events_stored_blocks",
                "kv_events_removed_blocks", "kv_events_unknown_blocks", "kv_events_dropped_blocks",
                "kv_events_skipped", "kv_events_clears", "kv_events_gaps", "kv_events_replays",
                "kv_events_replay_failures", "kv_events_restarts", "kv_events_bad_payloads");
    }

    @Test
    void blockCountsShowOnlyOncePublishedAndCountersAtOnce() {
        figures.counts.stored = 7;
        figures.counts.removed = 2;
        figures.counts.unknown = 1;
        figures.counts.dropped = 3;
        figures.gaps.increment();
        figures.badPayloads.add(2);
        Map<String, Long> before = figures.stats(1 << 20, 2);
        assertThat(before).containsEntry("kv_events_stored_blocks", 0L).containsEntry("kv_index_entries", 0L)
                .containsEntry("kv_events_gaps", 1L).containsEntry("kv_events_bad_payloads", 2L)
                .containsEntry("kv_index_max_bytes", 1L << 20).containsEntry("kv_index_servers", 2L);

        figures.publish(12_345, 5);
        assertThat(figures.stats(1 << 20, 2)).containsEntry("kv_index_bytes", 12_345L)
                .containsEntry("kv_index_entries", 5L).containsEntry("kv_events_stored_blocks", 7L)
                .containsEntry("kv_events_removed_blocks", 2L).containsEntry("kv_events_unknown_blocks", 1L)
                .containsEntry("kv_events_dropped_blocks", 3L);
    }
}
