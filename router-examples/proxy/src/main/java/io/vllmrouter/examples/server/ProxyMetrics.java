package io.vllmrouter.examples.server;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vllmrouter.api.CircuitState;
import io.vllmrouter.api.RouterStats;
import io.vllmrouter.api.RouterListener;
import io.vllmrouter.examples.micrometer.RouterMetrics;

/**
 * The proxy's {@code /metrics}: the router's metrics ({@link RouterMetrics}, Micrometer) plus the JVM's,
 * in a Prometheus registry written in the text exposition format by the Prometheus Java client.
 * Counters and timers are fed as a {@link RouterListener} (pass this to the router's builder);
 * per-backend gauges are read from the {@link RouterStats} given to {@link #render}.
 *
 * <pre>{@code
 * ProxyMetrics metrics = new ProxyMetrics();
 * DefaultVllmRouter router = VllmRouters.builder().config(config).listener(metrics).build();
 * ProxyServer server = ProxyServer.start(router, ProxyOptions.builder().metrics(metrics).build());
 * }</pre>
 *
 * <p>Names, units and labels are listed in docs/observability.md.
 */
public final class ProxyMetrics implements RouterListener {

    /** Most distinct request series; further models count as {@code model="_other"}. */
    static final int MAX_SERIES = RouterMetrics.MAX_SERIES;

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final RouterMetrics router = new RouterMetrics();

    public ProxyMetrics() {
        router.bindTo(registry);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
    }

    @Override
    public void onRequestComplete(RequestRecord r) {
        router.onRequestComplete(r);
    }

    @Override
    public void onRetry(String requestId, String failedBackend, String reason) {
        router.onRetry(requestId, failedBackend, reason);
    }

    @Override
    public void onHealthChange(String backend, boolean healthy, String reason) {
        router.onHealthChange(backend, healthy, reason);
    }

    @Override
    public void onCircuitStateChange(String backend, CircuitState from, CircuitState to) {
        router.onCircuitStateChange(backend, from, to);
    }

    @Override
    public void onConfigReload(boolean applied, String error) {
        router.onConfigReload(applied, error);
    }

    /**
     * A client connection failed: {@code kind} is {@code "protocol"} (HTTP/1.1 or HTTP/2 it could not
     * speak), {@code "tls"} or {@code "io"} (reset, broken pipe). Counted in
     * {@code vllm_router_client_connection_errors_total}.
     */
    public void clientConnectionError(String kind) {
        registry.counter("vllm_router_client_connection_errors", "kind", kind).increment();
    }

    /** Requests counted so far, over all labels (for tests and the dashboard). */
    public long requestsTotal() {
        return router.requestsTotal();
    }

    /** Requests counted so far by outcome label (for the web dashboard's outcome rates). */
    public java.util.Map<String, Long> requestsByOutcome() {
        return router.requestsByOutcome();
    }

    /** Configuration reloads counted with {@code result} ({@code applied} or {@code refused}). */
    public long reloads(String result) {
        return router.reloads(result);
    }

    /** The registry behind {@code /metrics}, for a host that adds its own meters. */
    public MeterRegistry registry() {
        return registry;
    }

    /** The whole exposition (Prometheus text format 0.0.4), gauges taken from {@code stats} (may be null). */
    public String render(RouterStats stats) {
        router.update(stats);
        return registry.scrape();
    }
}
