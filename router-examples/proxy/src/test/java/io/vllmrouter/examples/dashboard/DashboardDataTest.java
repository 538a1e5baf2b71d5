package io.vllmrouter.examples.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.CircuitState;
import io.vllmrouter.api.RouterStats;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The web dashboard's data: the same servers, states and reasons as the terminal table, rates and history. */
class DashboardDataTest {

    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private static final DashboardInfo INFO = new DashboardInfo("vllm-router 1.2.3", "0.0.0.0:8888", T0, "");

    private static BackendStats server(String url, boolean eligible, CircuitState cs, boolean draining, boolean stale,
                                       BackendStats.HealthStats health) {
        return new BackendStats(url, 2, 4, 2, 50.0, eligible,
                new BackendStats.DetailedMetrics(1, 1, 40, 65535, stale ? 9_000 : 300, stale), List.of("llama"), 2, cs,
                draining, health, new BackendStats.RequestStats(10, 9, 1, 1.5, 900, 120));
    }

    private static final BackendStats.HealthStats OK = new BackendStats.HealthStats(true, T0.toEpochMilli(), 0, 1, 5, null, true);

    /** One server in each state, plus an eligible one with stale metrics. */
    static final List<BackendStats> FLEET = List.of(
            server("http://10.0.0.1:8000", true, CircuitState.CLOSED, false, false, OK),
            server("http://10.0.0.2:8000", true, CircuitState.CLOSED, false, true, OK),
            server("http://10.0.0.3:8000", false, CircuitState.CLOSED, false, true,
                    new BackendStats.HealthStats(false, T0.toEpochMilli(), 2, 0, -1,
                            "health check failed: GET http://10.0.0.3:8000/health: unknown host", false)),
            server("http://10.0.0.4:8000", false, CircuitState.OPEN, false, false,
                    new BackendStats.HealthStats(false, T0.toEpochMilli(), 3, 0.5, -1,
                            "3 consecutive failed health checks (last: connection refused)", true)),
            server("http://10.0.0.5:8000", false, CircuitState.OPEN, false, false, OK),
            server("http://10.0.0.6:8000", false, CircuitState.CLOSED, true, false, OK));

    static final Map<String, String> NAMES = Map.of("http://10.0.0.1:8000", "gpu-1", "http://10.0.0.2:8000", "gpu-2",
            "http://10.0.0.3:8000", "gpu-3", "http://10.0.0.4:8000", "gpu-4", "http://10.0.0.5:8000", "gpu-5");

    private static RouterStats stats(List<BackendStats> servers, Map<String, Long> strategy) {
        return new RouterStats(servers, new RouterStats.Summary(servers.size(), 2, 12, 24, 50.0), "cache-aware", T0,
                T0.plusSeconds(600), strategy);
    }

    @Test
    void theWebAndTheTerminalDashboardsShowTheSameServersStatesAndReasons() {
        RouterStats stats = stats(FLEET, Map.of());
        JsonNode data = DashboardData.of(stats, NAMES, List.of(), INFO, T0.plusSeconds(600));
        String frame = DashboardRendererTest.plain(DashboardRenderer.render(stats, INFO, 220, 40, NAMES));

        assertThat(data.path("servers")).hasSize(FLEET.size());
        List<String> states = new ArrayList<>();
        for (JsonNode s : data.path("servers")) {
            String label = s.path("label").asText();
            String row = frame.lines().filter(l -> l.startsWith(label + " ")).findFirst().orElseThrow(
                    () -> new AssertionError("no row for " + label + " in\n" + frame));
            assertThat(row).as(label).contains(s.path("state_words").asText())
                    .contains(" " + s.path("in_flight").asInt() + " ").contains(" " + s.path("capacity").asInt() + " ");
            if (s.path("reason").isNull()) {
                assertThat(frame).as(label).doesNotContain(label + ": ");
            } else {
                assertThat(frame).as(label).contains(label + ": " + s.path("reason").asText());
            }
            states.add(s.path("state").asText());
        }
        assertThat(states).containsExactly("eligible", "eligible", "not_ready", "ejected", "breaker_open", "draining");
        // the words people read, and what a down server's line says
        JsonNode gpu3 = data.path("servers").get(2);
        assertThat(gpu3.path("label").asText()).isEqualTo("gpu-3");
        assertThat(gpu3.path("name").asText()).isEqualTo("gpu-3");
        assertThat(gpu3.path("url").asText()).isEqualTo("http://10.0.0.3:8000");
        assertThat(gpu3.path("state_words").asText()).isEqualTo("not ready");
        assertThat(gpu3.path("reason").asText()).isEqualTo("not ready: health check failed: GET /health: unknown host");
        assertThat(data.path("servers").get(3).path("reason").asText())
                .isEqualTo("ejected: 3 consecutive failed health checks (last: connection refused); breaker open");
        assertThat(data.path("servers").get(1).path("watch").asBoolean()).isTrue();
        assertThat(data.path("servers").get(1).path("running").isNull()).as("stale figures are not current").isTrue();
        assertThat(data.path("servers").get(5).path("label").asText()).as("no name: the URL").isEqualTo("10.0.0.6:8000");
        assertThat(data.path("summary").path("eligible").asInt()).isEqualTo(2);
        assertThat(frame).contains("servers 2/6 eligible");
    }

    @Test
    void outcomeRatesCacheHitRateAndHistoryComeFromTheSamplesKeptServerSide() {
        DashboardHistory history = new DashboardHistory();
        List<BackendStats> one = List.of(FLEET.get(0));
        history.sample(stats(one, Map.of("prompt_blocks", 100L, "matched_blocks", 10L)),
                Map.of("success", 10L, "cut_short", 0L), T0);
        history.sample(stats(one, Map.of("prompt_blocks", 150L, "matched_blocks", 40L)),
                Map.of("success", 40L, "cut_short", 3L, "rejected", 1L), T0.plusSeconds(30));
        RouterStats now = stats(one, Map.of("prompt_blocks", 200L, "matched_blocks", 70L, "picks_cache_hit", 3L,
                "picks_cold", 1L));
        history.sample(now, Map.of("success", 70L, "cut_short", 6L, "rejected", 2L), T0.plusSeconds(60));

        JsonNode data = DashboardData.of(now, NAMES, history.samples(), INFO, T0.plusSeconds(60));
        JsonNode rates = data.path("outcomes").path("per_second");
        assertThat(rates.path("success").asDouble()).isEqualTo(1.0);      // (70 - 10) / 60 s
        assertThat(rates.path("cut_short").asDouble()).isEqualTo(0.1);
        assertThat(rates.path("rejected").asDouble()).isCloseTo(0.033, org.assertj.core.data.Offset.offset(0.001));
        assertThat(data.path("outcomes").path("total").path("cut_short").asLong()).isEqualTo(6);
        assertThat(data.path("outcomes").path("failure_share").asDouble()).isCloseTo(8.0 / 68, org.assertj.core.data.Offset.offset(0.001));
        assertThat(data.path("cache").path("hit_rate").asDouble()).isEqualTo(0.6);   // (70 - 10) / (200 - 100)
        assertThat(data.path("cache").path("cache_hit_picks_share").asDouble()).isEqualTo(0.75);

        JsonNode h = data.path("history");
        assertThat(h.path("times")).hasSize(3);
        assertThat(h.path("servers").path("http://10.0.0.1:8000").path("ttfb_ms")).hasSize(3)
                .allSatisfy(v -> assertThat(v.asDouble()).isEqualTo(120.0));
        assertThat(h.path("outcomes_per_second").path("cut_short")).hasSize(2)
                .allSatisfy(v -> assertThat(v.asDouble()).isEqualTo(0.1));
    }

    @Test
    void theHistoryKeepsTenMinutes() {
        DashboardHistory history = new DashboardHistory();
        RouterStats s = stats(List.of(FLEET.get(0)), Map.of());
        for (int i = 0; i < DashboardHistory.SAMPLES + 30; i++) {
            history.sample(s, Map.of(), T0.plus(Duration.ofSeconds((long) i * DashboardHistory.INTERVAL_SECONDS)));
        }
        List<DashboardHistory.Sample> kept = history.samples();
        assertThat(kept).hasSize(DashboardHistory.SAMPLES);
        assertThat(Duration.between(kept.get(0).at(), kept.get(kept.size() - 1).at()))
                .isEqualTo(Duration.ofSeconds((long) (DashboardHistory.SAMPLES - 1) * DashboardHistory.INTERVAL_SECONDS));
        assertThat(DashboardData.of(s, Map.of(), List.of(), INFO, T0).path("cache").isNull())
                .as("no cache figures for strategies without them").isTrue();
    }
}
