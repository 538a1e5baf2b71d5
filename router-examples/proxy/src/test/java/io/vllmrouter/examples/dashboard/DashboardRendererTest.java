package io.vllmrouter.examples.dashboard;

import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.CircuitState;
import io.vllmrouter.api.RouterStats;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

public class DashboardRendererTest {

    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private static final DashboardInfo INFO = new DashboardInfo("vllm-router 1.2.3", "0.0.0.0:8888", T0, "Ctrl-C to stop");

    public static BackendStats server(String url, long load, int capacity, boolean healthy, CircuitState cs, List<String> models) {
        double util = Math.round(1000.0 * load / capacity) / 10.0;
        return new BackendStats(url, load, capacity, Math.max(0, capacity - load), util, healthy,
                new BackendStats.DetailedMetrics(load, 0, 42.5, 65535, 300, false), models, (int) load, cs, false,
                new BackendStats.HealthStats(healthy, T0.toEpochMilli(), healthy ? 0 : 3, healthy ? 1 : 0, 12,
                        healthy ? null : "3 consecutive failed health checks (last: refused)", true),
                new BackendStats.RequestStats(100, 99, 1, 2.5, 850, 120));
    }

    public static RouterStats stats(List<BackendStats> servers) {
        long load = servers.stream().mapToLong(BackendStats::currentLoad).sum();
        long cap = servers.stream().mapToLong(BackendStats::maxCapacity).sum();
        int healthy = (int) servers.stream().filter(BackendStats::status).count();
        return new RouterStats(servers, new RouterStats.Summary(servers.size(), healthy, load, cap, cap == 0 ? 0 : 100.0 * load / cap),
                "weighted-score", T0, T0.plus(Duration.ofMinutes(62).plusSeconds(5)));
    }

    private static final RouterStats FLEET = stats(List.of(
            server("http://gpu-server-1.datacenter.example.com:8081", 2, 4, true, CircuitState.CLOSED, List.of("meta-llama/Llama-3.1-8B-Instruct")),
            server("http://gpu-server-2:8088", 4, 4, true, CircuitState.HALF_OPEN, List.of("llama", "mistral")),
            server("http://10.0.0.3:8089", 0, 5, false, CircuitState.OPEN, List.of())));

    static String plain(String s) {
        return s.replaceAll("\u001b\\[[0-9;?]*[A-Za-z]", "");
    }

    @ParameterizedTest
    @ValueSource(ints = {80, 120, 60, 200})
    void noLineIsWiderThanTheTerminal(int width) {
        String frame = DashboardRenderer.render(FLEET, INFO, width, 24);
        for (String line : frame.split("\n")) {
            assertThat(plain(line).length()).as("line <%s>", plain(line)).isLessThanOrEqualTo(width);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {80, 120})
    void showsEveryServerAbbreviatedAndTheSummary(int width) {
        String frame = plain(DashboardRenderer.render(FLEET, INFO, width, 24));
        // Each server stays recognisable: its host's start and end, and its port.
        assertThat(frame).containsPattern("gpu-[a-z-]*\u2026?[a-z-]*1:8081").containsPattern("gpu-[a-z-]*\u2026?[a-z-]*2:8088")
                .contains("10.0.0.3:8089");
        assertThat(frame).contains("servers 2/3 eligible").contains("load 6/13").contains("weighted-score")
                .contains("up 1h02m").contains("0.0.0.0:8888").contains("7.5 req/s");
        assertThat(frame).contains("ejected").contains("breaker half-open");
    }

    @Test
    void at120ColumnsModelsAreShown() {
        String frame = plain(DashboardRenderer.render(FLEET, INFO, 120, 24));
        assertThat(frame).contains("MODELS").contains("llama,mistral").contains("Llama-3.1-8B-Instruct");
    }

    @Test
    void barsAreProportionalToUtilisation() {
        for (int width : new int[] {80, 120}) {
            int bar = DashboardRenderer.Layout.of(width).bar();
            String frame = plain(DashboardRenderer.render(FLEET, INFO, width, 24));
            String[] lines = frame.split("\n");
            assertThat(filled(find(lines, ":8088"))).isEqualTo(bar);                 // 100 %
            assertThat(filled(find(lines, ":8089"))).isZero();                              // 0 %
            assertThat(filled(find(lines, ":8081"))).isEqualTo(Math.round(bar / 2.0f)); // 50 %
        }
        assertThat(Cells.bar(25, 8)).isEqualTo("\u2588\u2588\u2591\u2591\u2591\u2591\u2591\u2591");
        assertThat(Cells.bar(250, 4)).isEqualTo("\u2588\u2588\u2588\u2588");
    }

    @Test
    void unknownFiguresShowAsDashes() {
        BackendStats fresh = new BackendStats("http://new:1", 0, 4, 4, 0, true,
                new BackendStats.DetailedMetrics(-1, -1, Double.NaN, -1, -1, true), List.of(), 0, CircuitState.CLOSED, false,
                new BackendStats.HealthStats(true, -1, 0, 1, -1, null),
                new BackendStats.RequestStats(0, 0, 0, Double.NaN, Double.NaN, Double.NaN));
        String row = plain(DashboardRenderer.render(stats(List.of(fresh)), INFO, 80, 24)).lines()
                .filter(l -> l.startsWith("new:1")).findFirst().orElseThrow();
        assertThat(row).doesNotContain("NaN").doesNotContain("0s").endsWith("-");
        assertThat(row.split("\\s+")).contains("-");
    }

    @Test
    void manyServersAreSummarisedWithinTheHeight() {
        List<BackendStats> many = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            many.add(server("http://gpu-" + i + ":8000", i % 4, 4, true, CircuitState.CLOSED, List.of("m")));
        }
        String frame = plain(DashboardRenderer.render(stats(many), INFO, 80, 24));
        assertThat(frame.split("\n")).hasSizeLessThanOrEqualTo(24);
        assertThat(frame).contains("more server(s)");
    }

    @Test
    void abbreviatesUrlsKeepingThePort() {
        assertThat(Cells.abbreviateUrl("http://very-long-host-name.example.com:8081", 30))
                .isEqualTo("very-long-host-name:8081");
        assertThat(Cells.abbreviateUrl("http://very-long-host-name-07.example.com:8081", 16))
                .hasSize(16).startsWith("very-l").endsWith("\u2026e-07:8081");
        assertThat(Cells.abbreviateUrl("http://10.1.2.3:8000", 40)).isEqualTo("10.1.2.3:8000");
        assertThat(Cells.abbreviateUrl("https://a:1", 16)).isEqualTo("a:1");
    }

    private static String find(String[] lines, String needle) {
        for (String l : lines) {
            if (l.contains(needle)) {
                return l;
            }
        }
        throw new AssertionError("no line with " + needle);
    }

    private static long filled(String line) {
        return line.chars().filter(c -> c == '\u2588').count();
    }

    @Test
    void staleMetricsAreMarkedAtOnceAndTheirFiguresNotShownAsCurrent() {
        BackendStats fresh = server("http://127.0.0.1:9001", 2, 4, true, CircuitState.CLOSED, List.of("m"));
        BackendStats stale = new BackendStats(fresh.url(), 2, 4, 2, 50, true,
                new BackendStats.DetailedMetrics(2, 0, 42.5, 65535, 4200, true), List.of("m"), 0, CircuitState.CLOSED, false,
                fresh.health(), fresh.requests());
        String frame = plain(DashboardRenderer.render(stats(List.of(stale)), INFO, 80, 24, java.util.Map.of(fresh.url(), "gpu-b")));
        String row = frame.lines().filter(l -> l.startsWith("gpu-b ")).findFirst().orElseThrow();
        assertThat(row).contains("eligible");
        assertThat(row.split("\\s+")[4]).as("RUN of %s", row).isEqualTo("-");
        assertThat(frame).contains("gpu-b: stale metrics (last good scrape 4.2s ago)");
    }

    @Test
    void aDownServerSaysWhyWithoutExceptionClassNames() {
        BackendStats up = server("http://127.0.0.1:9001", 1, 4, true, CircuitState.CLOSED, List.of("m"));
        BackendStats down = new BackendStats("http://127.0.0.1:9002", 0, 4, 4, 0, false,
                new BackendStats.DetailedMetrics(0, 0, 0, 65535, 31_000, true), List.of("m"), 0, CircuitState.OPEN, false,
                new BackendStats.HealthStats(false, T0.toEpochMilli(), 3, 0, -1,
                        "3 consecutive failed health checks (last: java.net.ConnectException: Connection refused)", true),
                up.requests());
        String frame = plain(DashboardRenderer.render(stats(List.of(up, down)), INFO, 80, 24,
                java.util.Map.of(up.url(), "gpu-a", down.url(), "gpu-b")));
        assertThat(DashboardRenderer.reason(down))
                .isEqualTo("ejected: 3 consecutive failed health checks (last: Connection refused); breaker open");
        assertThat(frame).contains("gpu-b: ejected: 3 consecutive failed health checks (last: Connection refused)")
                .doesNotContain("Exception");
        assertThat(frame.lines().filter(l -> l.startsWith("gpu-b ")).findFirst().orElseThrow()).contains("ejected");
        assertThat(frame).doesNotContain("gpu-a:");
    }

    @Test
    void namesReplaceUrlsAndModelsDropTheirCommonPrefixAt80Columns() {
        List<BackendStats> fleet = List.of(
                server("http://127.0.0.1:40001", 1, 3, true, CircuitState.CLOSED, List.of("demo-llama-8b")),
                server("http://127.0.0.1:40002", 1, 5, true, CircuitState.CLOSED, List.of("demo-llama-8b", "demo-qwen-7b")),
                server("http://127.0.0.1:40003", 1, 4, true, CircuitState.CLOSED, List.of("demo-llama-8b")));
        java.util.Map<String, String> names = java.util.Map.of("http://127.0.0.1:40001", "slow",
                "http://127.0.0.1:40002", "fast", "http://127.0.0.1:40003", "medium");
        String frame = plain(DashboardRenderer.render(stats(fleet), INFO, 80, 24, names));
        assertThat(frame).contains("slow ").contains("fast ").contains("medium ").doesNotContain("127.0.0.1:4000");
        assertThat(frame).contains("llama-8b").doesNotContain("demo-ll\u2026");
        for (String line : frame.split("\n")) {
            assertThat(line.length()).as(line).isLessThanOrEqualTo(80);
        }
    }

    @Test
    void commonPrefixIsCutAtASeparator() {
        assertThat(Cells.fitModels(List.of("demo-llama-8b", "demo-qwen-7b"), "demo-", 30)).isEqualTo("llama-8b,qwen-7b");
        assertThat(Cells.fitModels(List.of("demo-llama-8b", "demo-qwen-7b"), "demo-", 12)).isEqualTo("llama-8b,+1");
        assertThat(ServerStatus.plain("x (last: java.net.ConnectException: refused)")).isEqualTo("x (last: refused)");
    }

    @Test
    void aReasonDropsTheServersOwnUrl() {
        BackendStats up = server("http://127.0.0.1:9001", 1, 4, true, CircuitState.CLOSED, List.of("m"));
        BackendStats down = new BackendStats("http://127.0.0.1:9002", 0, 4, 4, 0, false,
                new BackendStats.DetailedMetrics(0, 0, 0, 65535, 9_000, true), List.of("m"), 0, CircuitState.CLOSED, false,
                new BackendStats.HealthStats(false, T0.toEpochMilli(), 3, 0, -1, "GET http://127.0.0.1:9002/health: cannot connect"),
                up.requests());
        assertThat(DashboardRenderer.reason(down)).isEqualTo("not ready: GET /health: cannot connect");
    }

    @Test
    void aSleepingServerSaysSo() {
        BackendStats up = server("http://127.0.0.1:9001", 0, 4, true, CircuitState.CLOSED, List.of("m"));
        BackendStats asleep = new BackendStats(up.url(), 0, 4, 4, 0, false, up.detailedMetrics(), List.of("m"), 0,
                CircuitState.CLOSED, false, up.health(), up.requests(), 65536, "asleep (sleep level 1: weights offloaded)");
        assertThat(asleep.state()).isEqualTo(io.vllmrouter.api.BackendState.ASLEEP);
        assertThat(ServerStatus.word(asleep)).isEqualTo("asleep");
        assertThat(DashboardRenderer.reason(asleep)).isEqualTo("asleep (sleep level 1: weights offloaded)");
    }

    @Test
    void aWideTerminalShowsTheSpeedEstimateOnceMeasuredAndANarrowOneLeavesItOut() {
        BackendStats a = server("http://gpu-a:8081", 1, 4, true, CircuitState.CLOSED, List.of("m"));
        BackendStats measured = new BackendStats(a.url(), a.currentLoad(), a.maxCapacity(), a.availableCapacity(),
                a.utilizationPercent(), a.status(), a.detailedMetrics(), a.models(), a.inFlight(), a.circuitState(),
                a.draining(), a.health(), a.requests(), a.cacheTokens(), a.ineligibleReason(),
                new BackendStats.SpeedStats(31.4, 120, Double.NaN, 64, 0, 0.6));
        BackendStats unmeasured = server("http://gpu-b:8081", 1, 4, true, CircuitState.CLOSED, List.of("m"));
        RouterStats fleet = stats(List.of(measured, unmeasured));

        List<String> wide = plain(DashboardRenderer.render(fleet, INFO, 120, 24)).lines().toList();
        assertThat(wide).anySatisfy(l -> assertThat(l).contains("SERVER").endsWith("TPOT"));
        assertThat(wide).anySatisfy(l -> assertThat(l).startsWith("gpu-a:8081").endsWith(" 31ms"));
        assertThat(wide).anySatisfy(l -> assertThat(l).startsWith("gpu-b:8081").endsWith(" -"));

        String narrow = plain(DashboardRenderer.render(fleet, INFO, 80, 24));
        assertThat(narrow).doesNotContain("TPOT").doesNotContain("31ms");
    }
}
