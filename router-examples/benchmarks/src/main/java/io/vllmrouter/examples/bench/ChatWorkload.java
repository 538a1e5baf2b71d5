package io.vllmrouter.examples.bench;

import io.vllmrouter.api.spi.PromptBlocks;
import io.vllmrouter.examples.sim.BatchEngine;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Chat-shaped requests for the cache benchmark, with their prompts as chained block hashes.
 *
 * <p>A prompt is a sequence of segments (a system prompt, then user messages and assistant answers),
 * each known by an id and a length in tokens; block {@code i} (tokens {@code [16 i, 16 i + 16)})
 * is hashed from the segments and offsets it covers and the hash of block {@code i - 1}, as
 * {@link PromptBlocks} hashes text. Two prompts thus share leading block hashes exactly as far as
 * they share leading text, without building the text.
 *
 * <ul>
 *   <li>{@link #conversations}: multi-turn conversations over a set of shared system prompts. Each
 *       conversation starts at a Poisson arrival, picks a system prompt at random, and has
 *       {@code minTurns..maxTurns} turns; turn {@code k} resends the system prompt, every earlier
 *       user message and assistant answer, and a new user message. Turns are spaced by a think time
 *       (open loop: the next turn's arrival does not wait for the answer).</li>
 *   <li>{@link #unique}: the routing-quality benchmark's requests ({@link Workload}), each with a
 *       prompt shared with no other.</li>
 * </ul>
 */
public final class ChatWorkload {

    private static final int BLOCK = BatchEngine.BLOCK_SIZE;

    /**
     * The shape of the conversations.
     *
     * @param systemPrompts  shared system prompts
     * @param systemTokens   tokens of each system prompt
     * @param minTurns       turns per conversation, at least
     * @param maxTurns       turns per conversation, at most
     * @param userMin        tokens per user message, at least (uniform)
     * @param userMax        tokens per user message, at most
     * @param outputMin      tokens per answer, at least (uniform)
     * @param outputMax      tokens per answer, at most
     * @param thinkMinMs     time between turns, at least (uniform)
     * @param thinkMaxMs     time between turns, at most
     */
    public record Shape(int systemPrompts, int systemTokens, int minTurns, int maxTurns, int userMin, int userMax,
                        int outputMin, int outputMax, double thinkMinMs, double thinkMaxMs) {

        public double meanTurns() {
            return (minTurns + maxTurns) / 2.0;
        }

        public double meanOutputTokens() {
            return (outputMin + outputMax) / 2.0;
        }

        /** Mean prompt tokens over all turns of all conversations. */
        public double meanPromptTokens() {
            double user = (userMin + userMax) / 2.0;
            double sum = 0;
            int count = 0;
            for (int turns = minTurns; turns <= maxTurns; turns++) {
                for (int k = 0; k < turns; k++) {
                    sum += systemTokens + k * (user + meanOutputTokens()) + user;
                    count++;
                }
            }
            return sum / count;
        }
    }

    private ChatWorkload() {
    }

    /**
     * One turn: the request, and its prompt as segments {@code {id, tokens, role}} (role 0 system,
     * 1 user, 2 assistant), from which {@link #segmentText} makes the text a live run sends.
     */
    public record Turn(Workload.Request request, List<long[]> segments) {
    }

    /** Conversations whose turns arrive at {@code requestsPerSecond} on average over {@code durationMs}. */
    public static List<Workload.Request> conversations(Shape shape, double requestsPerSecond, double durationMs, long seed) {
        List<Turn> turns = turns(shape, requestsPerSecond, durationMs, seed);
        List<Workload.Request> out = new ArrayList<>(turns.size());
        for (Turn t : turns) {
            out.add(t.request());
        }
        return out;
    }

    /** {@link #conversations}, with each turn's segments; ordered by arrival, ids 0, 1, 2, ... */
    public static List<Turn> turns(Shape shape, double requestsPerSecond, double durationMs, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        double conversationsPerSecond = requestsPerSecond / shape.meanTurns();
        List<Turn> out = new ArrayList<>();
        double t = 0;
        int conversation = 0;
        while (true) {
            t += -Math.log(1 - random.nextDouble()) / conversationsPerSecond * 1000;
            if (t >= durationMs) {
                break;
            }
            conversation++;
            int system = random.nextInt(shape.systemPrompts());
            int turns = random.nextInt(shape.minTurns(), shape.maxTurns() + 1);
            List<long[]> segments = new ArrayList<>();
            segments.add(new long[] {segmentId(0, system, 0), shape.systemTokens(), 0});
            double at = t;
            for (int k = 0; k < turns && at < durationMs; k++) {
                int user = random.nextInt(shape.userMin(), shape.userMax() + 1);
                int output = random.nextInt(shape.outputMin(), shape.outputMax() + 1);
                segments.add(new long[] {segmentId(1, conversation, k), user, 1});
                long[] blocks = blocks(segments);
                int prompt = tokens(segments);
                out.add(new Turn(new Workload.Request(0, at, prompt, output, blocks, "conversation-" + conversation),
                        List.copyOf(segments)));
                segments.add(new long[] {segmentId(2, conversation, k), output, 2});
                at += random.nextDouble(shape.thinkMinMs(), shape.thinkMaxMs());
            }
        }
        return renumber(out);
    }

    /** {@link Workload#generate}'s requests, each with a prompt of its own (no prefix shared with any other). */
    public static List<Workload.Request> unique(double requestsPerSecond, double durationMs, long seed) {
        List<Workload.Request> plain = Workload.generate(requestsPerSecond, durationMs, seed);
        List<Workload.Request> out = new ArrayList<>(plain.size());
        for (Workload.Request r : plain) {
            List<long[]> one = List.<long[]>of(new long[] {segmentId(3, r.id(), (int) seed), r.promptTokens()});
            out.add(new Workload.Request(r.id(), r.arrivalMs(), r.promptTokens(), r.outputTokens(), blocks(one), null));
        }
        return out;
    }

    private static List<Turn> renumber(List<Turn> ts) {
        ts.sort(Comparator.comparingDouble(t -> t.request().arrivalMs()));
        List<Turn> out = new ArrayList<>(ts.size());
        for (int i = 0; i < ts.size(); i++) {
            Workload.Request r = ts.get(i).request();
            out.add(new Turn(new Workload.Request(i, r.arrivalMs(), r.promptTokens(), r.outputTokens(), r.blocks(), r.session()),
                    ts.get(i).segments()));
        }
        return out;
    }

    /** Which of the shape's system prompts (0 .. systemPrompts - 1) a turn's prompt starts with. */
    public static int systemPrompt(Shape shape, Turn turn) {
        long id = turn.segments().get(0)[0];
        for (int s = 0; s < shape.systemPrompts(); s++) {
            if (segmentId(0, s, 0) == id) {
                return s;
            }
        }
        throw new IllegalArgumentException("turn " + turn.request().id() + " starts with no system prompt of the shape");
    }

    /** Role names of segments, by their third field. */
    public static final List<String> ROLES = List.of("system", "user", "assistant");

    /**
     * The text of a segment: {@code 4 * tokens} characters (the simulator counts 4 characters per
     * token), words drawn from a generator seeded with the segment's id, so the same segment is
     * always the same text and different segments differ from their first characters.
     */
    public static String segmentText(long id, int tokens) {
        SplittableRandom r = new SplittableRandom(id);
        int chars = 4 * tokens;
        StringBuilder b = new StringBuilder(chars);
        while (b.length() < chars) {
            int word = r.nextInt(2, 9);
            for (int i = 0; i < word && b.length() < chars; i++) {
                b.append((char) ('a' + r.nextInt(26)));
            }
            if (b.length() < chars) {
                b.append(' ');
            }
        }
        return b.toString();
    }

    private static long segmentId(int kind, int owner, int index) {
        return PromptBlocks.mix(((long) kind << 56) ^ ((long) owner << 20) ^ index ^ 0x5DEECE66DL);
    }

    private static int tokens(List<long[]> segments) {
        long n = 0;
        for (long[] s : segments) {
            n += s[1];
        }
        return (int) n;
    }

    /** Chained hashes of the whole blocks of a prompt made of {@code segments} ({id, tokens}). */
    static long[] blocks(List<long[]> segments) {
        int n = tokens(segments) / BLOCK;
        long[] out = new long[n];
        long h = PromptBlocks.seed("bench");
        int seg = 0;
        long off = 0;
        for (int i = 0; i < n; i++) {
            long x = h;
            int need = BLOCK;
            while (need > 0) {
                long[] s = segments.get(seg);
                long take = Math.min(need, s[1] - off);
                x = PromptBlocks.mix(x ^ s[0] ^ (off * 0x9E3779B97F4A7C15L) ^ (take << 48));
                off += take;
                need -= (int) take;
                if (off == s[1]) {
                    seg++;
                    off = 0;
                }
            }
            h = PromptBlocks.mix(x + i);
            out[i] = h;
        }
        return out;
    }
}
