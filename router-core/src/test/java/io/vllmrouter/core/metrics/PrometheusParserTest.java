package io.vllmrouter.core.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.CharBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class PrometheusParserTest {

    private static LoadMetrics parse(String text) throws MetricsFormatException {
        return PrometheusParser.parseLoad(text);
    }

    private static void assertFigures(LoadMetrics m, double running, double waiting, double usage, double maxFds) {
        assertExactly("running", m.running(), running);
        assertExactly("waiting", m.waiting(), waiting);
        assertExactly("kvCacheUsage", m.kvCacheUsage(), usage);
        assertExactly("maxFds", m.maxFds(), maxFds);
    }

    /** Same double, NaN included (AssertJ's primitive comparison never matches NaN). */
    private static void assertExactly(String what, double actual, double expected) {
        if (Double.compare(actual, expected) != 0) {
            throw new AssertionError(what + ": expected " + expected + " but was " + actual);
        }
    }

    @Nested
    class SharedFixtures {

        /** The README's figures for every sample file, and every sample file has figures there. */
        @TestFactory
        Stream<DynamicTest> everySampleGivesTheReadmeFigures() {
            Map<String, MetricsFixtures.Expected> expected = MetricsFixtures.readmeFigures();
            return MetricsFixtures.samples().stream().map(file -> DynamicTest.dynamicTest(
                    file.getFileName().toString(), () -> {
                        String name = file.getFileName().toString();
                        assertThat(expected).as("README.md row for " + name).containsKey(name);
                        MetricsFixtures.Expected e = expected.get(name);
                        LoadMetrics m = PrometheusParser.parseLoad(MetricsFixtures.read(file));
                        assertThat(m.running()).as(name + " running").isEqualTo(e.running());
                        assertThat(m.waiting()).as(name + " waiting").isEqualTo(e.waiting());
                        assertThat(m.kvCacheUsage()).as(name + " usage").isCloseTo(e.usage(), within(1e-12));
                        assertThat(m.cacheTokens()).as(name + " cache tokens").isEqualTo(e.cacheTokens());
                        assertThat(m.sleepState().asleep()).as(name + " asleep").isEqualTo(!e.awake());
                        assertThat(m.hasLoad()).isTrue();
                    }));
        }

        @Test
        void readmeNamesTheKnownSamples() {
            assertThat(MetricsFixtures.readmeFigures()).containsKeys("vllm-v0.txt", "vllm-v1-dp2.txt", "vllm-v1-dp4.txt",
                    "vllm-v1-sleeping.txt", "vllm-v1-hybrid.txt", "sglang.txt");
        }

        @Test
        void maxFdsWherePresent() throws Exception {
            assertThat(PrometheusParser.parseLoad(MetricsFixtures.read("vllm-v0.txt")).maxFds()).isEqualTo(1048576.0);
            assertThat(PrometheusParser.parseLoad(MetricsFixtures.read("vllm-v1-dp2.txt")).maxFds()).isEqualTo(65535.0);
            assertThat(PrometheusParser.parseLoad(MetricsFixtures.read("sglang.txt")).maxFds()).isNaN();
        }

        @Test
        void v1WithDataParallelSumsEnginesAndAveragesUsage() throws Exception {
            assertFigures(PrometheusParser.parseLoad(MetricsFixtures.read("vllm-v1-dp2.txt")), 7, 5, 0.3125, 65535);
        }

        /** CRLF line ends and a non-String CharSequence give the same figures as the file itself. */
        @TestFactory
        Stream<DynamicTest> crlfAndOtherCharSequencesGiveTheSameFigures() {
            return MetricsFixtures.samples().stream().map(file -> DynamicTest.dynamicTest(
                    file.getFileName().toString(), () -> {
                        String text = MetricsFixtures.read(file);
                        LoadMetrics plain = PrometheusParser.parseLoad(text);
                        assertThat(PrometheusParser.parseLoad(text.replace("\n", "\r\n"))).isEqualTo(plain);
                        assertThat(PrometheusParser.parseLoad(new StringBuilder(text))).isEqualTo(plain);
                        assertThat(PrometheusParser.parseLoad(CharBuffer.wrap(text))).isEqualTo(plain);
                        assertThat(PrometheusParser.parseLoad(text.strip())).as("without final newline")
                                .isEqualTo(plain);
                    }));
        }
    }

    /** The latency histograms' sums and counts ({@link LatencyCounters}), the speed estimate's input. */
    @Nested
    class Latency {

        @Test
        void v011HistogramsAreSummedOverEngines() throws Exception {
            // fixtures/metrics/latency/README.md gives the figures.
            LoadMetrics m = PrometheusParser.parseLoad(MetricsFixtures.read("latency/vllm-v0.11-dp2-scrape2.txt"));
            assertFigures(m, 8, 3, 0.375, 1048576);
            LatencyCounters c = m.latency();
            assertThat(c.tokenGapSeconds()).isCloseTo(33.0, within(1e-12));
            assertThat(c.tokenGaps()).isEqualTo(2200);
            assertThat(c.prefillSeconds()).isCloseTo(11.1, within(1e-12));
            assertThat(c.prefills()).isEqualTo(97);
            assertThat(c.promptTokens()).isEqualTo(49200);
            assertThat(c.outputTokens()).isEqualTo(12416);
            assertThat(c.finished()).isEqualTo(97);
        }

        @Test
        void theOlderNameOfTheTokenGapHistogramIsReadWhenTheNewOneIsAbsent() throws Exception {
            String v010 = """
                    vllm:num_requests_running{engine="0",model_name="m"} 1.0
                    vllm:time_per_output_token_seconds_count{engine="0",model_name="m"} 40.0
                    vllm:time_per_output_token_seconds_sum{engine="0",model_name="m"} 0.8
                    """;
            LatencyCounters c = PrometheusParser.parseLoad(v010).latency();
            assertThat(c.tokenGaps()).isEqualTo(40);
            assertThat(c.tokenGapSeconds()).isEqualTo(0.8);
            // With both (vLLM 0.11 with --show-hidden-metrics-for-version), the new name wins.
            String both = v010 + """
                    vllm:inter_token_latency_seconds_count{engine="0",model_name="m"} 50.0
                    vllm:inter_token_latency_seconds_sum{engine="0",model_name="m"} 1.5
                    """;
            assertThat(PrometheusParser.parseLoad(both).latency().tokenGaps()).isEqualTo(50);
        }

        @Test
        void sglangsInterTokenLatencyIsRead() throws Exception {
            String page = """
                    sglang:num_running_reqs{tp_rank="0"} 3
                    sglang:inter_token_latency_seconds_sum{tp_rank="0"} 2.5
                    sglang:inter_token_latency_seconds_count{tp_rank="0"} 100
                    """;
            LatencyCounters c = PrometheusParser.parseLoad(page).latency();
            assertThat(c.tokenGapSeconds() / c.tokenGaps()).isEqualTo(0.025);
        }

        @Test
        void aPageWithoutHistogramsHasNoLatencyFigures() throws Exception {
            LatencyCounters c = PrometheusParser.parseLoad(MetricsFixtures.read("vllm-v0.txt")).latency();
            assertThat(c.tokenGaps()).isNaN();
            assertThat(c.prefills()).isNaN();
            assertThat(c.finished()).isNaN();
            assertThat(PrometheusParser.parseLoad("vllm:num_requests_running 1\n").latency()).isEqualTo(LatencyCounters.NONE);
        }

        @Test
        void aRepeatedSeriesOfAHistogramReadHereIsRefused() {
            String page = """
                    vllm:inter_token_latency_seconds_sum{engine="0",model_name="m"} 1.5
                    vllm:inter_token_latency_seconds_sum{model_name="m",engine="0"} 1.5
                    """;
            assertThatThrownBy(() -> PrometheusParser.parseLoad(page)).isInstanceOf(MetricsFormatException.class)
                    .hasMessageContaining("duplicate series");
        }
    }

    @Nested
    class Syntax {

        @Test
        void helpTextMayContainAnything() throws Exception {
            String text = """
                    # HELP vllm:num_requests_running Running {engine="0"} "quoted" \\ \\x back = , } and vllm:num_requests_running 99
                    # TYPE vllm:num_requests_running gauge
                    # a plain comment vllm:num_requests_running 42
                    #vllm:num_requests_waiting 8
                    #
                    # HELP
                    vllm:num_requests_running 3
                    """;
            assertFigures(parse(text), 3, Double.NaN, Double.NaN, Double.NaN);
        }

        @Test
        void escapedQuoteBackslashAndNewlineInLabelValues() throws Exception {
            String text = """
                    vllm:num_requests_running{model_name="a \\"quoted\\" name",engine="0"} 1
                    vllm:num_requests_running{model_name="back\\\\slash\\\\",engine="1"} 2
                    vllm:num_requests_running{model_name="two\\nlines",engine="2"} 4
                    vllm:num_requests_running{model_name="ends in escaped quote\\"",engine="3"} 8
                    """;
            assertThat(parse(text).running()).isEqualTo(15);
        }

        @Test
        void labelValuesContainingCommaBraceAndEquals() throws Exception {
            String text = """
                    vllm:num_requests_waiting{model_name="a,b}c=d{",engine="0"} 2
                    vllm:num_requests_waiting{model_name="} 1000",engine="1"} 3
                    vllm:num_requests_waiting{x="vllm:num_requests_waiting{} 5",engine="2"} 4
                    """;
            assertThat(parse(text).waiting()).isEqualTo(9);
        }

        @Test
        void labelSetLayout() throws Exception {
            String text = "vllm:num_requests_running{} 1\n"
                    + "vllm:num_requests_running{engine=\"1\",} 2\n"
                    + "vllm:num_requests_running { engine = \"2\" , model_name=\"m\" } 4\n"
                    + "vllm:num_requests_running\t{engine=\"3\"}\t8\n"
                    + "vllm:num_requests_running{engine=\"4\"}16\n"
                    + "vllm:num_requests_running{engine=\"\"} 32\n";
            assertThat(parse(text).running()).isEqualTo(63);
        }

        @Test
        void specialValues() throws Exception {
            assertFigures(parse("vllm:num_requests_running +Inf\nvllm:num_requests_waiting -Inf\n"),
                    Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.NaN, Double.NaN);
            assertFigures(parse("vllm:num_requests_running Inf\nvllm:num_requests_waiting +infinity\n"),
                    Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY, Double.NaN, Double.NaN);
            assertThat(parse("vllm:num_requests_running NaN\n").running()).isNaN();
            assertThat(parse("vllm:num_requests_running nan\n").running()).isNaN();
        }

        @Test
        void nanSamplesAreLeftOutOfSumsAndMeans() throws Exception {
            String text = """
                    vllm:num_requests_running{engine="0"} NaN
                    vllm:num_requests_running{engine="1"} 4
                    vllm:kv_cache_usage_perc{engine="0"} NaN
                    vllm:kv_cache_usage_perc{engine="1"} 0.5
                    vllm:kv_cache_usage_perc{engine="2"} 0.25
                    """;
            LoadMetrics m = parse(text);
            assertThat(m.running()).isEqualTo(4);
            assertThat(m.kvCacheUsage()).isEqualTo(0.375);
        }

        @Test
        void exponentsAndDecimalForms() throws Exception {
            assertThat(parse("vllm:kv_cache_usage_perc 3.75e-01\n").kvCacheUsage()).isEqualTo(0.375);
            assertThat(parse("process_max_fds 1.7600142134567e+09\n").maxFds()).isEqualTo(1.7600142134567e+09);
            assertThat(parse("process_max_fds 6.5535E4\n").maxFds()).isEqualTo(65535);
            assertThat(parse("vllm:num_requests_running 5.\n").running()).isEqualTo(5);
            assertThat(parse("vllm:num_requests_running .5\n").running()).isEqualTo(0.5);
            assertThat(parse("vllm:num_requests_running +2\n").running()).isEqualTo(2);
            assertExactly("-0.0", parse("vllm:num_requests_running -0.0\n").running(), -0.0);
            assertThat(parse("vllm:num_requests_running 0.007507552643049313\n").running())
                    .isEqualTo(0.007507552643049313);
            assertThat(parse("vllm:num_requests_running 1e400\n").running()).isEqualTo(Double.POSITIVE_INFINITY);
            assertThat(parse("vllm:num_requests_running 00012.50e-0001\n").running()).isEqualTo(1.25);
        }

        /** The allocation-free fast path and the fallback agree with the JDK to the last bit. */
        @Test
        void numbersMatchDoubleParseDoubleExactly() throws Exception {
            Random random = new Random(20_250_101L);
            for (int i = 0; i < 20_000; i++) {
                String text = randomDecimal(random);
                double expected = Double.parseDouble(text);
                double actual = parse("vllm:num_requests_running " + text + "\n").running();
                assertThat(Double.doubleToRawLongBits(actual)).as(text + " -> " + actual + " expected " + expected)
                        .isEqualTo(Double.doubleToRawLongBits(expected));
            }
        }

        private String randomDecimal(Random random) {
            StringBuilder digits = new StringBuilder();
            int n = 1 + random.nextInt(random.nextBoolean() ? 15 : 22);
            for (int d = 0; d < n; d++) {
                digits.append((char) ('0' + random.nextInt(10)));
            }
            if (random.nextBoolean()) {
                digits.insert(random.nextInt(digits.length() + 1), '.');
                if (digits.length() == 1) {
                    digits.append('0');
                }
            }
            if (random.nextInt(4) == 0) {
                digits.insert(0, random.nextBoolean() ? '-' : '+');
            }
            if (random.nextBoolean()) {
                digits.append(random.nextBoolean() ? 'e' : 'E');
                int exp = random.nextInt(70) - 35;
                digits.append(exp >= 0 && random.nextBoolean() ? "+" : "").append(exp);
            }
            return digits.toString();
        }

        @Test
        void timestampsAfterTheValueAreAccepted() throws Exception {
            String text = """
                    vllm:num_requests_running{engine="0"} 3 1700000000000
                    vllm:num_requests_running{engine="1"} 4 -5
                    vllm:num_requests_waiting 2\t1700000000000\t
                    """;
            assertFigures(parse(text), 7, 2, Double.NaN, Double.NaN);
        }

        @Test
        void crlfBlankLinesAndLeadingBlanks() throws Exception {
            String text = "\r\n# TYPE vllm:num_requests_running gauge\r\n\r\n   \r\n\t\r\n"
                    + "  vllm:num_requests_running 3 \r\n\nvllm:num_requests_waiting{engine=\"0\"} 1\r\n";
            assertFigures(parse(text), 3, 1, Double.NaN, Double.NaN);
        }

        @Test
        void emptyPagesAndPagesWithoutTheFiguresGiveNaN() throws Exception {
            for (String text : new String[] {"", "\n", "# just a comment\n", "go_goroutines 12\nup 1"}) {
                LoadMetrics m = parse(text);
                assertFigures(m, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
                assertThat(m.hasLoad()).isFalse();
            }
        }

        @Test
        void wholeNamesOnlyNeverPrefixes() throws Exception {
            String text = """
                    vllm:num_requests_running_created 1.7600142134567e+09
                    vllm:num_requests_runningx 100
                    vllm:num_requests_runnin 100
                    xvllm:num_requests_running 100
                    vllm:num_requests_waiting_total 100
                    vllm:num_requests_waiting:sum 100
                    vllm:kv_cache_usage_perc_max 0.9
                    sglang:num_running_reqs_total 100
                    process_max_fds_limit 7
                    vllm:num_requests_running 2
                    """;
            assertFigures(parse(text), 2, Double.NaN, Double.NaN, Double.NaN);
        }

        @Test
        void sglangRanksAreSummedAndUsageAveraged() throws Exception {
            String text = """
                    sglang:num_running_reqs{model_name="m",tp_rank="0",dp_rank="0"} 10
                    sglang:num_running_reqs{model_name="m",tp_rank="0",dp_rank="1"} 20
                    sglang:num_queue_reqs{model_name="m",tp_rank="0",dp_rank="0"} 1
                    sglang:num_queue_reqs{model_name="m",tp_rank="0",dp_rank="1"} 2
                    sglang:token_usage{model_name="m",tp_rank="0",dp_rank="0"} 0.5
                    sglang:token_usage{model_name="m",tp_rank="0",dp_rank="1"} 0.25
                    """;
            assertFigures(parse(text), 30, 3, 0.375, Double.NaN);
        }

        @Test
        void anyLabelSetIsASeparateSeries() throws Exception {
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < 500; i++) {
                text.append("vllm:num_requests_waiting{engine=\"").append(i).append("\",pod=\"p").append(i % 7)
                        .append("\"} 1\n");
            }
            assertThat(parse(text.toString()).waiting()).isEqualTo(500);
        }

        @Test
        void kvCacheUsageIsPreferredOverTheV0Name() throws Exception {
            String both = """
                    vllm:gpu_cache_usage_perc{engine="0"} 0.9
                    vllm:kv_cache_usage_perc{engine="0"} 0.1
                    vllm:gpu_cache_usage_perc{engine="1"} 0.9
                    vllm:kv_cache_usage_perc{engine="1"} 0.2
                    """;
            assertThat(parse(both).kvCacheUsage()).isCloseTo(0.15, within(1e-15));
            assertThat(parse("vllm:gpu_cache_usage_perc{model_name=\"m\"} 0.9\n").kvCacheUsage()).isEqualTo(0.9);
            assertThat(parse("vllm:kv_cache_usage_perc NaN\nvllm:gpu_cache_usage_perc 0.4\n").kvCacheUsage())
                    .as("a family with no number gives way to the next").isEqualTo(0.4);
        }

        @Test
        void vllmNamesWinOverSglangNamesOnTheSamePage() throws Exception {
            String text = """
                    sglang:num_running_reqs 100
                    vllm:num_requests_running 1
                    sglang:num_queue_reqs 100
                    sglang:token_usage 0.9
                    """;
            assertFigures(parse(text), 1, 100, 0.9, Double.NaN);
        }

        @Test
        void maxFdsOverSeveralSeriesIsTheSmallest() throws Exception {
            assertThat(parse("process_max_fds{pid=\"1\"} 4096\nprocess_max_fds{pid=\"2\"} 1024\n").maxFds())
                    .isEqualTo(1024);
        }

        @Test
        void typeLinesAcceptEveryType() throws Exception {
            for (String type : new String[] {"counter", "gauge", "histogram", "summary", "untyped"}) {
                assertThat(parse("# TYPE foo " + type + "\nvllm:num_requests_running 1\n").running()).isEqualTo(1);
            }
            assertThat(parse("# TYPE  vllm:num_requests_running \t gauge \t\n").running()).isNaN();
        }
    }

    @Nested
    class Malformed {

        static Stream<Arguments> cases() {
            return Stream.of(
                    // text, line, what the message must say
                    Arguments.of("vllm:num_requests_running{engine=\"0} 3\n", 1, "unterminated quote"),
                    Arguments.of("# ok\nfoo{engine=\"0\",model=\"x} 1\n", 2, "unterminated quote"),
                    Arguments.of("foo{a=\"x\\\"} 1\n", 1, "unterminated quote"),
                    Arguments.of("foo{a=\"x\\", 1, "lone backslash"),
                    Arguments.of("foo{engine=0} 1\n", 1, "expected '\"'"),
                    Arguments.of("foo{engine} 1\n", 1, "expected '='"),
                    Arguments.of("foo{engine=\"0\" model=\"x\"} 1\n", 1, "expected ',' or '}'"),
                    Arguments.of("foo{0a=\"x\"} 1\n", 1, "expected a label name"),
                    Arguments.of("foo{,} 1\n", 1, "expected a label name"),
                    Arguments.of("foo{a=\"b\"", 1, "unterminated label set"),
                    Arguments.of("foo{a=\"b\",", 1, "unterminated label set"),
                    Arguments.of("foo{a=\"\\t\"} 1\n", 1, "invalid escape sequence \\t"),
                    Arguments.of("\n\n\nfoo 1.2.3\n", 4, "invalid value '1.2.3'"),
                    Arguments.of("foo abc\n", 1, "invalid value 'abc'"),
                    Arguments.of("foo 0x10\n", 1, "invalid value"),
                    Arguments.of("foo 1d\n", 1, "invalid value"),
                    Arguments.of("foo 1e\n", 1, "invalid value"),
                    Arguments.of("foo 1e+\n", 1, "invalid value"),
                    Arguments.of("foo .\n", 1, "invalid value"),
                    Arguments.of("foo -\n", 1, "invalid value"),
                    Arguments.of("foo +NaN\n", 1, "invalid value"),
                    Arguments.of("foo Infinit\n", 1, "invalid value"),
                    Arguments.of("foo 1,5\n", 1, "invalid value"),
                    Arguments.of("foo\n", 1, "missing value"),
                    Arguments.of("foo{a=\"b\"}\n", 1, "missing value"),
                    Arguments.of("foo 1 2 3\n", 1, "unexpected text after the timestamp"),
                    Arguments.of("foo 1 12a\n", 1, "invalid timestamp"),
                    Arguments.of("foo 1 1.5\n", 1, "invalid timestamp"),
                    Arguments.of("foo 1 99999999999999999999\n", 1, "invalid timestamp"),
                    Arguments.of("foo 1 -\n", 1, "invalid timestamp"),
                    Arguments.of("1foo 2\n", 1, "expected a metric name"),
                    Arguments.of("{a=\"b\"} 2\n", 1, "expected a metric name"),
                    Arguments.of("foo-bar 1\n", 1, "invalid character '-' in metric name foo"),
                    Arguments.of("foo.bar 1\n", 1, "invalid character '.'"),
                    Arguments.of("# TYPE foo gaug\n", 1, "unknown metric type 'gaug'"),
                    Arguments.of("# TYPE foo gauge extra\n", 1, "unknown metric type"),
                    Arguments.of("# TYPE foo\n", 1, "missing metric type"),
                    Arguments.of("# HELP 9foo help\n", 1, "invalid metric name in # HELP"),
                    Arguments.of("# TYPE foo-bar gauge\n", 1, "invalid character '-'"),
                    Arguments.of("a 1\r\nb 2\r\nc{x=\"y} 3\r\n", 3, "unterminated quote"),
                    Arguments.of("vllm:num_requests_running 1\rvllm:num_requests_waiting 2\n", 1, "invalid value"),
                    Arguments.of("vllm:num_requests_running{engine=\"0\"} 1\n"
                            + "vllm:num_requests_running{engine=\"0\"} 2\n", 2, "duplicate series"),
                    Arguments.of("vllm:kv_cache_usage_perc{a=\"1\",b=\"2\"} 0.1\n"
                            + "vllm:kv_cache_usage_perc{b=\"2\",a=\"1\"} 0.2\n", 2, "same name and labels as line 1"),
                    Arguments.of("process_max_fds 1\nprocess_max_fds{} 2\n", 2, "duplicate series"));
        }

        @ParameterizedTest(name = "[{index}] line {1}: {2}")
        @MethodSource("cases")
        void namesTheLineAndTheProblem(String text, int line, String problem) {
            assertThatThrownBy(() -> PrometheusParser.parseLoad(text))
                    .isInstanceOfSatisfying(MetricsFormatException.class, e -> {
                        assertThat(e.line()).as(e.getMessage()).isEqualTo(line);
                        assertThat(e.getMessage()).startsWith("line " + line + ": ").contains(problem);
                    });
        }

        @Test
        void messageHasTheColumn() {
            assertThatThrownBy(() -> PrometheusParser.parseLoad("foo{a=\"b\" c=\"d\"} 1\n"))
                    .hasMessage("line 1: expected ',' or '}' after the value of label a, found 'c' (column 11)");
        }

        @Test
        void aMalformedLineInAFamilyWeDoNotReadStillFails() {
            String good = "vllm:prompt_tokens_total{engine=\"1\",model_name=\"Qwen/Qwen3-0.6B\"} 48213.0";
            String original = MetricsFixtures.read("vllm-v1-dp2.txt");
            int line = original.substring(0, original.indexOf(good)).split("\n", -1).length;
            String text = original.replace(good, good.replace("B\"}", "B}"));
            assertThatThrownBy(() -> PrometheusParser.parseLoad(text))
                    .isInstanceOfSatisfying(MetricsFormatException.class, e -> assertThat(e.line()).isEqualTo(line))
                    .hasMessageContaining("unterminated quote");
        }

        @ParameterizedTest
        @ValueSource(strings = {"vllm:num_requests_running{engine=\"0\"} 1\nvllm:num_requests_running{engine=\"1\"} 2\n"})
        void distinctSeriesAreNotDuplicates(String text) throws Exception {
            assertThat(PrometheusParser.parseLoad(text).running()).isEqualTo(3);
        }
    }

    /** vllm:cache_config_info and vllm:engine_sleep_state, as vLLM writes them with several engines. */
    @Nested
    class EnginesAndSleep {

        @Test
        void dataParallelCacheSizeIsOneSeriesNotASum() throws Exception {
            LoadMetrics dp2 = parse(MetricsFixtures.read("vllm-v1-dp2.txt"));
            assertThat(dp2.cacheBlocks()).as("the same total under both engines, read once").isEqualTo(27528);
            assertThat(dp2.cacheBlockSize()).isEqualTo(16);
            assertThat(dp2.cacheTokens()).isEqualTo(27528L * 16);
            LoadMetrics dp4 = parse(MetricsFixtures.read("vllm-v1-dp4.txt"));
            assertThat(dp4.cacheBlocks()).isEqualTo(110112);
            assertThat(dp4.cacheTokens()).as("one engine's kv_cache_size_tokens times 4 = num_gpu_blocks x block_size")
                    .isEqualTo(4 * 440448L).isEqualTo(110112L * 16);
            assertThat(dp4.sleepState()).isEqualTo(SleepState.AWAKE);
        }

        @Test
        void hybridModelsTakeTheGroupAwareTokens() throws Exception {
            LoadMetrics m = parse(MetricsFixtures.read("vllm-v1-hybrid.txt"));
            assertThat(m.cacheBlocks() * m.cacheBlockSize()).isEqualTo(1298880);
            assertThat(m.cacheTokens()).isEqualTo(432960);
        }

        @Test
        void engineSeriesThatDisagreeGiveTheFirstOne() throws Exception {
            LoadMetrics m = parse("""
                    vllm:cache_config_info{block_size="None",engine="0",num_gpu_blocks="None"} 1.0
                    vllm:cache_config_info{block_size="32",engine="1",num_gpu_blocks="1000",kv_cache_size_tokens="None"} 1.0
                    vllm:cache_config_info{block_size="16",engine="2",num_gpu_blocks="1200"} 1.0
                    """);
            assertThat(m.cacheBlocks()).isEqualTo(1000);
            assertThat(m.cacheBlockSize()).isEqualTo(32);
            assertThat(m.cacheTokens()).isEqualTo(32000);
            assertThat(parse("vllm:cache_config_info{engine=\"0\",num_gpu_blocks=\"None\"} 1\n").cacheTokens()).isEqualTo(-1);
            assertThat(parse("vllm:cache_config_info{engine=\"0\",kv_cache_size_tokens=\"9223372036854775\"} 1\n"
                    + "vllm:cache_config_info{engine=\"1\",kv_cache_size_tokens=\"9223372036854775\"} 1\n").cacheTokens())
                    .isEqualTo(2 * 9223372036854775L);
        }

        @ParameterizedTest
        @MethodSource("sleepPages")
        void sleepStateByItsLabel(String awake, String offloaded, String discarded, SleepState expected) throws Exception {
            String page = "vllm:engine_sleep_state{engine=\"0\",sleep_state=\"awake\"} 1.0\n"
                    + "vllm:engine_sleep_state{engine=\"1\",sleep_state=\"awake\"} " + awake + "\n"
                    + "vllm:engine_sleep_state{engine=\"1\",sleep_state=\"weights_offloaded\"} " + offloaded + "\n"
                    + "vllm:engine_sleep_state{engine=\"1\",sleep_state=\"discard_all\"} " + discarded + "\n";
            assertThat(parse(page).sleepState()).isEqualTo(expected);
        }

        static Stream<Arguments> sleepPages() {
            return Stream.of(
                    Arguments.of("1.0", "0.0", "0.0", SleepState.AWAKE),
                    Arguments.of("0.0", "1.0", "0.0", SleepState.WEIGHTS_OFFLOADED),
                    Arguments.of("0.0", "0.0", "1.0", SleepState.DISCARD_ALL),
                    Arguments.of("0.0", "0.0", "0.0", SleepState.ASLEEP),
                    Arguments.of("NaN", "NaN", "NaN", SleepState.AWAKE));
        }

        @Test
        void withoutTheFamilyTheServerIsTakenAsAwake() throws Exception {
            assertThat(parse(MetricsFixtures.read("vllm-v1-dp2.txt")).sleepState()).isEqualTo(SleepState.UNKNOWN);
            assertThat(SleepState.UNKNOWN.asleep()).isFalse();
            assertThat(parse("vllm:engine_sleep_state{sleep_state=\"weights_offloaded\"} 1\n").sleepState())
                    .as("levels without an awake series").isEqualTo(SleepState.UNKNOWN);
            LoadMetrics asleep = parse(MetricsFixtures.read("vllm-v1-sleeping.txt"));
            assertThat(asleep.sleepState()).isEqualTo(SleepState.WEIGHTS_OFFLOADED);
            assertThat(asleep.sleepState().describe()).isEqualTo("sleep level 1: weights offloaded");
        }

        @Test
        void aRepeatedSleepSeriesIsRefused() {
            assertThatThrownBy(() -> parse("vllm:engine_sleep_state{sleep_state=\"awake\"} 1\n"
                    + "vllm:engine_sleep_state{sleep_state=\"awake\"} 0\n"))
                    .isInstanceOf(MetricsFormatException.class).hasMessageContaining("duplicate series");
        }
    }

    @Nested
    class Robustness {

        /** Every prefix of every sample: a figure or MetricsFormatException, nothing else. */
        @Test
        void everyTruncationOfEverySample() {
            for (Path file : MetricsFixtures.samples()) {
                String text = MetricsFixtures.read(file);
                for (int end = 0; end <= text.length(); end++) {
                    parseOrFormatError(text.substring(0, end), file.getFileName() + " cut at " + end);
                }
            }
        }

        /** Seeded random edits (tricky characters inserted, characters dropped or replaced, lines cut). */
        @Test
        void randomMutationsOfTheSamples() {
            String tricky = "\"\\{}=,# \t\r\n.+-eE0123456789naINfx:_";
            Random random = new Random(42);
            var samples = MetricsFixtures.samples().stream().map(MetricsFixtures::read).toList();
            for (int i = 0; i < 3_000; i++) {
                StringBuilder text = new StringBuilder(samples.get(random.nextInt(samples.size())));
                int edits = 1 + random.nextInt(4);
                for (int k = 0; k < edits && text.length() > 0; k++) {
                    int at = random.nextInt(text.length());
                    switch (random.nextInt(5)) {
                        case 0 -> text.insert(at, tricky.charAt(random.nextInt(tricky.length())));
                        case 1 -> text.deleteCharAt(at);
                        case 2 -> text.setCharAt(at, tricky.charAt(random.nextInt(tricky.length())));
                        case 3 -> text.setCharAt(at, (char) random.nextInt(0x3000));
                        default -> text.delete(at, Math.min(text.length(), at + random.nextInt(80)));
                    }
                }
                parseOrFormatError(text.toString(), "mutation " + i);
            }
        }

        private void parseOrFormatError(String text, String what) {
            long lines = text.chars().filter(c -> c == '\n').count() + 1;
            try {
                LoadMetrics m = PrometheusParser.parseLoad(text);
                assertThat(m).as(what).isNotNull();
            } catch (MetricsFormatException e) {
                assertThat(e.line()).as(what + ": " + e.getMessage()).isBetween(1, (int) lines);
                assertThat(e.getMessage()).as(what).startsWith("line " + e.line() + ": ");
            } catch (RuntimeException | Error e) {
                throw new AssertionError(what + ": " + e + " escaped for text:\n" + text, e);
            }
        }
    }
}
