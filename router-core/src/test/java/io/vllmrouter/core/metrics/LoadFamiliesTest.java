package io.vllmrouter.core.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The families' arithmetic alone, samples handed in as the parser would: no page text to scan. */
class LoadFamiliesTest {

    private final LoadFamilies page = new LoadFamilies();
    private int line;

    private static int family(String name) {
        return LoadFamilies.of(name, 0, name.length(), name.hashCode());
    }

    /** One sample of {@code name} on the next line, its label set standing for {@code series}. */
    private void add(String name, long series, double value) throws MetricsFormatException {
        line++;
        String text = name + "{engine=\"" + series + "\"} " + value;
        page.add(family(name), series, value, text, 0, text.length(), line);
    }

    @Test
    void namesAreMatchedWhole() {
        assertThat(family("vllm:num_requests_running")).isNotNegative();
        assertThat(family("vllm:num_requests_running_created")).isEqualTo(-1);
        assertThat(family("vllm:num_requests_runnin")).isEqualTo(-1);
        assertThat(family("vllm:num_requests_swapped")).isEqualTo(-1);
        String inText = "# x\nprocess_max_fds 4";
        assertThat(LoadFamilies.of(inText, 4, 19, "process_max_fds".hashCode())).isEqualTo(family("process_max_fds"));
        assertThat(LoadFamilies.of(inText, 4, 19, 0)).as("the hash decides first").isEqualTo(-1);
    }

    @Test
    void nothingAddedGivesNoFigures() {
        LoadMetrics m = page.metrics();
        assertThat(m.hasLoad()).isFalse();
        assertThat(m.kvCacheUsage()).isNaN();
        assertThat(m.maxFds()).isNaN();
        assertThat(m.cacheTokens()).isEqualTo(-1);
        assertThat(m.sleepState()).isEqualTo(SleepState.UNKNOWN);
        assertThat(m.latency().tokenGapSeconds()).isNaN();
    }

    @Test
    void countsAreSummedUsageAveragedAndTheFdLimitIsTheSmallest() throws MetricsFormatException {
        add("vllm:num_requests_running", 0, 3);
        add("vllm:num_requests_running", 1, 4);
        add("vllm:num_requests_running", 2, Double.NaN);
        add("vllm:num_requests_waiting", 0, 5);
        add("vllm:kv_cache_usage_perc", 0, 0.25);
        add("vllm:kv_cache_usage_perc", 1, 0.5);
        add("vllm:kv_cache_usage_perc", 2, Double.NaN);
        add("process_max_fds", 0, 4096);
        add("process_max_fds", 1, 1024);
        add("process_max_fds", 2, 65536);
        LoadMetrics m = page.metrics();
        assertThat(m.running()).as("NaN carries no figure").isEqualTo(7);
        assertThat(m.waiting()).isEqualTo(5);
        assertThat(m.kvCacheUsage()).as("mean of the numbers, NaN left out").isEqualTo(0.375);
        assertThat(m.maxFds()).isEqualTo(1024);
    }

    @Test
    void aFamilyOfNaNsOnlyGivesWayToTheNextOne() throws MetricsFormatException {
        add("vllm:num_requests_running", 0, Double.NaN);
        add("sglang:num_running_reqs", 0, 2);
        add("sglang:num_running_reqs", 1, 1);
        add("vllm:gpu_cache_usage_perc", 0, 0.75);
        add("sglang:token_usage", 0, 0.1);
        LoadMetrics m = page.metrics();
        assertThat(m.running()).isEqualTo(3);
        assertThat(m.kvCacheUsage()).as("V0's name before SGLang's").isEqualTo(0.75);
    }

    @Test
    void vllmFiguresWinOverSglangOnes() throws MetricsFormatException {
        add("sglang:num_queue_reqs", 0, 9);
        add("vllm:num_requests_waiting", 0, 1);
        add("sglang:token_usage", 0, 0.9);
        add("vllm:gpu_cache_usage_perc", 0, 0.5);
        add("vllm:kv_cache_usage_perc", 0, 0.25);
        LoadMetrics m = page.metrics();
        assertThat(m.waiting()).isEqualTo(1);
        assertThat(m.kvCacheUsage()).isEqualTo(0.25);
    }

    @Test
    void theSameSeriesTwiceIsRefusedNamingBothLines() throws MetricsFormatException {
        add("vllm:num_requests_running", 0, 1);
        add("vllm:num_requests_running", 1, 1);
        add("vllm:num_requests_waiting", 0, 1);  // the same label set in another family is another series
        assertThatThrownBy(() -> add("vllm:num_requests_running", 1, 2))
                .isInstanceOf(MetricsFormatException.class)
                .hasMessage("line 4: duplicate series vllm:num_requests_running{engine=\"1\"} 2.0"
                        + " (same name and labels as line 2)")
                .satisfies(e -> assertThat(((MetricsFormatException) e).line()).isEqualTo(4));
    }

    @Test
    void manySeriesOfOneFamilyAreAllKeptAndChecked() throws MetricsFormatException {
        for (int engine = 0; engine < 40; engine++) {
            add("vllm:num_requests_running", engine, 1);
        }
        assertThat(page.metrics().running()).isEqualTo(40);
        assertThatThrownBy(() -> add("vllm:num_requests_running", 33, 1))
                .hasMessageContaining("same name and labels as line 34");
    }

    @Test
    void tokenGapsComeFromTheFirstFamilyThatHasBothSumAndCount() throws MetricsFormatException {
        add("vllm:inter_token_latency_seconds_sum", 0, 1.5);         // its count is missing
        add("vllm:time_per_output_token_seconds_sum", 0, 2.0);
        add("vllm:time_per_output_token_seconds_count", 0, 80);
        add("sglang:inter_token_latency_seconds_sum", 0, 9.0);
        add("sglang:inter_token_latency_seconds_count", 0, 9);
        add("vllm:request_prefill_time_seconds_sum", 0, 0.5);
        add("vllm:request_prefill_time_seconds_count", 0, 4);
        add("vllm:request_prompt_tokens_sum", 0, 400);
        add("vllm:request_generation_tokens_sum", 0, 84);
        add("vllm:request_generation_tokens_count", 0, 4);
        add("vllm:request_generation_tokens_count", 1, 1);
        assertThat(page.metrics().latency()).isEqualTo(new LatencyCounters(2.0, 80, 0.5, 4, 400, 84, 5));
    }

    @Test
    void sglangTokenGapsWhenNoVllmFamilyIsComplete() throws MetricsFormatException {
        add("vllm:time_per_output_token_seconds_count", 0, 80);     // its sum is missing
        add("sglang:inter_token_latency_seconds_sum", 0, 3.0);
        add("sglang:inter_token_latency_seconds_count", 0, 30);
        LatencyCounters l = page.metrics().latency();
        assertThat(l.tokenGapSeconds()).isEqualTo(3.0);
        assertThat(l.tokenGaps()).isEqualTo(30);
        assertThat(l.prefills()).isNaN();
    }

    @Test
    void engineLabelsGoToEngineInfo() throws MetricsFormatException {
        add("vllm:cache_config_info", 0, 1);
        page.engines().cacheConfig(1000, 16, -1);
        add("vllm:cache_config_info", 1, 1);
        page.engines().cacheConfig(1000, 16, -1);
        add("vllm:engine_sleep_state", 0, 0);
        page.engines().sleepSample(EngineInfo.AWAKE, 0);
        LoadMetrics m = page.metrics();
        assertThat(m.cacheBlocks()).as("the server's total, written under every engine").isEqualTo(1000);
        assertThat(m.cacheTokens()).isEqualTo(16_000);
        assertThat(m.sleepState()).isEqualTo(SleepState.ASLEEP);
    }
}
