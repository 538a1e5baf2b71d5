package io.vllmrouter.examples.logging;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vllmrouter.api.RouterListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.function.Supplier;

/**
 * Logs what the router does: one JSON line per request to the structured log (logger
 * {@value #STRUCTURED_LOGGER}, file {@code vllm-router-structured.log}) and one human line per
 * request at INFO to the main log (logger {@value #ACCESS_LOGGER}); retries at DEBUG. Fleet events
 * (ejections, re-admissions, breaker changes, reloads) are logged by the router itself. Pass it to
 * the router's builder, alone or in a {@code CompositeListener}. Thread-safe; never throws.
 *
 * <p>Structured line fields: {@code ts, request_id, model, backend, status, latency_ms, ttfb_ms,
 * retries, stream, outcome, bytes}.
 */
public final class RequestLog implements RouterListener {

    public static final String STRUCTURED_LOGGER = "vllmrouter.structured";
    public static final String ACCESS_LOGGER = "vllmrouter.access";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Logger EVENTS = LoggerFactory.getLogger("vllmrouter.events");

    private final Logger structured;
    private final Logger access;
    private final Supplier<Instant> clock;

    public RequestLog() {
        this(LoggerFactory.getLogger(STRUCTURED_LOGGER), LoggerFactory.getLogger(ACCESS_LOGGER), Instant::now);
    }

    RequestLog(Logger structured, Logger access, Supplier<Instant> clock) {
        this.structured = structured;
        this.access = access;
        this.clock = clock;
    }

    @Override
    public void onRequestComplete(RequestRecord r) {
        if (structured.isInfoEnabled()) {
            structured.info(toJson(r, clock.get()));
        }
        if (access.isInfoEnabled()) {
            access.info("{} model={} backend={} status={} outcome={} latency={}ms ttfb={}ms retries={}{}",
                    r.requestId(), r.model(), r.backend(), r.status(), r.outcome().label(),
                    millis(r.latencyNanos()), r.ttfbNanos() < 0 ? -1 : millis(r.ttfbNanos()), r.retries(),
                    r.stream() ? " stream" : "");
        }
    }

    /** The structured log's line for one request. */
    static String toJson(RequestRecord r, Instant ts) {
        ObjectNode n = JSON.createObjectNode();
        n.put("ts", ts.toString());
        n.put("request_id", r.requestId());
        n.put("model", r.model());
        n.put("backend", r.backend());
        n.put("status", r.status());
        n.put("latency_ms", millis(r.latencyNanos()));
        if (r.ttfbNanos() < 0) {
            n.putNull("ttfb_ms");
        } else {
            n.put("ttfb_ms", millis(r.ttfbNanos()));
        }
        n.put("retries", r.retries());
        n.put("stream", r.stream());
        n.put("outcome", r.outcome().label());
        n.put("bytes", r.bytes());
        try {
            return JSON.writeValueAsString(n);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static double millis(long nanos) {
        return Math.round(nanos / 1e5) / 10.0;
    }

    @Override
    public void onRetry(String requestId, String failedBackend, String reason) {
        EVENTS.debug("retry {}: {} failed ({})", requestId, failedBackend, reason);
    }
}
