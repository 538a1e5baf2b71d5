package io.vllmrouter.examples.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The metrics page of an idle engine, without a server. */
class MetricsPageTest {

    private final SimConfig config = SimConfig.builder().models("llama").dataParallelSize(2).kvCacheBlocks(1000).build();
    private final BatchEngine engine = new BatchEngine(config.serviceModel(), config.maxNumSeqs(), config.kvCacheBlocks(),
            0, config.stepMs());
    private final AtomicInteger sleepLevel = new AtomicInteger();
    private final MetricsPage page = new MetricsPage(config, engine, new LatencyHistograms(config.maxModelLen()),
            sleepLevel::get);

    @Test
    void everyFamilyHasOneSeriesPerEngine() {
        String text = page.text();
        assertThat(text).contains("process_max_fds 65536.0\n")
                .contains("vllm:num_requests_running{engine=\"0\",model_name=\"llama\"} 0.0\n")
                .contains("vllm:num_requests_running{engine=\"1\",model_name=\"llama\"} 0.0\n")
                .contains("vllm:num_requests_waiting{engine=\"1\",model_name=\"llama\"} 0.0\n")
                .contains("vllm:kv_cache_usage_perc{engine=\"1\",model_name=\"llama\"} 0.0\n")
                .contains("vllm:prefix_cache_queries_total{engine=\"0\",model_name=\"llama\"} 0.0\n")
                .contains("vllm:request_success_total{engine=\"1\",finished_reason=\"abort\",model_name=\"llama\"} 0.0\n");
    }

    @Test
    void cacheConfigIsTheServersTotalUnderEveryEngine() {
        String series = "vllm:cache_config_info{block_size=\"" + BatchEngine.BLOCK_SIZE
                + "\",cache_dtype=\"auto\",enable_prefix_caching=\"False\",engine=\"%d\",kv_cache_size_tokens=\""
                + 500 * BatchEngine.BLOCK_SIZE + "\",num_cpu_blocks=\"None\",num_gpu_blocks=\"1000\"} 1.0\n";
        assertThat(page.text()).contains(String.format(series, 0)).contains(String.format(series, 1));
    }

    @Test
    void theSleepStateIsReadAtEachPage() {
        assertThat(page.text()).contains("vllm:engine_sleep_state{engine=\"0\",model_name=\"llama\",sleep_state=\"awake\"} 1.0\n");
        sleepLevel.set(2);
        assertThat(page.text())
                .contains("vllm:engine_sleep_state{engine=\"1\",model_name=\"llama\",sleep_state=\"awake\"} 0.0\n")
                .contains("vllm:engine_sleep_state{engine=\"1\",model_name=\"llama\",sleep_state=\"discard_all\"} 1.0\n");
    }
}
