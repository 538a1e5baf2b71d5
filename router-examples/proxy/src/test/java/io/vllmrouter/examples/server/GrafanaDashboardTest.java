package io.vllmrouter.examples.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.api.RouterListener;
import io.vllmrouter.core.VllmRouters;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Grafana dashboard queries only series the proxy exports: every {@code expr} (and the variable
 * queries) of deploy/grafana/vllm-router.json is parsed for metric names, which are compared with a
 * real {@code /metrics} scrape of the proxy after a request went through it.
 */
@Timeout(60)
class GrafanaDashboardTest {

    static final Path DASHBOARD = Path.of("deploy/grafana/vllm-router.json");

    private static final Set<String> PROMQL_WORDS = Set.of(
            "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
            "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values",
            "inf", "nan", "le");
    private static final Pattern STRING = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"");
    private static final Pattern MATCHERS = Pattern.compile("\\{[^}]*}");
    private static final Pattern RANGE = Pattern.compile("\\[[^]]*]");
    private static final Pattern GROUPING = Pattern.compile("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");
    private static final Pattern IDENT = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*(\\s*\\()?");

    /** Metric names in one PromQL expression: identifiers that are not functions, keywords or labels. */
    static Set<String> metricNames(String expr) {
        String e = STRING.matcher(expr).replaceAll("\"\"");
        e = MATCHERS.matcher(e).replaceAll(" ");
        e = RANGE.matcher(e).replaceAll(" ");
        e = GROUPING.matcher(e).replaceAll(" ");
        e = e.replaceAll("\\$\\{?[a-zA-Z_]+}?", " ");
        Set<String> out = new TreeSet<>();
        Matcher m = IDENT.matcher(e);
        while (m.find()) {
            String word = m.group();
            if (word.endsWith("(")) {
                continue;   // a function or aggregation
            }
            if (!PROMQL_WORDS.contains(word.toLowerCase())) {
                out.add(word);
            }
        }
        return out;
    }

    static List<String> expressions(JsonNode dashboard) {
        List<String> out = new ArrayList<>();
        collect(dashboard, out);
        for (JsonNode v : dashboard.path("templating").path("list")) {
            String def = v.path("definition").asText("");
            Matcher m = Pattern.compile("label_values\\((\\w+)").matcher(def);
            if (m.find()) {
                out.add(m.group(1));
            }
        }
        return out;
    }

    private static void collect(JsonNode node, List<String> out) {
        if (node.isObject()) {
            node.fields().forEachRemaining(f -> {
                if (f.getKey().equals("expr") && f.getValue().isTextual()) {
                    out.add(f.getValue().asText());
                } else {
                    collect(f.getValue(), out);
                }
            });
        } else if (node.isArray()) {
            node.forEach(n -> collect(n, out));
        }
    }

    @Test
    void extractsMetricNamesFromPromql() {
        assertThat(metricNames("histogram_quantile(0.95, sum by (backend, le) (rate(vllm_router_x_bucket{backend=~\"$backend\"}[$__rate_interval])))"))
                .containsExactly("vllm_router_x_bucket");
        assertThat(metricNames("count(a_b == 2) or vector(0)")).containsExactly("a_b");
        assertThat(metricNames("sum(rate(x_total{status=~\"5..|499\"}[5m])) / sum(rate(y_total[5m]))"))
                .containsExactly("x_total", "y_total");
    }

    @Test
    void everyQueriedMetricIsExported() throws Exception {
        JsonNode dashboard = new ObjectMapper().readTree(Files.readString(DASHBOARD));
        assertThat(dashboard.path("title").asText()).isEqualTo("vllm-router");
        List<String> exprs = expressions(dashboard);
        assertThat(exprs).hasSizeGreaterThan(20);
        Set<String> queried = new TreeSet<>();
        exprs.forEach(e -> queried.addAll(metricNames(e)));

        Set<String> exported = scrapeNames();
        assertThat(exported).contains("vllm_router_requests_total", "vllm_router_request_duration_seconds_bucket");
        assertThat(queried).isNotEmpty().allSatisfy(name -> assertThat(exported).as("series %s queried by the dashboard", name)
                .contains(name));
        // And the dashboard covers what operators look at first.
        assertThat(queried).contains("vllm_router_backend_load", "vllm_router_backend_capacity", "vllm_router_retries_total",
                "vllm_router_backend_circuit_state", "vllm_router_config_reloads_total",
                "vllm_router_time_to_first_byte_seconds_bucket", "vllm_router_requests_total", "vllm_router_strategy");
    }

    @Test
    void theErrorPanelCountsExactlyTheFailureOutcomes() throws Exception {
        JsonNode dashboard = new ObjectMapper().readTree(Files.readString(DASHBOARD));
        String failed = expressions(dashboard).stream().filter(e -> e.contains("outcome=~")).findFirst().orElseThrow();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("outcome=~\"([a-z_|]+)\"").matcher(failed);
        assertThat(m.find()).as(failed).isTrue();
        Set<String> inPanel = new TreeSet<>(List.of(m.group(1).split("\\|")));
        Set<String> failures = new TreeSet<>();
        for (io.vllmrouter.api.RequestOutcome o : io.vllmrouter.api.RequestOutcome.values()) {
            if (o.isFailure()) {
                failures.add(o.label());
            }
        }
        assertThat(inPanel).isEqualTo(failures);
    }

    /** Sample names of a real scrape of the proxy, after one request went through it. */
    private static Set<String> scrapeNames() throws Exception {
        try (FakeVllm backend = new FakeVllm(List.of(FakeVllm.model("llama", 8192)))) {
            ProxyMetrics metrics = new ProxyMetrics();
            CountDownLatch done = new CountDownLatch(1);
            RouterListener counted = new RouterListener() {
                @Override
                public void onRequestComplete(RequestRecord record) {
                    done.countDown();
                }
            };
            // cache-aware: the one built-in strategy with figures of its own (vllm_router_strategy).
            RouterConfig config = RouterConfig.builder().server(new ServerConfig(backend.url(), 4))
                    .strategy("cache-aware").requestTimeout(Duration.ofSeconds(20)).build();
            io.vllmrouter.testing.RouterEvents events = new io.vllmrouter.testing.RouterEvents();
            try (VllmRouter router = VllmRouters.builder().config(config)
                    .listener(metrics).listener(counted).listener(events).build();
                 ProxyServer proxy = ProxyServer.start(router, ProxyOptions.builder().host("127.0.0.1").port(0)
                         .metrics(metrics).grace(Duration.ZERO).build())) {
                events.awaitEligible(router, 1, Duration.ofSeconds(20));
                HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
                String base = "http://127.0.0.1:" + proxy.port();
                HttpResponse<String> chat = client.send(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                        .timeout(Duration.ofSeconds(20)).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(
                                "{\"model\":\"llama\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(chat.statusCode()).isEqualTo(200);
                assertThat(done.await(20, TimeUnit.SECONDS)).as("request recorded").isTrue();
                String text = client.send(HttpRequest.newBuilder(URI.create(base + "/metrics"))
                        .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString()).body();
                Set<String> names = new TreeSet<>();
                for (String line : text.split("\n")) {
                    if (!line.isEmpty() && !line.startsWith("#")) {
                        names.add(line.split("[{ ]", 2)[0]);
                    }
                }
                return names;
            }
        }
    }
}
