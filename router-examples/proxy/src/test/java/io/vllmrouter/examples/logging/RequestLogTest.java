package io.vllmrouter.examples.logging;

import io.vllmrouter.api.RequestOutcome;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vllmrouter.api.RouterListener.RequestRecord;
import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RequestLogTest {

    @Test
    void structuredLineHasEveryField() throws Exception {
        String line = RequestLog.toJson(new RequestRecord("req-1", "llama", true, "http://a:1", 200, RequestOutcome.SUCCESS,
                1_234_567_890L, 45_600_000L, 1, 999), Instant.parse("2026-01-01T00:00:00Z"));
        assertThat(line).doesNotContain("\n");
        JsonNode n = new ObjectMapper().readTree(line);
        assertThat(n.get("ts").asText()).isEqualTo("2026-01-01T00:00:00.000Z");
        assertThat(n.get("request_id").asText()).isEqualTo("req-1");
        assertThat(n.get("model").asText()).isEqualTo("llama");
        assertThat(n.get("backend").asText()).isEqualTo("http://a:1");
        assertThat(n.get("status").asInt()).isEqualTo(200);
        assertThat(n.get("latency_ms").asDouble()).isEqualTo(1234.6);
        assertThat(n.get("ttfb_ms").asDouble()).isEqualTo(45.6);
        assertThat(n.get("retries").asInt()).isEqualTo(1);
        assertThat(n.get("stream").asBoolean()).isTrue();
        assertThat(n.get("outcome").asText()).isEqualTo("success");
    }

    @Test
    void timestampsAreUtcWithMillisecondsWhicheverSecondCameBefore() {
        assertThat(ts("2026-01-01T00:00:00.007Z")).isEqualTo("2026-01-01T00:00:00.007Z");
        assertThat(ts("2026-01-01T00:00:00.07Z")).isEqualTo("2026-01-01T00:00:00.070Z");
        assertThat(ts("2026-01-01T00:00:01Z")).isEqualTo("2026-01-01T00:00:01.000Z");
        assertThat(ts("2025-12-31T23:59:59.999999999Z")).isEqualTo("2025-12-31T23:59:59.999Z");
        assertThat(ts("2026-01-01T00:00:01.5Z")).isEqualTo("2026-01-01T00:00:01.500Z");
    }

    private static String ts(String instant) {
        StringBuilder b = new StringBuilder();
        RequestLog.timestamp(b, Instant.parse(instant));
        return b.toString();
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({
            "0, 0.0", "49999, 0.0", "50000, 0.1", "1234567890, 1234.6", "45600000, 45.6", "999950000, 1000.0",
            "86400000000000, 86400000.0", "-5, 0.0"})
    void millisecondsAreRoundedToATenthWithoutExponent(long nanos, String text) {
        StringBuilder b = new StringBuilder();
        RequestLog.millis(b, nanos);
        assertThat(b).hasToString(text);
    }

    @Test
    void noTtfbIsNull() throws Exception {
        String line = RequestLog.toJson(new RequestRecord("r", null, false, null, 503, RequestOutcome.NO_BACKEND, 1000, -1, 0, 0), Instant.EPOCH);
        JsonNode n = new ObjectMapper().readTree(line);
        assertThat(n.get("ttfb_ms").isNull()).isTrue();
        assertThat(n.get("backend").isNull()).isTrue();
    }

    @Test
    void stringsAreEscaped() throws Exception {
        String model = "a \"quoted\"\nmodel\\ \u00e9";
        String line = RequestLog.toJson(new RequestRecord("r", model, false, "http://a:1", 200, RequestOutcome.SUCCESS, 1000, 10, 0, 5), Instant.EPOCH);
        assertThat(line).doesNotContain("\n");
        assertThat(new ObjectMapper().readTree(line).get("model").asText()).isEqualTo(model);
    }

    @Test
    void aNewlineInTheModelCannotForgeALine() throws Exception {
        String model = "llama\n2026-01-01 00:00:00 INFO vllmrouter.access forged status=200\r";
        RequestRecord r = new RequestRecord("r\n1", model, false, "http://a:1", 200, RequestOutcome.SUCCESS, 1000, 10, 0, 5);
        java.util.List<String> lines = new java.util.ArrayList<>();
        org.slf4j.Logger access = (org.slf4j.Logger) java.lang.reflect.Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {org.slf4j.Logger.class}, (p, m, args) -> {
                    if (m.getName().equals("isInfoEnabled")) {
                        return true;
                    }
                    if (m.getName().equals("info") && args.length == 2) {
                        lines.add(org.slf4j.helpers.MessageFormatter.arrayFormat((String) args[0], (Object[]) args[1]).getMessage());
                    }
                    return null;
                });
        new RequestLog(org.slf4j.helpers.NOPLogger.NOP_LOGGER, access, () -> Instant.EPOCH, true).onRequestComplete(r);

        assertThat(lines).hasSize(1);
        assertThat(lines.get(0)).doesNotContain("\n").doesNotContain("\r").contains("model=llama\\n2026");
        String json = RequestLog.toJson(r, Instant.EPOCH);
        assertThat(json).doesNotContain("\n").doesNotContain("\r");
        assertThat(new ObjectMapper().readTree(json).get("model").asText()).isEqualTo(model);
    }

    @Test
    void withoutTheRequestLogOnlyAnAnswerCutShortIsLogged() {
        java.util.List<String> structured = new java.util.ArrayList<>();
        java.util.List<String> access = new java.util.ArrayList<>();
        RequestLog log = new RequestLog(recording(structured), recording(access), () -> Instant.EPOCH, false);

        log.onRequestComplete(new RequestRecord("ok-1", "llama", false, "http://a:1", 200, RequestOutcome.SUCCESS, 1000, 10, 0, 5));
        assertThat(structured).isEmpty();
        assertThat(access).isEmpty();

        log.onRequestComplete(new RequestRecord("cut-1", "llama", true, "http://a:1", 200, RequestOutcome.CUT_SHORT, 1000, 10, 0, 5));
        assertThat(structured).isEmpty();
        assertThat(access).singleElement().asString().startsWith("WARN cut-1 ").contains("cut short");

        new RequestLog(recording(structured), recording(access), () -> Instant.EPOCH, true)
                .onRequestComplete(new RequestRecord("ok-2", "llama", false, "http://a:1", 200, RequestOutcome.SUCCESS, 1000, 10, 0, 5));
        assertThat(structured).singleElement().asString().contains("\"request_id\":\"ok-2\"");
        assertThat(access).hasSize(2).last().asString().startsWith("INFO ok-2 ").contains(" latency=0.0ms ttfb=0.0ms ");
    }

    /** A logger at INFO that keeps each line as "LEVEL message". */
    private static org.slf4j.Logger recording(java.util.List<String> lines) {
        return (org.slf4j.Logger) java.lang.reflect.Proxy.newProxyInstance(
                RequestLogTest.class.getClassLoader(), new Class<?>[] {org.slf4j.Logger.class}, (p, m, args) -> {
                    String name = m.getName();
                    if (name.equals("isInfoEnabled") || name.equals("isWarnEnabled")) {
                        return true;
                    }
                    if ((name.equals("info") || name.equals("warn")) && args.length >= 1 && args[0] instanceof String format) {
                        Object[] params = args.length == 1 ? new Object[0]
                                : args[1] instanceof Object[] a ? a : java.util.Arrays.copyOfRange(args, 1, args.length);
                        lines.add(name.toUpperCase(java.util.Locale.ROOT) + " "
                                + org.slf4j.helpers.MessageFormatter.arrayFormat(format, params).getMessage());
                        return null;
                    }
                    return m.getReturnType() == boolean.class ? false : null;
                });
    }

    @Test
    @org.junit.jupiter.api.Timeout(10)
    void structuredLinesGoWholeToTheBatchingAppenderAndFindTheNextOneAfterAReconfiguration() {
        ch.qos.logback.classic.LoggerContext context = new ch.qos.logback.classic.LoggerContext();
        BatchingAsyncAppenderTest.FlushSignal first = new BatchingAsyncAppenderTest.FlushSignal();
        BatchingAsyncAppender firstAppender = BatchingAsyncAppenderTest.start(context, first, 64, new MessageLineEncoder());
        ch.qos.logback.classic.Logger logger = context.getLogger("test");
        RequestLog log = new RequestLog(logger, org.slf4j.helpers.NOPLogger.NOP_LOGGER, () -> Instant.EPOCH, true);

        log.onRequestComplete(new RequestRecord("one", "llama", false, "http://a:1", 200, RequestOutcome.SUCCESS, 1000, 10, 0, 5));
        // a new configuration: the first appender stops, another takes its place
        logger.detachAppender(firstAppender);
        firstAppender.stop();
        BatchingAsyncAppenderTest.FlushSignal second = new BatchingAsyncAppenderTest.FlushSignal();
        BatchingAsyncAppender secondAppender = BatchingAsyncAppenderTest.start(context, second, 64, new MessageLineEncoder());
        log.onRequestComplete(new RequestRecord("two", "llama", false, "http://a:1", 200, RequestOutcome.SUCCESS, 1000, 10, 0, 5));
        secondAppender.stop();

        assertThat(first.text().lines()).singleElement().asString().contains("\"request_id\":\"one\"");
        assertThat(second.text().lines()).singleElement().asString().contains("\"request_id\":\"two\"");
    }

    @Test
    @org.junit.jupiter.api.Timeout(10)
    void aConfigurationThatFormatsEachLineGetsAnEventPerLine() {
        ch.qos.logback.classic.LoggerContext context = new ch.qos.logback.classic.LoggerContext();
        BatchingAsyncAppenderTest.FlushSignal sink = new BatchingAsyncAppenderTest.FlushSignal();
        ch.qos.logback.classic.encoder.PatternLayoutEncoder encoder = new ch.qos.logback.classic.encoder.PatternLayoutEncoder();
        encoder.setPattern("%level %msg%n");
        BatchingAsyncAppender appender = BatchingAsyncAppenderTest.start(context, sink, 64, encoder);
        RequestLog log = new RequestLog(context.getLogger("test"), org.slf4j.helpers.NOPLogger.NOP_LOGGER, () -> Instant.EPOCH, true);
        log.onRequestComplete(new RequestRecord("one", "llama", false, "http://a:1", 200, RequestOutcome.SUCCESS, 1000, 10, 0, 5));
        log.onRequestComplete(new RequestRecord("two", "llama", false, "http://a:1", 200, RequestOutcome.SUCCESS, 1000, 10, 0, 5));
        appender.stop();

        assertThat(sink.text().lines()).hasSize(2).allMatch(l -> l.startsWith("INFO {\"ts\":"));
    }

    @Test
    void levelsAcceptPythonNames() {
        assertThat(LoggingSetup.level("warning")).isEqualTo("WARN");
        assertThat(LoggingSetup.level("CRITICAL")).isEqualTo("ERROR");
        assertThat(LoggingSetup.level("debug")).isEqualTo("DEBUG");
        assertThatThrownBy(() -> LoggingSetup.level("loud")).hasMessageContaining("\"loud\"").hasMessageContaining("expected");
    }
}
