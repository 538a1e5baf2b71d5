package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.vllmrouter.api.RouterRequest;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Which bodies are read as JSON for routing, whatever the case of their {@code Content-Type}. */
@Timeout(10)
class RequestInfoTest {

    private static final byte[] CHAT = "{\"model\":\"m\",\"stream\":true}".getBytes(StandardCharsets.UTF_8);

    /** A type that names JSON in any case is read; any other routes as "any model", not streamed. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "application/json|true", "Application/JSON; charset=utf-8|true", "application/vnd.api+json|true",
        "text/x-Json|true", "x/jjSON|true", "text/plain|false", "application/octet-stream|false", "jso|false", "jsox|false",
        "''|false"})
    void theBodyIsReadOnlyWhenItsTypeNamesJson(String type, boolean json) {
        assertThat(RequestInfo.isJson(type)).isEqualTo(json);
        RequestInfo info = RequestInfo.of(RouterRequest.builder("POST", "/v1/chat/completions")
                .header("Content-Type", type).body(CHAT).build());
        assertThat(info.model()).isEqualTo(json ? "m" : null);
        assertThat(info.stream()).isEqualTo(json);
    }

    @Test
    void noTypeIsReadAsJson() {
        assertThat(RequestInfo.isJson(null)).isTrue();
        assertThat(RequestInfo.of(RouterRequest.builder("POST", "/v1/completions").body(CHAT).build()).model())
                .isEqualTo("m");
    }
}
