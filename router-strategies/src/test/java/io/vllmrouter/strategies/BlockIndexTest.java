package io.vllmrouter.strategies;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The index against a plain LinkedHashMap LRU, across page boundaries, growth and shrinking. */
class BlockIndexTest {

    @Test
    void behavesLikeAnLruMapAcrossPagesGrowthAndShrinking() {
        BlockIndex idx = new BlockIndex("b", 1);
        int[] capacities = {3, 100, BlockIndex.PAGE + 17, 2 * BlockIndex.PAGE + 5, 5000, 9000, 40};
        SplittableRandom random = new SplittableRandom(5);
        Map<Long, Boolean> model = null;
        for (int capacity : capacities) {
            int cap = capacity;
            Map<Long, Boolean> next = new LinkedHashMap<>(16, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<Long, Boolean> eldest) {
                    return size() > cap;
                }
            };
            if (model != null) {
                next.putAll(model);  // keeps the most recent when it is smaller
            }
            model = next;
            idx.resize(capacity);
            for (int op = 0; op < 40_000; op++) {
                long key = random.nextInt(capacity * 2) * 0x9E3779B97F4A7C15L;
                idx.record(new long[] {key}, 1, 1, capacity);
                model.put(key, Boolean.TRUE);
                if (op % 997 == 0) {
                    assertThat(idx.size()).isEqualTo(model.size());
                }
            }
            for (long key : model.keySet()) {
                assertThat(idx.longestPrefix(new long[] {key}, 1)).as("key %s at capacity %s", key, capacity).isEqualTo(1);
            }
            assertThat(idx.size()).isEqualTo(model.size()).isLessThanOrEqualTo(capacity);
            assertThat(idx.bytes()).isLessThanOrEqualTo(BlockIndex.bytesFor(capacity));
        }
        assertThat(idx.longestPrefix(new long[] {1}, 2)).as("another epoch empties it").isZero();
        assertThat(idx.size()).isZero();
    }
}
