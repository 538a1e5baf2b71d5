package io.vllmrouter.examples.logging;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import io.vllmrouter.api.OneLine;
import io.vllmrouter.api.RequestOutcome;
import io.vllmrouter.api.RouterListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.function.Supplier;

/**
 * Logs what the router does: one JSON line per request to the structured log (logger
 * {@value #STRUCTURED_LOGGER}, file {@code vllm-router-structured.log}) and one human line per
 * request at INFO to the main log (logger {@value #ACCESS_LOGGER}); retries at DEBUG. Fleet events
 * (ejections, re-admissions, breaker changes, reloads) are logged by the router itself. Pass it to
 * the router's builder ({@code VllmRouters.Builder.listener}, beside any others). Thread-safe; never throws.
 * {@link #warningsOnly()} keeps the WARN of an answer cut short and the retries, and writes no line
 * per request (the proxy's {@code --no-request-log}).
 *
 * <p>Structured line fields: {@code ts, request_id, model, backend, status, latency_ms, ttfb_ms,
 * retries, stream, outcome, bytes}.
 */
public final class RequestLog implements RouterListener {

    public static final String STRUCTURED_LOGGER = "vllmrouter.structured";
    public static final String ACCESS_LOGGER = "vllmrouter.access";

    private static final Logger EVENTS = LoggerFactory.getLogger("vllmrouter.events");

    private final Logger structured;
    private final Logger access;
    private final Supplier<Instant> clock;
    private final boolean everyRequest;
    /**
     * What takes the structured lines whole, without a logging event per line ({@link
     * BatchingAsyncAppender#linesFor}); {@link #EVENTS_ONLY} when the configuration has none; null
     * until the first line.
     */
    private volatile Object lineWriter;
    private static final Object EVENTS_ONLY = new Object();

    public RequestLog() {
        this(true);
    }

    /** A request log that writes no line per request: only the WARN of an answer cut short, and retries at DEBUG. */
    public static RequestLog warningsOnly() {
        return new RequestLog(false);
    }

    private RequestLog(boolean everyRequest) {
        this(LoggerFactory.getLogger(STRUCTURED_LOGGER), LoggerFactory.getLogger(ACCESS_LOGGER), Instant::now, everyRequest);
    }

    RequestLog(Logger structured, Logger access, Supplier<Instant> clock, boolean everyRequest) {
        this.structured = structured;
        this.access = access;
        this.clock = clock;
        this.everyRequest = everyRequest;
    }

    @Override
    public void onRequestComplete(RequestRecord r) {
        if (everyRequest && structured.isInfoEnabled()) {
            structuredLine(toJson(r, clock.get()));
        }
        // An answer cut short went out with a 200 status: without a WARN nobody would notice it.
        boolean cut = r.outcome() == RequestOutcome.CUT_SHORT;
        if (cut ? access.isWarnEnabled() : everyRequest && access.isInfoEnabled()) {
            String format = "{} model={} backend={} status={} outcome={} latency={}ms ttfb={}ms retries={}{}";
            Object[] args = {OneLine.escape(r.requestId()), OneLine.escape(r.model()), OneLine.escape(r.backend()),
                    r.status(), r.outcome().label(), millisText(r.latencyNanos()),
                    r.ttfbNanos() < 0 ? "-1" : millisText(r.ttfbNanos()), r.retries(), r.stream() ? " stream" : ""};
            if (cut) {
                access.warn(format + " (the answer was cut short after it began)", args);
            } else {
                access.info(format, args);
            }
        }
    }

    /**
     * Hands the line to the structured log's batching appender when the configuration allows it
     * (the proxy's own does), else logs it as an event: looked up again when the appender was
     * stopped, as by a new logging configuration.
     */
    private void structuredLine(String line) {
        Object w = lineWriter;
        if (w == null) {
            w = lineWriter();
        }
        if (w instanceof BatchingAsyncAppender a) {
            if (a.offerLine(line)
                    || lineWriter() instanceof BatchingAsyncAppender again && again.offerLine(line)) {
                return;
            }
        }
        structured.info(line);
    }

    private Object lineWriter() {
        BatchingAsyncAppender a = BatchingAsyncAppender.linesFor(structured);
        Object w = a != null ? a : EVENTS_ONLY;
        lineWriter = w;
        return w;
    }

    /**
     * The structured log's line for one request. Written by hand rather than through a Jackson
     * tree: it runs on the proxy's event loop once per request (strings escaped by Jackson's
     * encoder, numbers as Jackson writes them), in the calling thread's reused builder.
     */
    static String toJson(RequestRecord r, Instant ts) {
        StringBuilder b = LINE.get();
        b.setLength(0);
        b.append("{\"ts\":\"");
        timestamp(b, ts);
        b.append('"');
        b.append(",\"request_id\":");
        string(b, r.requestId());
        b.append(",\"model\":");
        string(b, r.model());
        b.append(",\"backend\":");
        string(b, r.backend());
        b.append(",\"status\":").append(r.status());
        b.append(",\"latency_ms\":");
        millis(b, r.latencyNanos());
        b.append(",\"ttfb_ms\":");
        if (r.ttfbNanos() < 0) {
            b.append("null");
        } else {
            millis(b, r.ttfbNanos());
        }
        b.append(",\"retries\":").append(r.retries());
        b.append(",\"stream\":").append(r.stream());
        b.append(",\"outcome\":");
        string(b, r.outcome().label());
        b.append(",\"bytes\":").append(r.bytes());
        String line = b.append('}').toString();
        if (b.capacity() > MAX_KEPT_CHARS) {
            LINE.remove(); // a line with a huge model name: its builder is not kept
        }
        return line;
    }

    /** Each logging thread's line builder, reused: the line is copied out of it, so one per request is saved. */
    private static final ThreadLocal<StringBuilder> LINE = ThreadLocal.withInitial(() -> new StringBuilder(256));
    private static final int MAX_KEPT_CHARS = 4096;

    private static void string(StringBuilder b, String s) {
        if (s == null) {
            b.append("null");
        } else if (plain(s)) {
            b.append('"').append(s).append('"');
        } else {
            b.append('"').append(JsonStringEncoder.getInstance().quoteAsString(s)).append('"');
        }
    }

    /** Printable ASCII without quote or backslash: what request ids, models and URLs nearly always are. */
    private static boolean plain(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
                return false;
            }
        }
        return true;
    }

    /** The date and time of the last second formatted, shared by the threads that log. */
    private record Second(long epochSecond, String text) {
    }

    private static volatile Second lastSecond = new Second(Long.MIN_VALUE, "");

    /**
     * {@code ts} in ISO-8601 UTC with milliseconds, e.g. {@code 2026-01-01T00:00:00.000Z}: the
     * date and time are formatted once per second, not once per request.
     */
    static void timestamp(StringBuilder b, Instant ts) {
        long second = ts.getEpochSecond();
        Second s = lastSecond;
        if (s.epochSecond() != second) {
            s = new Second(second, DateTimeFormatter.ISO_LOCAL_DATE_TIME.format(
                    LocalDateTime.ofEpochSecond(second, 0, ZoneOffset.UTC)));
            lastSecond = s;
        }
        int millis = ts.getNano() / 1_000_000;
        b.append(s.text()).append('.');
        if (millis < 100) {
            b.append('0');
        }
        if (millis < 10) {
            b.append('0');
        }
        b.append(millis).append('Z');
    }

    /**
     * {@code nanos} in milliseconds rounded to a tenth, e.g. {@code 12.3} or {@code 0.0}, in integer
     * arithmetic: formatting a double costs more than the rest of the line.
     */
    static void millis(StringBuilder b, long nanos) {
        long tenths = (Math.max(0, nanos) + 50_000) / 100_000;
        b.append(tenths / 10).append('.').append((char) ('0' + tenths % 10));
    }

    private static String millisText(long nanos) {
        StringBuilder b = new StringBuilder(12);
        millis(b, nanos);
        return b.toString();
    }

    @Override
    public void onRetry(String requestId, String failedBackend, String reason) {
        EVENTS.debug("retry {}: {} failed ({})", requestId, failedBackend, reason);
    }
}
