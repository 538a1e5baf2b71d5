package io.vllmrouter.examples.bench;

import io.vllmrouter.api.spi.BackendView;
import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.PromptBlocks;
import io.vllmrouter.api.spi.RouteContext;
import io.vllmrouter.api.spi.BalancingStrategyProvider;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/**
 * The cache-aware strategy's index memory after a million distinct prompts: its own figure
 * ({@code index_bytes}, arrays as allocated) against the cap ({@code max_index_bytes}), and the
 * heap in use after a full collection before and after, on 16 backends.
 *
 * <pre>{@code
 * java -cp ... io.vllmrouter.examples.bench.CacheIndexMemory [prompts] [max_index_bytes]
 * }</pre>
 *
 * Each prompt is 16 blocks (1,024 characters) of text shared with no other; the hashes are drawn
 * at random rather than computed from text (the index sees only hashes).
 */
public final class CacheIndexMemory {

    private CacheIndexMemory() {
    }

    private record Backend(int index) implements BackendView {
        @Override public String id() { return "http://gpu-" + index + ":8000"; }
        @Override public URI url() { return URI.create(id()); }
        @Override public int capacity() { return 64; }
        @Override public int inFlight() { return 0; }
        @Override public double running() { return 0; }
        @Override public double waiting() { return 0; }
        @Override public double kvCacheUsage() { return Double.NaN; }
        @Override public boolean metricsFresh() { return true; }
        @Override public List<String> models() { return List.of(); }
        @Override public long cacheBlocks() { return 1_000_000; }  // a large cache: the cap binds
        @Override public int cacheBlockSize() { return 16; }
    }

    private record Hashed(long[] hashes, RandomGenerator random) implements RouteContext {
        @Override public String model() { return "m"; }
        @Override public boolean stream() { return true; }
        @Override public String affinityKey() { return null; }
        @Override public int attempt() { return 1; }
        @Override public long[] promptBlockHashes(int blockChars) { return hashes; }
    }

    public static void main(String[] args) {
        long prompts = args.length > 0 ? Long.parseLong(args[0]) : 1_000_000;
        String cap = args.length > 1 ? args[1] : String.valueOf(64L << 20);
        MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
        BalancingStrategyProvider provider = RoutingQualityBenchmark.providers().get("cache-aware");
        BalancingStrategy s = provider.create(Map.of("max_index_bytes", cap));
        List<Backend> fleet = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            fleet.add(new Backend(i));
        }
        s.backendsChanged(fleet);
        long before = usedAfterGc(mem);
        SplittableRandom random = new SplittableRandom(1);
        long maxSeen = 0;
        long t0 = System.nanoTime();
        for (long p = 0; p < prompts; p++) {
            long[] h = new long[16];
            long x = random.nextLong();
            for (int i = 0; i < h.length; i++) {
                x = PromptBlocks.mix(x + i);
                h[i] = x;
            }
            s.pick(fleet, new Hashed(h, random));
            if (p % 100_000 == 0) {
                maxSeen = Math.max(maxSeen, s.stats().get("index_bytes"));
            }
        }
        long seconds = (System.nanoTime() - t0) / 1_000_000_000L;
        Map<String, Long> st = s.stats();
        maxSeen = Math.max(maxSeen, st.get("index_bytes"));
        long after = usedAfterGc(mem);
        System.out.printf(Locale.ROOT, "%,d distinct prompts of 16 blocks over 16 backends in %d s%n", prompts, seconds);
        System.out.printf(Locale.ROOT, "index: %,d entries, %,d bytes (max seen %,d), cap %,d bytes, %.1f bytes per entry, %,d evictions%n",
                st.get("index_entries"), st.get("index_bytes"), maxSeen, st.get("index_max_bytes"),
                st.get("index_bytes") / (double) Math.max(1, st.get("index_entries")), st.get("index_evictions"));
        System.out.printf(Locale.ROOT, "heap in use after a full GC: %,d bytes before, %,d after: +%,d bytes (%s the cap)%n",
                before, after, after - before, after - before <= st.get("index_max_bytes") ? "within" : "OVER");
        if (s.hashCode() == 0) {
            System.out.println();  // keep the strategy reachable until the heap was measured
        }
    }

    private static long usedAfterGc(MemoryMXBean mem) {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return mem.getHeapMemoryUsage().getUsed();
    }
}
