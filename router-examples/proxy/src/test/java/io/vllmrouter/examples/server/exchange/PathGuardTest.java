package io.vllmrouter.examples.server.exchange;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

class PathGuardTest {

    @ParameterizedTest
    @ValueSource(strings = {"/", "/v1/chat/completions", "/v1/models/meta-llama%2DLlama-3", "/health",
            "/v1/audio/transcriptions", "/v1/a.b/c..d", "/v1/models/org%40name"})
    void acceptsOrdinaryPaths(String path) {
        assertThat(PathGuard.check(path)).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"/v1/../health", "/v1/./models", "/v1/%2e%2e/metrics", "/v1/%2E%2e/x", "/v1/.%2e/x",
            "/v1/%2e/x", "/v1/..", "/v1//chat", "//v1/chat", "/v1/chat%2fcompletions", "/v1/chat%2Fx",
            "/v1/a%5c..", "/v1/a\\b", "/v1/a%00", "/v1/bad%zz", "/v1/bad%2", "v1/no-slash", "",
            "/v1/load_lora_adapter#x", "/v1/x#", "/v1/load_lora_adapter%0a", "/v1/load_lora_adapter%0A",
            "/sleep%0d%0a", "/v1/a%09b", "/v1/a%7f", "/v1/a%1Fb"})
    void refusesTraversalAndAmbiguousPaths(String path) {
        assertThat(PathGuard.check(path)).isNotNull();
    }

    @org.junit.jupiter.api.Test
    void aFragmentInTheQueryIsRefusedToo() {
        assertThat(PathGuard.checkQuery("a=1#x")).isNotNull();
        assertThat(PathGuard.checkQuery("a=1&b=%23")).isNull();
        assertThat(PathGuard.checkQuery(null)).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"/v1/load_lora_%61dapter", "/v1/load%5flora_adapter", "/v1/%6Coad_lora_adapter"})
    void rulesSeeThePathAsTheBackendDecodesIt(String path) {
        assertThat(PathGuard.check(path)).isNull();
        assertThat(PathGuard.decoded(path)).isEqualTo("/v1/load_lora_adapter");
    }

    @ParameterizedTest
    @ValueSource(strings = {"/v1/models/org%40name", "/v1/models/caf%C3%A9"})
    void decodingKeepsEverythingElse(String path) {
        assertThat(PathGuard.decoded(path)).isIn("/v1/models/org@name", "/v1/models/café");
    }
}
