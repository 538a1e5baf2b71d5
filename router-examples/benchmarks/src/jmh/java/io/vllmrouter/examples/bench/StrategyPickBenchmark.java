package io.vllmrouter.examples.bench;

import io.vllmrouter.api.spi.BackendView;
import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.RouteContext;
import io.vllmrouter.core.strategy.StrategyRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One {@code pick} over a fleet of backends, per strategy. Target: under 1 µs at 128 backends.
 *
 * <p>The fleet is seeded: capacities 16..64, running 0..capacity, waiting 0..4, KV usage 0..1, so
 * the scored strategies see a few ties (random draws) as they would on a real fleet. The strategy
 * comes from {@link StrategyRegistry#defaultRegistry()}, as the router gets it; the random source
 * is {@link ThreadLocalRandom}, as the router's.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class StrategyPickBenchmark {

    @Param({"weighted-score", "least-loaded", "round-robin", "kv-cache-aware", "latency-aware"})
    public String strategy;

    @Param({"128"})
    public int backends;

    private List<LiveBackend> candidates;
    private BalancingStrategy picker;
    private RouteContext context;

    @Setup
    public void setup() {
        SplittableRandom seed = new SplittableRandom(20250101L);
        List<LiveBackend> fleet = new ArrayList<>(backends);
        for (int i = 0; i < backends; i++) {
            LiveBackend b = new LiveBackend(i, 16 + seed.nextInt(49));
            b.running = seed.nextInt(b.capacity() + 1);
            b.waiting = seed.nextInt(5);
            b.inFlight = (int) b.running;
            b.kvCacheUsage = seed.nextDouble();
            fleet.add(b);
        }
        candidates = List.copyOf(fleet);
        picker = StrategyRegistry.defaultRegistry().create(strategy);
        context = RouteContext.of("llama-3-8b", true, null, 1, ThreadLocalRandom.current());
    }

    @Benchmark
    public BackendView pick() {
        return picker.pick(candidates, context);
    }
}
