package io.vllmrouter.examples.server;

import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.CircuitState;
import io.vllmrouter.api.RouterStats;
import io.vllmrouter.api.RouterListener;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The proxy's own Prometheus metrics, written in the text exposition format without a library.
 * Counters and histograms are fed as a {@link RouterListener} (pass this to the router's builder);
 * gauges are read from {@link RouterStats} when {@link #render} is called.
 *
 * <pre>{@code
 * ProxyMetrics metrics = new ProxyMetrics();
 * VllmRouter router = VllmRouters.builder().config(config).listener(metrics).build();
 * ProxyServer server = ProxyServer.start(router, ProxyOptions.builder().metrics(metrics).build());
 * }</pre>
 *
 * <p>Lock-free ({@link LongAdder} in {@link ConcurrentHashMap}s). The {@code model} label comes
 * from request bodies, so distinct label sets are capped at {@value #MAX_SERIES}; later new
 * models are counted under {@code model="_other"}.
 */
public final class ProxyMetrics implements RouterListener {

    static final int MAX_SERIES = 2000;

    private final ConcurrentMap<RequestKey, LongAdder> requests = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Histogram> latency = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Histogram> ttfb = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, LongAdder> retries = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, LongAdder> reloads = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, LongAdder> healthTransitions = new ConcurrentHashMap<>();

    private record RequestKey(String backend, String model, int status) {
    }

    @Override
    public void onRequestComplete(RequestRecord r) {
        String backend = r.backend() == null ? "none" : r.backend();
        String model = r.model() == null ? "" : r.model();
        RequestKey key = new RequestKey(backend, model, r.status());
        LongAdder counter = requests.get(key);
        if (counter == null) {
            if (requests.size() >= MAX_SERIES) {
                key = new RequestKey(backend, "_other", r.status());
            }
            counter = requests.computeIfAbsent(key, k -> new LongAdder());
        }
        counter.increment();
        latency.computeIfAbsent(backend, b -> new Histogram()).observe(r.latencyNanos() / 1e9);
        if (r.ttfbNanos() >= 0) {
            ttfb.computeIfAbsent(backend, b -> new Histogram()).observe(r.ttfbNanos() / 1e9);
        }
    }

    @Override
    public void onRetry(String requestId, String failedBackend, String reason) {
        retries.computeIfAbsent(failedBackend == null ? "none" : failedBackend, b -> new LongAdder()).increment();
    }

    @Override
    public void onHealthChange(String backend, boolean healthy, String reason) {
        healthTransitions.computeIfAbsent(healthy ? "readmitted" : "ejected", k -> new LongAdder()).increment();
    }

    @Override
    public void onConfigReload(boolean applied, String error) {
        reloads.computeIfAbsent(applied ? "applied" : "refused", k -> new LongAdder()).increment();
    }

    /** Requests counted so far, over all labels (for tests and the dashboard). */
    public long requestsTotal() {
        return requests.values().stream().mapToLong(LongAdder::sum).sum();
    }

    /** Configuration reloads counted with {@code result} ({@code applied} or {@code refused}). */
    public long reloads(String result) {
        LongAdder a = reloads.get(result);
        return a == null ? 0 : a.sum();
    }

    /** The whole exposition, counters from the listener and gauges from {@code stats}. */
    public String render(RouterStats stats) {
        StringBuilder out = new StringBuilder(4096);

        header(out, "vllm_router_requests_total", "counter",
                "Requests finished, by the backend of the last attempt, model and HTTP status (499: client went away).");
        new TreeMap<>(asStrings(requests)).forEach((labels, v) ->
                out.append("vllm_router_requests_total{").append(labels).append("} ").append(v).append('\n'));

        header(out, "vllm_router_request_duration_seconds", "histogram",
                "Time from route() to the response body's end (or the failure), by backend.");
        new TreeMap<>(latency).forEach((b, h) -> h.write(out, "vllm_router_request_duration_seconds", label("backend", b) + ","));

        header(out, "vllm_router_time_to_first_byte_seconds", "histogram",
                "Time from route() to the backend's response headers, by backend.");
        new TreeMap<>(ttfb).forEach((b, h) -> h.write(out, "vllm_router_time_to_first_byte_seconds", label("backend", b) + ","));

        header(out, "vllm_router_retries_total", "counter", "Attempts that failed and were retried on another backend, by failed backend.");
        new TreeMap<>(retries).forEach((b, v) ->
                out.append("vllm_router_retries_total{").append(label("backend", b)).append("} ").append(v.sum()).append('\n'));

        header(out, "vllm_router_config_reloads_total", "counter", "Configuration reloads, by result (applied, refused).");
        for (String result : new String[] {"applied", "refused"}) {
            out.append("vllm_router_config_reloads_total{").append(label("result", result)).append("} ")
                    .append(reloads(result)).append('\n');
        }

        header(out, "vllm_router_health_transitions_total", "counter", "Backends ejected or re-admitted by the active health checks.");
        for (String kind : new String[] {"ejected", "readmitted"}) {
            LongAdder a = healthTransitions.get(kind);
            out.append("vllm_router_health_transitions_total{").append(label("transition", kind)).append("} ")
                    .append(a == null ? 0 : a.sum()).append('\n');
        }

        if (stats != null) {
            gauges(out, stats);
        }
        return out.toString();
    }

    private static void gauges(StringBuilder out, RouterStats stats) {
        header(out, "vllm_router_backend_in_flight", "gauge", "Requests this router has on the backend now.");
        for (BackendStats s : stats.servers()) {
            gauge(out, "vllm_router_backend_in_flight", s.url(), s.inFlight());
        }
        header(out, "vllm_router_backend_healthy", "gauge", "1 when the backend is admitted (health checks pass, breaker not open), else 0.");
        for (BackendStats s : stats.servers()) {
            gauge(out, "vllm_router_backend_healthy", s.url(), s.status() ? 1 : 0);
        }
        header(out, "vllm_router_backend_circuit_state", "gauge", "Circuit breaker state: 0 closed (or disabled), 1 half-open, 2 open.");
        for (BackendStats s : stats.servers()) {
            gauge(out, "vllm_router_backend_circuit_state", s.url(), circuitValue(s.circuitState()));
        }
        header(out, "vllm_router_backend_load", "gauge", "Estimated requests on the backend (scraped running + waiting, adjusted by this router).");
        for (BackendStats s : stats.servers()) {
            gauge(out, "vllm_router_backend_load", s.url(), s.currentLoad());
        }
        header(out, "vllm_router_backend_capacity", "gauge", "The backend's max_concurrent_requests.");
        for (BackendStats s : stats.servers()) {
            gauge(out, "vllm_router_backend_capacity", s.url(), s.maxCapacity());
        }
        header(out, "vllm_router_backends", "gauge", "Backends by state (configured, healthy).");
        out.append("vllm_router_backends{state=\"configured\"} ").append(stats.summary().totalServers()).append('\n');
        out.append("vllm_router_backends{state=\"healthy\"} ").append(stats.summary().healthyServers()).append('\n');
        if (!stats.strategyStats().isEmpty()) {
            header(out, "vllm_router_strategy", "gauge",
                    "The balancing strategy's own figures by name, e.g. cache-aware's index_bytes and index_max_bytes.");
            stats.strategyStats().forEach((name, value) -> out.append("vllm_router_strategy{strategy=\"")
                    .append(stats.strategy()).append("\",figure=\"").append(name).append("\"} ").append(value).append('\n'));
        }
    }

    static int circuitValue(CircuitState state) {
        if (state == null) {
            return 0;
        }
        switch (state) {
            case HALF_OPEN: return 1;
            case OPEN: return 2;
            default: return 0;
        }
    }

    private static void gauge(StringBuilder out, String name, String backend, double value) {
        out.append(name).append('{').append(label("backend", backend)).append("} ");
        if (value == Math.rint(value) && !Double.isInfinite(value)) {
            out.append((long) value);
        } else {
            out.append(value);
        }
        out.append('\n');
    }

    private static void header(StringBuilder out, String name, String type, String help) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static Map<String, Long> asStrings(Map<RequestKey, LongAdder> m) {
        Map<String, Long> out = new TreeMap<>();
        m.forEach((k, v) -> out.put(label("backend", k.backend()) + "," + label("model", k.model()) + ","
                + label("status", String.valueOf(k.status())), v.sum()));
        return out;
    }

    static String label(String name, String value) {
        StringBuilder b = new StringBuilder(name.length() + value.length() + 3);
        b.append(name).append("=\"");
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '\\': b.append("\\\\"); break;
                case '"': b.append("\\\""); break;
                case '\n': b.append("\\n"); break;
                default: b.append(c);
            }
        }
        return b.append('"').toString();
    }
}
