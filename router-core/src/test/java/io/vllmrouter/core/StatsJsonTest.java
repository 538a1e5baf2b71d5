package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.core.metrics.LoadMetrics;
import io.vllmrouter.testing.FakeClock;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class StatsJsonTest {

    @Test
    void statsSerialiseToTheSeedsLoadStatsShape() throws Exception {
        FakeClock clock = new FakeClock();
        TestSupport.FakeProbe probe = new TestSupport.FakeProbe();
        probe.metrics.put("http://gpu-1:8081", u -> CompletableFuture.completedFuture(new LoadMetrics(2, 0, 0.785, 65535)));
        try (DefaultVllmRouter router = VllmRouters.builder()
                .config(RouterConfig.builder()
                        .server(new ServerConfig("http://gpu-1:8081", 3))
                        .server(new ServerConfig("http://gpu-2:8088", 5))
                        .enableActiveHealthCheck(false)
                        .build())
                .ticker(clock).scheduler(clock).strategy(new TestSupport.FirstStrategy()).probe(probe).buildRouter()) {
            clock.runDueTasks();
            String json = RouterJson.mapper().writeValueAsString(router.stats());
            JsonNode root = RouterJson.mapper().readTree(json);

            JsonNode s0 = root.path("servers").path(0);
            assertThat(s0.path("url").asText()).isEqualTo("http://gpu-1:8081");
            assertThat(s0.path("current_load").asLong()).isEqualTo(2);
            assertThat(s0.path("max_capacity").asInt()).isEqualTo(3);
            assertThat(s0.path("available_capacity").asLong()).isEqualTo(1);
            assertThat(s0.path("utilization_percent").asDouble()).isEqualTo(66.7);
            assertThat(s0.path("status").asBoolean()).isTrue();
            assertThat(s0.path("detailed_metrics").path("num_requests_running").asLong()).isEqualTo(2);
            assertThat(s0.path("detailed_metrics").path("num_requests_waiting").asLong()).isZero();
            assertThat(s0.path("detailed_metrics").path("gpu_cache_usage_perc").asDouble()).isEqualTo(78.5);
            assertThat(s0.path("detailed_metrics").path("process_max_fds").asLong()).isEqualTo(65535);
            assertThat(s0.path("circuit_state").asText()).isEqualTo("CLOSED");
            assertThat(s0.path("requests").path("mean_latency_millis").isNull()).as("NaN is null").isTrue();
            assertThat(s0.path("cache_tokens").asLong()).as("not published").isEqualTo(-1);
            assertThat(s0.has("ineligible_reason")).isTrue();
            assertThat(s0.path("ineligible_reason").isNull()).isTrue();

            JsonNode s1 = root.path("servers").path(1);
            assertThat(s1.path("detailed_metrics").path("gpu_cache_usage_perc").isNull()).isTrue();
            assertThat(s1.path("detailed_metrics").path("stale").asBoolean()).isTrue();

            JsonNode summary = root.path("summary");
            assertThat(summary.path("total_servers").asInt()).isEqualTo(2);
            assertThat(summary.path("healthy_servers").asInt()).isEqualTo(2);
            assertThat(summary.path("total_active_load").asLong()).isEqualTo(2);
            assertThat(summary.path("total_capacity").asLong()).isEqualTo(8);
            assertThat(summary.path("overall_utilization_percent").asDouble()).isEqualTo(25.0);
            assertThat(root.path("config_loaded_at").asText()).isEqualTo("2026-01-01T00:00:00Z");
            assertThat(root.path("generated_at").isTextual()).isTrue();
        }
    }
}
