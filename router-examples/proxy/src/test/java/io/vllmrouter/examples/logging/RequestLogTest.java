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
        String line = RequestLog.toJson(new RequestRecord("req-1", "llama", true, "http://a:1", 200, RequestOutcome.OK,
                1_234_567_890L, 45_600_000L, 1, 999), Instant.parse("2026-01-01T00:00:00Z"));
        assertThat(line).doesNotContain("\n");
        JsonNode n = new ObjectMapper().readTree(line);
        assertThat(n.get("ts").asText()).isEqualTo("2026-01-01T00:00:00Z");
        assertThat(n.get("request_id").asText()).isEqualTo("req-1");
        assertThat(n.get("model").asText()).isEqualTo("llama");
        assertThat(n.get("backend").asText()).isEqualTo("http://a:1");
        assertThat(n.get("status").asInt()).isEqualTo(200);
        assertThat(n.get("latency_ms").asDouble()).isEqualTo(1234.6);
        assertThat(n.get("ttfb_ms").asDouble()).isEqualTo(45.6);
        assertThat(n.get("retries").asInt()).isEqualTo(1);
        assertThat(n.get("stream").asBoolean()).isTrue();
        assertThat(n.get("outcome").asText()).isEqualTo("ok");
    }

    @Test
    void noTtfbIsNull() throws Exception {
        String line = RequestLog.toJson(new RequestRecord("r", null, false, null, 503, RequestOutcome.NO_BACKEND, 1000, -1, 0, 0), Instant.EPOCH);
        JsonNode n = new ObjectMapper().readTree(line);
        assertThat(n.get("ttfb_ms").isNull()).isTrue();
        assertThat(n.get("backend").isNull()).isTrue();
    }

    @Test
    void levelsAcceptPythonNames() {
        assertThat(LoggingSetup.level("warning")).isEqualTo("WARN");
        assertThat(LoggingSetup.level("CRITICAL")).isEqualTo("ERROR");
        assertThat(LoggingSetup.level("debug")).isEqualTo("DEBUG");
        assertThatThrownBy(() -> LoggingSetup.level("loud")).hasMessageContaining("\"loud\"").hasMessageContaining("expected");
    }
}
