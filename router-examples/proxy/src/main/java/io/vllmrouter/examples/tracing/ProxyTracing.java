package io.vllmrouter.examples.tracing;

import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import io.vllmrouter.api.RouterListener;
import io.vllmrouter.examples.opentelemetry.RouterTracing;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The proxy's traces: the OpenTelemetry SDK with its OTLP exporter (HTTP/protobuf over the JDK's
 * client), configured by {@code run --otlp-endpoint URL} or the standard {@code OTEL_*} environment
 * variables, feeding {@link RouterTracing}. Off unless asked for: without an endpoint (or
 * {@code OTEL_TRACES_EXPORTER}) no SDK is created and the router has no tracing listener.
 *
 * <pre>{@code
 * ProxyTracing tracing = ProxyTracing.start("http://127.0.0.1:4318", System.getenv());   // null when off
 * RouterListener listener = tracing == null ? new RouterListener() { } : tracing.listener();
 * ... tracing.close();                                                                 // flushes spans
 * }</pre>
 *
 * <p>Defaults the environment can override: {@code OTEL_SERVICE_NAME=vllm-router},
 * {@code OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf}; metrics and logs are not exported (they have
 * {@code /metrics} and the log files). {@code --otlp-endpoint} wins over {@code OTEL_EXPORTER_OTLP_ENDPOINT}.
 */
public final class ProxyTracing implements AutoCloseable {

    private final OpenTelemetrySdk sdk;
    private final RouterTracing listener;
    private final String describe;

    private ProxyTracing(OpenTelemetrySdk sdk, String describe) {
        this.sdk = sdk;
        this.listener = new RouterTracing(sdk);
        this.describe = describe;
    }

    /**
     * Starts tracing when {@code otlpEndpoint} is given or the environment asks for it; null otherwise.
     *
     * @param otlpEndpoint the collector's OTLP/HTTP base URL (spans go to {@code /v1/traces} under it), or null
     * @param env          the environment ({@code OTEL_*} variables are read from it)
     */
    public static ProxyTracing start(String otlpEndpoint, Map<String, String> env) {
        if ("true".equalsIgnoreCase(env.getOrDefault("OTEL_SDK_DISABLED", "").strip())) {
            return null;
        }
        String exporter = env.getOrDefault("OTEL_TRACES_EXPORTER", "").strip();
        boolean asked = otlpEndpoint != null
                || !env.getOrDefault("OTEL_EXPORTER_OTLP_ENDPOINT", "").isBlank()
                || !env.getOrDefault("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").isBlank()
                || (!exporter.isEmpty() && !exporter.equals("none"));
        if (!asked) {
            return null;
        }
        Map<String, String> defaults = new HashMap<>();
        defaults.put("otel.service.name", "vllm-router");
        defaults.put("otel.traces.exporter", "otlp");
        defaults.put("otel.metrics.exporter", "none");
        defaults.put("otel.logs.exporter", "none");
        defaults.put("otel.exporter.otlp.protocol", "http/protobuf");
        Map<String, String> fromEnv = new HashMap<>();
        env.forEach((k, v) -> {
            if (k.startsWith("OTEL_") && v != null) {
                fromEnv.put(k.toLowerCase(Locale.ROOT).replace('_', '.'), v);
            }
        });
        Map<String, String> flag = new HashMap<>();
        if (otlpEndpoint != null) {
            flag.put("otel.exporter.otlp.endpoint", otlpEndpoint);
            flag.put("otel.exporter.otlp.traces.endpoint", tracesUrl(otlpEndpoint));
        }
        OpenTelemetrySdk sdk = AutoConfiguredOpenTelemetrySdk.builder()
                .addPropertiesSupplier(() -> defaults)
                .addPropertiesSupplier(() -> fromEnv)
                .addPropertiesCustomizer(config -> flag)
                .disableShutdownHook()
                .build()
                .getOpenTelemetrySdk();
        String where = otlpEndpoint != null ? tracesUrl(otlpEndpoint)
                : env.getOrDefault("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                        env.getOrDefault("OTEL_EXPORTER_OTLP_ENDPOINT", "the exporter OTEL_TRACES_EXPORTER names"));
        return new ProxyTracing(sdk, "traces to " + where);
    }

    /** {@code base} + {@code /v1/traces}, as the OTLP/HTTP exporter expects a signal URL. */
    static String tracesUrl(String base) {
        String b = base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
        return b.endsWith("/v1/traces") ? b : b + "/v1/traces";
    }

    /** The listener to give the router. */
    public RouterListener listener() {
        return listener;
    }

    /** Where spans go, for the start-up line. */
    public String describe() {
        return describe;
    }

    /** Flushes the spans still queued (waits up to 5 s) and stops the exporter. */
    @Override
    public void close() {
        sdk.getSdkTracerProvider().forceFlush().join(5, TimeUnit.SECONDS);
        sdk.shutdown().join(5, TimeUnit.SECONDS);
    }
}
