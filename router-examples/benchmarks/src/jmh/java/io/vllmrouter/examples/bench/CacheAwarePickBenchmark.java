package io.vllmrouter.examples.bench;

import io.vllmrouter.api.spi.BackendView;
import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.PromptBlocks;
import io.vllmrouter.api.spi.RouteContext;
import io.vllmrouter.core.strategy.StrategyRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One {@code cache-aware} pick over 16 backends for a 4,000-token prompt (16,000 characters, 250
 * blocks of 64), whose first 3,000 tokens one backend holds. The indexes are warmed with 64
 * conversations over 8 system prompts. {@link #pick} is the pick with the prompt's hashes already
 * computed (the router computes them once per request): 16 index lookups, then the prompt's 250
 * blocks recorded on the chosen backend. {@link #hashAndPick} adds hashing the rendered text.
 *
 * <pre>{@code
 * java -jar router-examples/benchmarks/target/benchmarks.jar CacheAware -f 1 -wi 3 -i 5 -w 1 -r 1
 * }</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class CacheAwarePickBenchmark {

    private static final int BACKENDS = 16;
    private static final int BLOCK_CHARS = 64;

    private List<LiveBackend> candidates;
    private BalancingStrategy picker;
    private String prompt;
    private long[] hashes;

    /** A context whose hashes are given (as the router's, computed once per request). */
    private record Hashed(long[] hashes, RandomGenerator random) implements RouteContext {
        @Override public String model() { return "llama"; }
        @Override public boolean stream() { return true; }
        @Override public String affinityKey() { return null; }
        @Override public int attempt() { return 1; }
        @Override public long[] promptBlockHashes(int blockChars) { return hashes; }
    }

    private static String text(SplittableRandom r, int chars) {
        StringBuilder b = new StringBuilder(chars);
        while (b.length() < chars) {
            b.append((char) ('a' + r.nextInt(26)));
            if (r.nextInt(6) == 0) {
                b.append(' ');
            }
        }
        return b.substring(0, chars);
    }

    @Setup
    public void setup() {
        SplittableRandom seed = new SplittableRandom(20250101L);
        List<LiveBackend> fleet = new ArrayList<>(BACKENDS);
        for (int i = 0; i < BACKENDS; i++) {
            LiveBackend b = new LiveBackend(i, 32);
            b.running = seed.nextInt(8);
            b.inFlight = (int) b.running;
            fleet.add(b);
        }
        candidates = List.copyOf(fleet);
        picker = StrategyRegistry.defaultRegistry().create("cache-aware");
        picker.backendsChanged(candidates);
        List<String> systems = new ArrayList<>();
        for (int s = 0; s < 8; s++) {
            systems.add(text(seed, 8_000));
        }
        for (int c = 0; c < 64; c++) {
            String conversation = systems.get(c % 8) + text(seed, 4_000 + seed.nextInt(4_000));
            picker.pick(candidates, RouteContext.ofPrompt("llama", null, conversation, ThreadLocalRandom.current()));
        }
        // 12,000 characters (3,000 tokens) held somewhere, then 4,000 new ones: a 4,000-token prompt.
        String held = systems.get(3) + text(seed, 4_000);
        picker.pick(candidates, RouteContext.ofPrompt("llama", null, held, ThreadLocalRandom.current()));
        prompt = held + text(seed, 4_000);
        hashes = PromptBlocks.hash(prompt, BLOCK_CHARS, PromptBlocks.MAX_BLOCKS, PromptBlocks.seed("llama"));
    }

    @Benchmark
    public BackendView pick() {
        return picker.pick(candidates, new Hashed(hashes, ThreadLocalRandom.current()));
    }

    @Benchmark
    public BackendView hashAndPick() {
        long[] h = PromptBlocks.hash(prompt, BLOCK_CHARS, PromptBlocks.MAX_BLOCKS, PromptBlocks.seed("llama"));
        return picker.pick(candidates, new Hashed(h, ThreadLocalRandom.current()));
    }
}
