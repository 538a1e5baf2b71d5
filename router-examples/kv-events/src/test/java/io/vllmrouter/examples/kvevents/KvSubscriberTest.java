package io.vllmrouter.examples.kvevents;

import static org.assertj.core.api.Assertions.assertThat;

import io.vllmrouter.api.spi.CachedPrefix;
import io.vllmrouter.api.spi.KvEventSource;
import io.vllmrouter.api.spi.PromptTokens;
import io.vllmrouter.testing.HeldLogs;
import io.vllmrouter.testing.TestBackend;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The index following publishers over real ZMQ sockets on 127.0.0.1, as vLLM's publisher sends:
 * sequence numbers, gaps with and without a replay socket, replay on joining late, restarts,
 * data-parallel ranks on consecutive ports, both wire shapes.
 */
class KvSubscriberTest {

    static final Duration WAIT = Duration.ofSeconds(10);
    static final int BS = 4;

    private final KvIndex index = new KvIndex(64L << 20);
    private final TestBackend b0 = TestBackend.of(0, 4, 0, 0);
    private final KvEventEncoder maps = new KvEventEncoder(KvEventEncoder.Shape.MAP, KvEventEncoder.Hashes.INT);
    private final KvEventEncoder arrays = new KvEventEncoder(KvEventEncoder.Shape.ARRAY, KvEventEncoder.Hashes.BYTES);
    private final List<KvEventPublisher> publishers = new java.util.ArrayList<>();

    @AfterEach
    void close() {
        index.close();
        publishers.forEach(KvEventPublisher::close);
    }

    private KvEventPublisher publisher(int port, int replayPort, int rank) {
        KvEventPublisher p = KvEventPublisher.bind(port, replayPort, rank, 1000);
        publishers.add(p);
        return p;
    }

    private void follow(KvEventPublisher p, int ranks) throws InterruptedException {
        index.follow(List.of(new KvEventSource("b0", "tcp://127.0.0.1:" + p.port(),
                p.replayPort() < 0 ? null : "tcp://127.0.0.1:" + p.replayPort(), ranks)));
        assertThat(p.awaitSubscribers(1, WAIT)).isTrue();
    }

    static final int[] T = KvIndexTest.tokens(24, 500);

    /** Blocks {@code from..to-1} of {@link #T}, vLLM hash {@code 100 + i}, chained. */
    static KvEventEncoder.Stored blocks(int from, int to) {
        long[] hashes = new long[to - from];
        for (int i = from; i < to; i++) {
            hashes[i - from] = 100 + i;
        }
        return new KvEventEncoder.Stored(hashes, from == 0 ? null : 100L + from - 1,
                Arrays.copyOfRange(T, from * BS, to * BS), BS, "GPU");
    }

    private int held() {
        return index.match(b0, PromptTokens.of(null, T, null)).tokens() / BS;
    }

    private void publishAndWait(KvEventPublisher p, byte[] payload, long batches) throws InterruptedException {
        p.publish(payload);
        assertThat(index.await(() -> index.batchesApplied() >= batches, WAIT)).isTrue();
    }

    @Test
    void eventsInEitherShapeAreIndexed() throws InterruptedException {
        KvEventPublisher p = publisher(0, -1, 0);
        follow(p, 1);
        publishAndWait(p, maps.encode(1, List.of(blocks(0, 2)), 0), 1);
        publishAndWait(p, arrays.encode(2, List.of(blocks(2, 4)), 0), 2);
        assertThat(held()).isEqualTo(4);
        assertThat(index.match(b0, PromptTokens.of(null, T, null))).isEqualTo(new CachedPrefix(16, 0));
        publishAndWait(p, arrays.encode(3, List.of(new KvEventEncoder.Removed(new long[] {103}, "GPU")), 0), 3);
        assertThat(held()).isEqualTo(3);
    }

    @Test
    void aGapWithoutReplayDropsTheEntriesAndRebuildsFromNewEvents() throws InterruptedException {
        KvEventPublisher p = publisher(0, -1, 0);
        follow(p, 1);
        publishAndWait(p, maps.encode(1, List.of(blocks(0, 2)), 0), 1);
        p.skip(2);
        publishAndWait(p, maps.encode(2, List.of(new KvEventEncoder.Stored(new long[] {7}, null,
                Arrays.copyOf(T, BS), BS, "GPU")), 0), 2);
        assertThat(held()).isEqualTo(1);    // block 0 again, under hash 7; block 1 was dropped with the rest
        assertThat(index.stats()).containsEntry("kv_events_gaps", 1L).containsEntry("kv_events_clears", 1L)
                .containsEntry("kv_index_entries", 1L);
    }

    @Test
    void aGapIsFilledFromTheReplaySocket() throws InterruptedException {
        KvEventPublisher p = publisher(0, 0, 0);
        follow(p, 1);
        publishAndWait(p, maps.encode(1, List.of(blocks(0, 2)), 0), 1);
        p.publishLost(maps.encode(2, List.of(blocks(2, 4)), 0));
        publishAndWait(p, maps.encode(3, List.of(blocks(4, 6)), 0), 3);
        assertThat(held()).isEqualTo(6);
        assertThat(index.stats()).containsEntry("kv_events_gaps", 1L).containsEntry("kv_events_replays", 1L)
                .containsEntry("kv_events_replay_failures", 0L).containsEntry("kv_events_clears", 0L);
        assertThat(HeldLogs.messages()).contains("KV events of b0: 1 batches missed, replayed from kv_events_replay");
    }

    @Test
    void aGapTheReplayBufferNoLongerHoldsDropsTheEntries() throws InterruptedException {
        KvEventPublisher p = publisher(0, 0, 0);
        follow(p, 1);
        publishAndWait(p, maps.encode(1, List.of(blocks(0, 2)), 0), 1);
        p.skip(1);
        p.publishLost(maps.encode(2, List.of(new KvEventEncoder.Stored(new long[] {7}, null,
                Arrays.copyOf(T, BS), BS, "GPU")), 0));
        publishAndWait(p, maps.encode(3, List.of(new KvEventEncoder.Stored(new long[] {8}, 7L,
                Arrays.copyOfRange(T, BS, 2 * BS), BS, "GPU")), 0), 3);
        assertThat(held()).isEqualTo(2);
        assertThat(index.stats()).containsEntry("kv_events_replay_failures", 1L).containsEntry("kv_events_clears", 1L)
                .containsEntry("kv_index_entries", 2L);
    }

    @Test
    void aSubscriberThatJoinsLateReplaysFromTheStart() throws InterruptedException {
        KvEventPublisher p = publisher(0, 0, 0);
        p.publish(maps.encode(1, List.of(blocks(0, 2)), 0));    // nobody listens yet: dropped, but buffered
        p.publish(maps.encode(2, List.of(blocks(2, 3)), 0));
        follow(p, 1);
        publishAndWait(p, maps.encode(3, List.of(blocks(3, 4)), 0), 3);
        assertThat(held()).isEqualTo(4);
        assertThat(index.stats()).containsEntry("kv_events_replays", 1L).containsEntry("kv_events_gaps", 0L);
    }

    @Test
    void aSequenceThatStartsOverIsARestart() throws InterruptedException {
        KvEventPublisher p = publisher(0, -1, 0);
        int port = p.port();
        follow(p, 1);
        publishAndWait(p, maps.encode(1, List.of(blocks(0, 2)), 0), 1);
        publishAndWait(p, maps.encode(2, List.of(blocks(2, 3)), 0), 2);
        p.close();
        KvEventPublisher again = publisher(port, -1, 0);
        assertThat(again.awaitSubscribers(1, WAIT)).isTrue();
        publishAndWait(again, maps.encode(3, List.of(new KvEventEncoder.Stored(new long[] {9}, null,
                Arrays.copyOf(T, BS), BS, "GPU")), 0), 3);
        assertThat(held()).isEqualTo(1);
        assertThat(index.stats()).containsEntry("kv_events_restarts", 1L).containsEntry("kv_index_entries", 1L);
    }

    @Test
    void dataParallelRanksPublishOnTheNextPorts() throws InterruptedException {
        KvEventPublisher rank0 = null;
        KvEventPublisher rank1 = null;
        for (int attempt = 0; rank1 == null && attempt < 20; attempt++) {
            rank0 = publisher(0, -1, 0);
            try {
                rank1 = publisher(rank0.port(), -1, 1);
            } catch (org.zeromq.ZMQException portTaken) {
                rank0.close();   // the next port was taken: another pair
            }
        }
        assertThat(rank1.port()).isEqualTo(rank0.port() + 1);
        index.follow(List.of(new KvEventSource("b0", "tcp://127.0.0.1:" + rank0.port(), null, 2)));
        assertThat(rank0.awaitSubscribers(1, WAIT)).isTrue();
        assertThat(rank1.awaitSubscribers(1, WAIT)).isTrue();
        publishAndWait(rank1, maps.encode(1, List.of(blocks(0, 4)), 1), 1);
        assertThat(held()).isEqualTo(2);        // one rank of two holds 4 blocks
        publishAndWait(rank0, maps.encode(2, List.of(blocks(0, 4)), 0), 2);
        assertThat(held()).isEqualTo(4);
    }

    /** Router replicas: each follows the server on its own and both hold the same entries. */
    @Test
    void twoIndexesFollowingOneServerAgree() throws InterruptedException {
        KvEventPublisher p = publisher(0, 0, 0);
        try (KvIndex replica = new KvIndex(64L << 20)) {
            index.follow(List.of(new KvEventSource("b0", "tcp://127.0.0.1:" + p.port(), null, 1)));
            replica.follow(List.of(new KvEventSource("b0", "tcp://127.0.0.1:" + p.port(), null, 1)));
            assertThat(p.awaitSubscribers(2, WAIT)).isTrue();
            p.publish(maps.encode(1, List.of(blocks(0, 3)), 0));
            assertThat(index.await(() -> index.batchesApplied() >= 1, WAIT)).isTrue();
            assertThat(replica.await(() -> replica.batchesApplied() >= 1, WAIT)).isTrue();
            assertThat(replica.match(b0, PromptTokens.of(null, T, null))).isEqualTo(index.match(b0, PromptTokens.of(null, T, null)))
                    .isEqualTo(new CachedPrefix(12, 0));
        }
    }

    @Test
    void aPayloadThatIsNotABatchIsCountedAndSkipped() throws InterruptedException {
        KvEventPublisher p = publisher(0, -1, 0);
        follow(p, 1);
        p.publish(new byte[] {(byte) 0xa3, 'a', 'b', 'c'});
        p.publish(new byte[] {(byte) 0xc1});
        publishAndWait(p, maps.encode(3, List.of(blocks(0, 1)), 0), 1);
        assertThat(held()).isEqualTo(1);
        assertThat(index.stats()).containsEntry("kv_events_bad_payloads", 2L).containsEntry("kv_events_gaps", 0L);
        assertThat(HeldLogs.messages()).as("logged once").filteredOn(m -> m.contains("is not an event batch"))
                .singleElement().asString().startsWith("KV events of b0: message 0 is not an event batch (")
                .endsWith("); such messages are skipped (counted in kv_events_bad_payloads; not logged again)");
    }

    @Test
    void aServerNoLongerFollowedLosesItsEntries() throws InterruptedException {
        KvEventPublisher p = publisher(0, -1, 0);
        follow(p, 1);
        publishAndWait(p, maps.encode(1, List.of(blocks(0, 2)), 0), 1);
        index.follow(List.of());
        index.sync(() -> { });
        assertThat(index.tracks(b0)).isFalse();
        assertThat(index.stats()).containsEntry("kv_index_servers", 0L).containsEntry("kv_index_entries", 0L);
    }
}
