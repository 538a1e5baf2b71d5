package io.vllmrouter.examples.loadgen;

import static org.assertj.core.api.Assertions.assertThat;

import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.examples.bench.FleetSimulation;
import io.vllmrouter.examples.bench.RunResult;
import io.vllmrouter.examples.bench.Workload;
import io.vllmrouter.examples.sim.DemoFleet;
import io.vllmrouter.strategies.CacheAwareStrategy;
import io.vllmrouter.strategies.LatencyAwareStrategy;
import io.vllmrouter.strategies.LeastLoadedStrategy;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The speed benchmark's fleets in simulated time ({@link FleetSimulation}: the servers' own model,
 * the router's load estimate, each server's true speed shown to the strategies): the rankings the
 * live benchmark is meant to show, asserted as ratios in simulated time, never as a wall-clock time.
 */
class SpeedRoutingSimulatedTest {

    private static final double DURATION_MS = 600_000;

    private static RunResult run(List<DemoFleet.Spec> fleet, double capacityRps, BalancingStrategy s, String name, double load) {
        double rps = capacityRps * load;
        SplittableRandom random = new SplittableRandom(42);
        List<Workload.Request> requests = new ArrayList<>();
        double t = 0;
        for (int id = 0; ; id++) {
            t += -Math.log(1 - random.nextDouble()) / rps * 1000;
            if (t >= DURATION_MS) {
                break;
            }
            requests.add(new Workload.Request(id, t, 16, SpeedRoutingBenchmark.TOKENS));
        }
        return FleetSimulation.run(fleet, name, s, load, rps, requests, DURATION_MS, DURATION_MS * 0.1, 2000, 42);
    }

    @Test
    void onTheMixedFleetLatencyAwareCutsTheTailWithoutCostingTheMean() {
        SpeedRoutingBenchmark.Scenario mixed = SpeedRoutingBenchmark.SCENARIOS.get("mixed");
        RunResult leastLoaded = run(mixed.specs(), mixed.capacityRps(), new LeastLoadedStrategy(), "least-loaded", 0.8);
        RunResult latency = run(mixed.specs(), mixed.capacityRps(), new LatencyAwareStrategy(), "latency-aware", 0.8);
        RunResult cache = run(mixed.specs(), mixed.capacityRps(), new CacheAwareStrategy(), "cache-aware", 0.8);
        assertThat(latency.p99Ms()).isLessThanOrEqualTo(0.8 * leastLoaded.p99Ms());
        assertThat(latency.meanMs()).isLessThanOrEqualTo(leastLoaded.meanMs());
        assertThat(latency.share()[0]).as("the slow card's share").isLessThan(leastLoaded.share()[0]);
        assertThat(cache.p99Ms()).isLessThanOrEqualTo(1.05 * latency.p99Ms());
    }

    @Test
    void onIdenticalServersLatencyAwareIsLeastLoadedWithinFivePercent() {
        SpeedRoutingBenchmark.Scenario same = SpeedRoutingBenchmark.SCENARIOS.get("identical");
        RunResult leastLoaded = run(same.specs(), same.capacityRps(), new LeastLoadedStrategy(), "least-loaded", 0.8);
        RunResult latency = run(same.specs(), same.capacityRps(), new LatencyAwareStrategy(), "latency-aware", 0.8);
        assertThat(latency.meanMs()).isLessThanOrEqualTo(1.05 * leastLoaded.meanMs());
        assertThat(latency.p99Ms()).isLessThanOrEqualTo(1.05 * leastLoaded.p99Ms());
        for (double share : latency.share()) {
            assertThat(share).isBetween(0.30, 0.37);
        }
    }
}
