package io.vllmrouter.examples.opentelemetry;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.vllmrouter.api.RouterListener;
import io.vllmrouter.api.RouterRequest;

import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.BiConsumer;

/**
 * The router's traces through the OpenTelemetry API, as a {@link RouterListener}: one server span per
 * routed request (a child of the caller's trace when its {@code traceparent} came along), one client
 * span per attempt on a backend, and the W3C {@code traceparent} of that attempt's span sent to the
 * backend, so vLLM's own spans (with {@code --otlp-traces-endpoint}) join the same trace.
 *
 * <pre>{@code
 * OpenTelemetry otel = ...;                          // the application's SDK (or GlobalOpenTelemetry.get())
 * VllmRouter router = VllmRouters.builder().config(config).listener(new RouterTracing(otel)).build();
 * }</pre>
 *
 * <p>Spans are named as the GenAI semantic conventions ask, {@code "{operation} {model}"} (for
 * example {@code "chat llama-3.1-8b"}), and carry {@code gen_ai.operation.name},
 * {@code gen_ai.request.model}, {@code server.address} and {@code server.port} (the backend, on
 * attempts), {@code http.response.status_code}, {@code error.type} on failures, and on the server
 * span {@code gen_ai.response.time_to_first_chunk} (seconds to the first bytes of the answer),
 * {@code vllm_router.outcome} (the {@link io.vllmrouter.api.RequestOutcome} label),
 * {@code vllm_router.retries} and {@code vllm_router.backend}. A failure outcome sets the span's
 * status to ERROR. Token usage is not read from answers (the router does not parse bodies), so
 * {@code gen_ai.usage.*} is left to the backend's own spans.
 *
 * <p>Requests are matched to their spans by request id; two concurrent requests with the same
 * caller-chosen {@code X-Request-Id} share nothing: the second one is not traced. Threads: any; the
 * state is in concurrent maps, emptied as requests end. With OpenTelemetry's no-op API (no SDK) the
 * work per request is a few map operations.
 */
public final class RouterTracing implements RouterListener {

    /** The instrumentation scope's name. */
    public static final String SCOPE = "io.vllmrouter";

    static final AttributeKey<String> OPERATION = AttributeKey.stringKey("gen_ai.operation.name");
    static final AttributeKey<String> REQUEST_MODEL = AttributeKey.stringKey("gen_ai.request.model");
    static final AttributeKey<Double> TIME_TO_FIRST_CHUNK = AttributeKey.doubleKey("gen_ai.response.time_to_first_chunk");
    static final AttributeKey<String> SERVER_ADDRESS = AttributeKey.stringKey("server.address");
    static final AttributeKey<Long> SERVER_PORT = AttributeKey.longKey("server.port");
    static final AttributeKey<Long> STATUS_CODE = AttributeKey.longKey("http.response.status_code");
    static final AttributeKey<String> METHOD = AttributeKey.stringKey("http.request.method");
    static final AttributeKey<String> PATH = AttributeKey.stringKey("url.path");
    static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
    static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("vllm_router.outcome");
    static final AttributeKey<String> REQUEST_ID = AttributeKey.stringKey("vllm_router.request_id");
    static final AttributeKey<String> BACKEND = AttributeKey.stringKey("vllm_router.backend");
    static final AttributeKey<Long> RETRIES = AttributeKey.longKey("vllm_router.retries");
    static final AttributeKey<Long> ATTEMPT = AttributeKey.longKey("vllm_router.attempt");
    static final AttributeKey<Boolean> STREAM = AttributeKey.booleanKey("vllm_router.stream");

    private static final TextMapGetter<Map<String, List<String>>> HEADERS = new TextMapGetter<>() {
        @Override
        public String get(Map<String, List<String>> carrier, String key) {
            if (carrier == null) {
                return null;
            }
            for (Map.Entry<String, List<String>> e : carrier.entrySet()) {
                if (e.getKey().equalsIgnoreCase(key) && !e.getValue().isEmpty()) {
                    return e.getValue().get(0);
                }
            }
            return null;
        }
    };

    /** One traced request: its server span and the spans of its attempts in flight. */
    private record Traced(Span span, Context context, String operation, String model, ConcurrentMap<Integer, Span> attempts) {
    }

    private final Tracer tracer;
    private final TextMapPropagator propagator;
    private final ConcurrentMap<String, Traced> requests = new ConcurrentHashMap<>();

    /** Traces through {@code otel}'s tracer provider and text-map propagator (W3C trace context by default in the SDK). */
    public RouterTracing(OpenTelemetry otel) {
        Objects.requireNonNull(otel, "otel");
        this.tracer = otel.getTracer(SCOPE);
        this.propagator = otel.getPropagators().getTextMapPropagator();
    }

    /** Requests whose spans are still open (for tests). */
    int open() {
        return requests.size();
    }

    @Override
    public void onRequestStart(String requestId, String model, RouterRequest request) {
        Context parent = propagator.extract(Context.root(), request.headers(), HEADERS);
        String operation = operation(request.path());
        SpanBuilder b = tracer.spanBuilder(name(operation, model)).setSpanKind(SpanKind.SERVER).setParent(parent)
                .setAttribute(OPERATION, operation)
                .setAttribute(METHOD, request.method())
                .setAttribute(PATH, pathOnly(request.path()))
                .setAttribute(REQUEST_ID, requestId);
        if (model != null) {
            b.setAttribute(REQUEST_MODEL, model);
        }
        Span span = b.startSpan();
        if (requests.putIfAbsent(requestId, new Traced(span, parent.with(span), operation, model,
                new ConcurrentHashMap<>())) != null) {
            span.end();   // an id already in flight: not traced rather than mixed up
        }
    }

    @Override
    public void onAttemptStart(String requestId, String backend, int attempt, BiConsumer<String, String> header) {
        Traced t = requests.get(requestId);
        if (t == null) {
            return;
        }
        SpanBuilder b = tracer.spanBuilder(name(t.operation(), t.model())).setSpanKind(SpanKind.CLIENT)
                .setParent(t.context())
                .setAttribute(OPERATION, t.operation())
                .setAttribute(ATTEMPT, (long) attempt)
                .setAttribute(BACKEND, backend);
        if (t.model() != null) {
            b.setAttribute(REQUEST_MODEL, t.model());
        }
        URI uri = backendUri(backend);
        if (uri != null && uri.getHost() != null) {
            b.setAttribute(SERVER_ADDRESS, uri.getHost());
            b.setAttribute(SERVER_PORT, (long) (uri.getPort() > 0 ? uri.getPort() : "https".equals(uri.getScheme()) ? 443 : 80));
        }
        Span span = b.startSpan();
        Span before = t.attempts().put(attempt, span);
        if (before != null) {
            before.end();
        }
        propagator.inject(t.context().with(span), header, (h, k, v) -> h.accept(k, v));
    }

    @Override
    public void onAttemptEnd(String requestId, String backend, int attempt, int status, String failure) {
        Traced t = requests.get(requestId);
        Span span = t == null ? null : t.attempts().remove(attempt);
        if (span == null) {
            return;
        }
        if (status >= 0) {
            span.setAttribute(STATUS_CODE, (long) status);
        }
        if (failure != null && !failure.equals("cancelled")) {
            span.setStatus(StatusCode.ERROR, failure);
            span.setAttribute(ERROR_TYPE, status >= 400 ? String.valueOf(status) : errorType(failure));
        }
        span.end();
    }

    @Override
    public void onRequestComplete(RequestRecord r) {
        Traced t = requests.remove(r.requestId());
        if (t == null) {
            return;
        }
        Span span = t.span();
        span.setAttribute(STATUS_CODE, (long) r.status());
        span.setAttribute(OUTCOME, r.outcome().label());
        span.setAttribute(RETRIES, (long) r.retries());
        span.setAttribute(STREAM, r.stream());
        if (r.backend() != null) {
            span.setAttribute(BACKEND, r.backend());
        }
        if (r.ttfbNanos() >= 0) {
            span.setAttribute(TIME_TO_FIRST_CHUNK, r.ttfbNanos() / 1e9);
        }
        if (r.outcome().isFailure()) {
            span.setStatus(StatusCode.ERROR, r.outcome().label());
            span.setAttribute(ERROR_TYPE, r.outcome().label());
        }
        for (Span open : t.attempts().values()) {
            open.end();   // an attempt whose end was not heard (should not happen): never leave it open
        }
        span.end();
    }

    /** The GenAI operation of an OpenAI path: chat, text_completion, embeddings, or the path itself. */
    static String operation(String path) {
        String p = pathOnly(path);
        if (p.endsWith("/chat/completions")) {
            return "chat";
        }
        if (p.endsWith("/completions")) {
            return "text_completion";
        }
        if (p.endsWith("/embeddings")) {
            return "embeddings";
        }
        if (p.endsWith("/responses")) {
            return "generate_content";
        }
        return p;
    }

    private static String name(String operation, String model) {
        return model == null ? operation : operation + " " + model;
    }

    private static String pathOnly(String path) {
        int q = path.indexOf('?');
        return q < 0 ? path : path.substring(0, q);
    }

    private static URI backendUri(String backend) {
        try {
            return URI.create(backend);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** A short, low-cardinality error type from a failure in words: "connection refused", "timed out", ... */
    private static String errorType(String failure) {
        String f = failure.startsWith("cut short: ") ? "cut_short" : failure;
        int colon = f.indexOf(':');
        return colon > 0 ? f.substring(0, colon) : f;
    }
}
