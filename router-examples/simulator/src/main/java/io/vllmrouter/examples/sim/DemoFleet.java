package io.vllmrouter.examples.sim;

import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A small mixed fleet of {@link SimulatedVllm}s on free 127.0.0.1 ports, for {@code vllm-router demo}:
 * a slow server with 3 slots, a fast one with 5 that also serves a second model, a medium one with 4.
 *
 * <pre>{@code
 * try (DemoFleet fleet = DemoFleet.start(42)) {
 *     for (DemoFleet.Server s : fleet.servers()) {
 *         servers.add(new ServerConfig(s.url(), s.capacity(), s.models(), null));
 *     }
 * }
 * }</pre>
 *
 * <p>{@link #SPECS} is also the fleet of the routing-quality benchmark, so both show the same machines.
 */
public final class DemoFleet implements AutoCloseable {

    /** The model every demo server serves. */
    public static final String MODEL = "demo-llama-8b";
    /** The second model, served by the fast server only. */
    public static final String SECOND_MODEL = "demo-qwen-0.5b";

    /**
     * One simulated machine: its batch slots ({@code max_num_seqs}, also the capacity given to the
     * router) and its timing.
     */
    public record Spec(String name, int maxNumSeqs, ServiceModel serviceModel, List<String> models) {
        public Spec {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(serviceModel, "serviceModel");
            models = List.copyOf(models);
        }
    }

    /** The demo fleet: capacities 3, 5 and 4 at clearly different speeds. */
    public static final List<Spec> SPECS = List.of(
            new Spec("slow", 3, new ServiceModel(60, 0.12, 30, 0.05), List.of(MODEL)),
            new Spec("fast", 5, new ServiceModel(25, 0.05, 12, 0.05), List.of(MODEL, SECOND_MODEL)),
            new Spec("medium", 4, new ServiceModel(40, 0.08, 20, 0.05), List.of(MODEL)));

    /** One running demo server as the router should be configured for it. */
    public record Server(String name, URI url, int capacity, List<String> models) {
    }

    private final List<SimulatedVllm> sims;
    private final List<Server> servers;

    private DemoFleet(List<SimulatedVllm> sims) {
        this.sims = List.copyOf(sims);
        List<Server> list = new ArrayList<>();
        for (int i = 0; i < sims.size(); i++) {
            SimulatedVllm s = sims.get(i);
            list.add(new Server(SPECS.get(i).name(), s.baseUrl(), s.config().maxNumSeqs(), s.config().models()));
        }
        this.servers = List.copyOf(list);
    }

    /** Starts the fleet in real time. */
    public static DemoFleet start(long seed) throws IOException {
        return start(seed, 1.0);
    }

    /** Starts the fleet; {@code timeScale} > 1 runs it faster than real time (tests). */
    public static DemoFleet start(long seed, double timeScale) throws IOException {
        List<SimulatedVllm> started = new ArrayList<>();
        try {
            for (int i = 0; i < SPECS.size(); i++) {
                Spec spec = SPECS.get(i);
                started.add(SimulatedVllm.start(SimConfig.builder()
                        .models(spec.models())
                        .maxNumSeqs(spec.maxNumSeqs())
                        .serviceModel(spec.serviceModel())
                        .defaultOutputTokens(128)
                        .prefixCache(true)
                        .seed(seed + i)
                        .timeScale(timeScale)
                        .build()));
            }
        } catch (IOException | RuntimeException e) {
            started.forEach(SimulatedVllm::close);
            throw e;
        }
        return new DemoFleet(started);
    }

    /** The servers in {@link #SPECS} order. */
    public List<Server> servers() {
        return servers;
    }

    /** The simulators themselves, e.g. to inject faults during a demo. */
    public List<SimulatedVllm> simulators() {
        return sims;
    }

    @Override
    public void close() {
        sims.forEach(SimulatedVllm::close);
    }
}
