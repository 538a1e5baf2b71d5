package io.vllmrouter.examples.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The benchmark's requests: open-loop Poisson arrivals and a seeded mix of prompt and output lengths.
 *
 * <ul>
 *   <li>prompt tokens: 70 % uniform 50..500, 30 % uniform 1000..3000 (mean {@value #MEAN_PROMPT_TOKENS});</li>
 *   <li>output tokens: 60 % uniform 20..200, 40 % uniform 200..600 (mean {@value #MEAN_OUTPUT_TOKENS}).</li>
 * </ul>
 */
public final class Workload {

    public static final double MEAN_PROMPT_TOKENS = 0.7 * (50 + 500) / 2.0 + 0.3 * (1000 + 3000) / 2.0;
    public static final double MEAN_OUTPUT_TOKENS = 0.6 * (20 + 200) / 2.0 + 0.4 * (200 + 600) / 2.0;

    /**
     * One request: when it arrives (simulated ms), its lengths, and optionally its prompt as chained
     * block hashes (one per {@link io.vllmrouter.examples.sim.BatchEngine#BLOCK_SIZE} tokens, see
     * {@link ChatWorkload}) with a session key.
     *
     * @param blocks  the prompt's block hashes, used by the servers' prefix caches and shown to the
     *                strategy as its 64-character blocks; null when the prompt has no modelled text
     * @param session the conversation's affinity key, or null
     */
    public record Request(int id, double arrivalMs, int promptTokens, int outputTokens, long[] blocks, String session) {

        /** Without modelled prompt text. */
        public Request(int id, double arrivalMs, int promptTokens, int outputTokens) {
            this(id, arrivalMs, promptTokens, outputTokens, null, null);
        }
    }

    private Workload() {
    }

    /** Arrivals at {@code ratePerSecond} over {@code durationMs}, the same list for the same arguments. */
    public static List<Request> generate(double ratePerSecond, double durationMs, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Request> out = new ArrayList<>();
        double t = 0;
        int id = 0;
        while (true) {
            t += -Math.log(1 - random.nextDouble()) / ratePerSecond * 1000;
            if (t >= durationMs) {
                return out;
            }
            int prompt = random.nextDouble() < 0.7 ? random.nextInt(50, 501) : random.nextInt(1000, 3001);
            int output = random.nextDouble() < 0.6 ? random.nextInt(20, 201) : random.nextInt(200, 601);
            out.add(new Request(id++, t, prompt, output));
        }
    }
}
