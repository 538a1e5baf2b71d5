package io.vllmrouter.examples.sim;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class BatchEngineTest {

    private static final ServiceModel MODEL = new ServiceModel(20, 0.1, 10, 0.1);

    @Test
    void runsAtMostMaxNumSeqsAndServesTheQueueInOrder() {
        BatchEngine engine = new BatchEngine(MODEL, 2, 10_000, 0, 5);
        List<Sequence> seqs = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            Sequence s = new Sequence(100, 50, null, 0, "length");
            seqs.add(s);
            engine.submit(s);
        }
        assertThat(engine.waiting()).isEqualTo(5);
        engine.advanceTo(5);
        assertThat(engine.running()).isEqualTo(2);
        assertThat(engine.waiting()).isEqualTo(3);
        engine.advanceTo(100_000);
        assertThat(engine.idle()).isTrue();
        for (int i = 1; i < seqs.size(); i++) {
            assertThat(seqs.get(i).firstTokenMs()).isGreaterThanOrEqualTo(seqs.get(i - 1).firstTokenMs());
            assertThat(seqs.get(i).state()).isEqualTo(Sequence.FINISHED);
            assertThat(seqs.get(i).produced()).isEqualTo(50);
        }
        assertThat(engine.generationTokensTotal()).isEqualTo(250);
        assertThat(engine.successTotal("length")).isEqualTo(5);
    }

    @Test
    void sharedPrefillServesOnePromptAtATime() {
        ServiceModel m = new ServiceModel(0, 1.0, 10, 0);  // 1 ms per prompt token
        BatchEngine shared = new BatchEngine(m, 4, 10_000, 0, 5, true);
        BatchEngine parallel = new BatchEngine(m, 4, 10_000, 0, 5, false);
        Sequence a = new Sequence(100, 2, null, 0, "length");
        Sequence b = new Sequence(100, 2, null, 0, "length");
        Sequence pa = new Sequence(100, 2, null, 0, "length");
        Sequence pb = new Sequence(100, 2, null, 0, "length");
        shared.submit(a);
        shared.submit(b);
        parallel.submit(pa);
        parallel.submit(pb);
        shared.advanceTo(1_000);
        parallel.advanceTo(1_000);
        assertThat(a.firstTokenMs()).isCloseTo(100, within(1e-9));
        assertThat(b.firstTokenMs()).as("waits for a's prefill on the one GPU").isCloseTo(200, within(1e-9));
        assertThat(pa.firstTokenMs()).isCloseTo(100, within(1e-9));
        assertThat(pb.firstTokenMs()).isCloseTo(100, within(1e-9));
    }

    @Test
    void prefixCacheEvictsTheLastBlocksOfAPromptFirst() {
        ServiceModel m = new ServiceModel(0, 1.0, 10, 0);
        BatchEngine engine = new BatchEngine(m, 4, 10_000, 3, 5, true);
        engine.submit(new Sequence(64, 1, new long[] {1, 2, 3}, 0, "length"));   // cache: 1 2 3
        engine.advanceTo(200);
        engine.submit(new Sequence(64, 1, new long[] {1, 9}, 200, "length"));    // hit on 1; cache: 1 9 2 (3 out)
        engine.advanceTo(400);
        Sequence again = new Sequence(64, 1, new long[] {1, 2, 3}, 400, "length");
        engine.submit(again);
        engine.advanceTo(600);
        assertThat(again.cachedTokens()).as("blocks 1 and 2 still cached, 3 evicted").isEqualTo(2 * BatchEngine.BLOCK_SIZE);
        assertThat(engine.prefixCacheQueries()).isEqualTo(3 * 64);
        assertThat(engine.prefixCacheHits()).isEqualTo(16 + 32);
    }

    @Test
    void aloneARequestTakesPrefillPlusTokensTimesTpot() {
        BatchEngine engine = new BatchEngine(MODEL, 4, 10_000, 0, 1);
        Sequence s = new Sequence(200, 11, null, 0, "stop");
        engine.submit(s);
        engine.advanceTo(10_000);
        assertThat(s.firstTokenMs() - s.arrivalMs()).isCloseTo(MODEL.prefillMs(200), within(1e-9));
        assertThat(s.finishMs() - s.arrivalMs()).isCloseTo(MODEL.serviceMs(200, 11, 1), within(1.0));
        assertThat(engine.successTotal("stop")).isEqualTo(1);
    }

    @Test
    void fullerBatchDecodesSlower() {
        BatchEngine alone = new BatchEngine(MODEL, 4, 10_000, 0, 1);
        Sequence a = new Sequence(10, 100, null, 0, "length");
        alone.submit(a);
        alone.advanceTo(100_000);

        BatchEngine shared = new BatchEngine(MODEL, 4, 10_000, 0, 1);
        Sequence b = new Sequence(10, 100, null, 0, "length");
        shared.submit(b);
        for (int i = 0; i < 3; i++) {
            shared.submit(new Sequence(10, 100, null, 0, "length"));
        }
        shared.advanceTo(100_000);
        assertThat(b.finishMs()).isGreaterThan(a.finishMs());
    }

    @Test
    void abortFreesTheSlotForTheNextInLine() {
        BatchEngine engine = new BatchEngine(MODEL, 1, 10_000, 0, 5);
        Sequence first = new Sequence(10, 1_000_000, null, 0, "length");
        Sequence second = new Sequence(10, 5, null, 0, "length");
        engine.submit(first);
        engine.submit(second);
        engine.advanceTo(1_000);
        assertThat(second.state()).isEqualTo(Sequence.WAITING);
        first.requestAbort();
        engine.advanceTo(2_000);
        assertThat(first.state()).isEqualTo(Sequence.ABORTED);
        assertThat(second.state()).isEqualTo(Sequence.FINISHED);
        assertThat(engine.successTotal("abort")).isEqualTo(1);
    }

    @Test
    void kvCacheUsageIsTokensHeldOverCapacity() {
        BatchEngine engine = new BatchEngine(MODEL, 4, 100, 0, 5);
        engine.submit(new Sequence(BatchEngine.BLOCK_SIZE * 10 - 1, 1_000, null, 0, "length"));
        engine.advanceTo(5);
        assertThat(engine.kvCacheUsage()).isCloseTo(0.10, within(1e-9));
    }

    @Test
    void prefixCacheHitShortensPrefill() {
        BatchEngine engine = new BatchEngine(MODEL, 4, 10_000, 1_000, 1);
        long[] blocks = {1, 2, 3, 4, 5};
        Sequence cold = new Sequence(100, 2, blocks, 0, "length");
        engine.submit(cold);
        engine.advanceTo(1_000);
        Sequence warm = new Sequence(100, 2, blocks, 1_000, "length");
        engine.submit(warm);
        engine.advanceTo(2_000);
        assertThat(warm.cachedTokens()).isEqualTo(80);
        assertThat(warm.firstTokenMs() - warm.arrivalMs()).isLessThan(cold.firstTokenMs() - cold.arrivalMs());
        assertThat(engine.prefixCacheHits()).isEqualTo(80);
    }
}
