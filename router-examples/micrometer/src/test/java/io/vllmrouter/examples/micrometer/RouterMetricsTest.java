package io.vllmrouter.examples.micrometer;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.CircuitState;
import io.vllmrouter.api.RouterStats;
import io.vllmrouter.api.RequestOutcome;
import io.vllmrouter.api.RouterListener.RequestRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(60)
class RouterMetricsTest {

    static BackendStats backend(String url, int inFlight, int capacity, CircuitState state) {
        return new BackendStats(url, inFlight, capacity, capacity - inFlight, 100.0 * inFlight / capacity, true,
                new BackendStats.DetailedMetrics(inFlight, 0, 0, 0, 0, false), List.of("llama"), inFlight, state, false,
                new BackendStats.HealthStats(true, 0, 0, 1, 1, null),
                new BackendStats.RequestStats(0, 0, 0, 0, 0, 0));
    }

    static RouterStats fleet(BackendStats... servers) {
        List<BackendStats> all = new ArrayList<>(List.of(servers));
        return new RouterStats(all, new RouterStats.Summary(all.size(), all.size(), 0, 0, 0), "weighted-score",
                Instant.EPOCH, Instant.EPOCH);
    }

    @Test
    void gaugesFollowTheFleetAsBackendsJoinAndLeave() {
        AtomicReference<RouterStats> now = new AtomicReference<>(fleet(backend("http://a:1", 2, 4, CircuitState.CLOSED)));
        RouterMetrics metrics = new RouterMetrics(now::get);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        metrics.bindTo(registry);

        assertThat(registry.get("vllm.router.backend.in.flight").tag("backend", "http://a:1").gauge().value()).isEqualTo(2);
        assertThat(registry.get("vllm.router.backend.capacity").tag("backend", "http://a:1").gauge().value()).isEqualTo(4);
        assertThat(registry.get("vllm.router.backends").tag("state", "configured").gauge().value()).isEqualTo(1);

        metrics.update(fleet(backend("http://b:2", 1, 8, CircuitState.OPEN)));
        assertThat(registry.find("vllm.router.backend.in.flight").tag("backend", "http://a:1").gauge()).isNull();
        assertThat(registry.get("vllm.router.backend.circuit.state").tag("backend", "http://b:2").gauge().value()).isEqualTo(2);
        assertThat(registry.get("vllm.router.retries").tag("backend", "http://b:2").counter().count()).isZero();
    }

    @Test
    void theSpeedEstimateIsPublishedInSeconds() {
        BackendStats a = backend("http://a:1", 2, 4, CircuitState.CLOSED);
        BackendStats withSpeed = new BackendStats(a.url(), a.currentLoad(), a.maxCapacity(), a.availableCapacity(),
                a.utilizationPercent(), a.status(), a.detailedMetrics(), a.models(), a.inFlight(), a.circuitState(),
                a.draining(), a.health(), a.requests(), a.cacheTokens(), a.ineligibleReason(),
                new BackendStats.SpeedStats(15, 120, Double.NaN, 64, 250, 0.75));
        RouterMetrics metrics = new RouterMetrics();
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        metrics.bindTo(registry);
        metrics.update(fleet(withSpeed));

        assertThat(registry.scrape())
                .contains("vllm_router_backend_time_per_output_token_seconds{backend=\"http://a:1\"} 0.015")
                .contains("vllm_router_backend_time_to_first_token_seconds{backend=\"http://a:1\"} 0.12")
                .contains("vllm_router_backend_expected_wait_seconds{backend=\"http://a:1\"} 0.25")
                .contains("vllm_router_backend_speed_confidence{backend=\"http://a:1\"} 0.75");
    }

    @Test
    void prometheusNamesCarryUnitsAndTotals() {
        RouterMetrics metrics = new RouterMetrics();
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        metrics.bindTo(registry);
        metrics.onRequestComplete(new RequestRecord("r1", "llama", true, "http://a:1", 200, RequestOutcome.SUCCESS, 30_000_000L, 5_000_000L, 0, 100));
        metrics.onRetry("r1", "http://b:2", "refused");
        metrics.onCircuitStateChange("http://b:2", CircuitState.CLOSED, CircuitState.OPEN);
        metrics.onConfigReload(true, null);
        metrics.update(fleet(backend("http://a:1", 0, 4, CircuitState.CLOSED)));

        assertThat(registry.scrape())
                .contains("vllm_router_requests_total{backend=\"http://a:1\",model=\"llama\",outcome=\"success\",status=\"200\"} 1")
                .contains("vllm_router_request_duration_seconds_bucket{backend=\"http://a:1\",le=\"0.05\"} 1")
                .contains("vllm_router_time_to_first_byte_seconds_count{backend=\"http://a:1\"} 1")
                .contains("vllm_router_response_bytes_total{backend=\"http://a:1\"} 100")
                .contains("vllm_router_retries_total{backend=\"http://b:2\"} 1")
                .contains("vllm_router_circuit_transitions_total{state=\"open\"} 1")
                .contains("vllm_router_config_reloads_total{result=\"applied\"} 1")
                .contains("vllm_router_config_reloads_total{result=\"refused\"} 0")
                .contains("vllm_router_health_transitions_total{transition=\"ejected\"} 0")
                .contains("vllm_router_backend_load{backend=\"http://a:1\"} 0");
        assertThat(metrics.requestsTotal()).isEqualTo(1);
        assertThat(metrics.reloads("applied")).isEqualTo(1);
    }
}
