package io.vllmrouter.examples.bench;

import io.vllmrouter.core.metrics.LoadMetrics;
import io.vllmrouter.core.metrics.MetricsFormatException;
import io.vllmrouter.core.metrics.PrometheusParser;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
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
 * Parsing one vLLM V1 {@code /metrics} page (the data-parallel fixture, about 10 KB, copied into
 * the benchmark jar from {@code shared/fixtures/metrics/vllm-v1-dp2.txt}). Target: under 50 µs.
 * Setup checks the parser reads the figures the fixture states, so a wrong parser cannot look fast.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class MetricsParseBenchmark {

    static final String FIXTURE = "/jmh-fixtures/vllm-v1-dp2.txt";

    private String page;

    @Setup
    public void setup() throws MetricsFormatException {
        try (InputStream in = MetricsParseBenchmark.class.getResourceAsStream(FIXTURE)) {
            if (in == null) {
                throw new IllegalStateException(FIXTURE + " is not in the benchmark jar");
            }
            page = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        LoadMetrics m = PrometheusParser.parseLoad(page);
        if (m.running() != 7 || m.waiting() != 5 || m.kvCacheUsage() != 0.3125) {
            throw new IllegalStateException("parser read " + m + " (expected: running 7, waiting 5, kvCacheUsage 0.3125)");
        }
    }

    @Benchmark
    public LoadMetrics parseV1() throws MetricsFormatException {
        return PrometheusParser.parseLoad(page);
    }
}
