package io.vllmrouter.examples.server;

import io.vllmrouter.api.RequestOutcome;
import io.vllmrouter.api.CircuitState;
import io.vllmrouter.api.RouterListener.RequestRecord;
import io.vllmrouter.examples.dashboard.DashboardRendererTest;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ProxyMetricsTest {

    @Test
    void countsRequestsAndFillsHistograms() {
        ProxyMetrics m = new ProxyMetrics();
        m.onRequestComplete(new RequestRecord("r1", "llama", false, "http://a:1", 200, RequestOutcome.SUCCESS, 30_000_000L, 5_000_000L, 0, 10));
        m.onRequestComplete(new RequestRecord("r2", "llama", true, "http://a:1", 200, RequestOutcome.SUCCESS, 2_000_000_000L, 7_000_000L, 1, 10));
        m.onRequestComplete(new RequestRecord("r3", "nope", false, null, 404, RequestOutcome.NO_BACKEND, 1_000_000L, -1, 0, 0));
        m.onRetry("r2", "http://b:2", "connect refused");
        m.onConfigReload(true, null);
        m.onConfigReload(false, "bad");
        m.onConfigReload(false, "bad again");
        String text = m.render(DashboardRendererTest.stats(List.of(
                DashboardRendererTest.server("http://a:1", 3, 4, true, CircuitState.OPEN, List.of("llama")))));

        assertThat(text).contains("vllm_router_requests_total{backend=\"http://a:1\",model=\"llama\",outcome=\"success\",status=\"200\"} 2")
                .contains("vllm_router_requests_total{backend=\"none\",model=\"nope\",outcome=\"no_backend\",status=\"404\"} 1")
                .contains("vllm_router_request_duration_seconds_bucket{backend=\"http://a:1\",le=\"0.05\"} 1")
                .contains("vllm_router_request_duration_seconds_bucket{backend=\"http://a:1\",le=\"2.5\"} 2")
                .contains("vllm_router_request_duration_seconds_count{backend=\"http://a:1\"} 2")
                .contains("vllm_router_time_to_first_byte_seconds_bucket{backend=\"http://a:1\",le=\"0.005\"} 1")
                .contains("vllm_router_response_bytes_total{backend=\"http://a:1\"} 20")
                .contains("vllm_router_backend_capacity{backend=\"http://a:1\"} 4")
                .contains("vllm_router_backends{state=\"configured\"} 1")
                .contains("jvm_memory_used_bytes")
                .contains("vllm_router_time_to_first_byte_seconds_count{backend=\"http://a:1\"} 2")
                .doesNotContain("vllm_router_time_to_first_byte_seconds_count{backend=\"none\"}")
                .contains("vllm_router_retries_total{backend=\"http://b:2\"} 1")
                .contains("vllm_router_config_reloads_total{result=\"applied\"} 1")
                .contains("vllm_router_config_reloads_total{result=\"refused\"} 2")
                .contains("vllm_router_backend_in_flight{backend=\"http://a:1\"} 3")
                .contains("vllm_router_backend_healthy{backend=\"http://a:1\"} 1")
                .contains("vllm_router_backend_circuit_state{backend=\"http://a:1\"} 2")
                .contains("# TYPE vllm_router_request_duration_seconds histogram");
        assertThat(m.requestsTotal()).isEqualTo(3);
        // Every sample line is "name{labels} value" or "name value".
        for (String line : text.split("\n")) {
            if (!line.startsWith("#")) {
                assertThat(line).matches("[a-z_][a-z0-9_]*(\\{.*\\})? ([-0-9.E+]+|NaN)");
            }
        }
    }

    @Test
    void showsTheStrategysOwnFigures() {
        io.vllmrouter.api.RouterStats base = DashboardRendererTest.stats(List.of(
                DashboardRendererTest.server("http://a:1", 3, 4, true, CircuitState.CLOSED, List.of("llama"))));
        io.vllmrouter.api.RouterStats withFigures = new io.vllmrouter.api.RouterStats(base.servers(), base.summary(),
                "cache-aware", base.configLoadedAt(), base.generatedAt(),
                java.util.Map.of("index_bytes", 123_456L, "index_max_bytes", 67_108_864L));
        String text = new ProxyMetrics().render(withFigures);
        // Labels in name order, values as the Prometheus client writes doubles.
        assertThat(text).contains("vllm_router_strategy{figure=\"index_bytes\",strategy=\"cache-aware\"} 123456.0")
                .contains("vllm_router_strategy{figure=\"index_max_bytes\",strategy=\"cache-aware\"} 6.7108864E7");
        assertThat(new ProxyMetrics().render(base)).doesNotContain("vllm_router_strategy{");
    }

    @Test
    void capsModelLabelsAndEscapesValues() {
        ProxyMetrics m = new ProxyMetrics();
        for (int i = 0; i < ProxyMetrics.MAX_SERIES + 50; i++) {
            m.onRequestComplete(new RequestRecord("r", "m" + i, false, "b", 404, RequestOutcome.NO_BACKEND, 1, -1, 0, 0));
        }
        String text = m.render(null);
        assertThat(text).contains("model=\"_other\",outcome=\"no_backend\",status=\"404\"} 50");
        ProxyMetrics fresh = new ProxyMetrics();
        fresh.onRequestComplete(new RequestRecord("r", "a\"b\\c\nd", false, "b", 200, RequestOutcome.SUCCESS, 1, -1, 0, 0));
        assertThat(fresh.render(null)).contains("model=\"a\\\"b\\\\c\\nd\"");
    }
}
