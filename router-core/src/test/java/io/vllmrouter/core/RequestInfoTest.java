package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.vllmrouter.api.RouterRequest;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Which bodies are read as JSON for routing, whatever the case of their {@code Content-Type}. */
@Timeout(10)
class RequestInfoTest {

    private static final byte[] CHAT = "{\"model\":\"m\",\"stream\":true}".getBytes(StandardCharsets.UTF_8);

    @ParameterizedTest
    @ValueSource(strings = {"application/json", "Application/JSON; charset=utf-8", "application/vnd.api+json", "text/x-Json"})
    void aTypeThatNamesJsonInAnyCaseIsRead(String type) {
        assertThat(RequestInfo.isJson(type)).isTrue();
        RequestInfo info = RequestInfo.of(RouterRequest.builder("POST", "/v1/chat/completions")
                .header("Content-Type", type).body(CHAT).build());
        assertThat(info.model()).isEqualTo("m");
        assertThat(info.stream()).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"text/plain", "application/octet-stream", "jso", ""})
    void anyOtherTypeRoutesAsAnyModel(String type) {
        assertThat(RequestInfo.isJson(type)).isFalse();
        RequestInfo info = RequestInfo.of(RouterRequest.builder("POST", "/v1/chat/completions")
                .header("Content-Type", type).body(CHAT).build());
        assertThat(info.model()).isNull();
        assertThat(info.stream()).isFalse();
    }

    @Test
    void noTypeIsReadAsJson() {
        assertThat(RequestInfo.isJson(null)).isTrue();
        assertThat(RequestInfo.of(RouterRequest.builder("POST", "/v1/completions").body(CHAT).build()).model())
                .isEqualTo("m");
    }
}
