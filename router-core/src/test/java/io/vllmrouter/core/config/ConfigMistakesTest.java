package io.vllmrouter.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A file's mistakes reported at once, the OpenAI-style {@code /v1} URL refused, and a reload's changes in words. */
class ConfigMistakesTest {

    private static ConfigException parse(String toml) {
        return catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse(toml, "servers.toml", Map.of()));
    }

    @Test
    void aUrlEndingInV1IsRefusedWithTheFix() {
        ConfigException e = parse("[servers]\nservers = [ { url = \"http://gpu-1:8000/v1\", max_concurrent_requests = 4 } ]\n");
        assertThat(e).isNotNull();
        assertThat(e.key()).isEqualTo("servers[0].url");
        assertThat(e.line()).isEqualTo(2);
        assertThat(e.expected()).contains("drop /v1").contains("http://gpu-1:8000");
        assertThat(parse("[servers]\nservers = [ { url = \"http://gpu-1:8000/v1/\" } ]\n").expected()).contains("drop /v1");
        // a path that only contains v1 elsewhere is a real prefix, e.g. behind a gateway
        assertThat(new ServerConfig(URI.create("http://gw:80/v1x"), 1, List.of(), null).url().getPath()).isEqualTo("/v1x");
    }

    @Test
    void everyMistakeOfAFileIsReportedAtOnce() {
        ConfigException e = parse("""
                [servers]
                servers = [
                  { url = "http://gpu-1:8000/v1", max_concurrent_requests = 4 },
                  { url = "http://gpu-2:8000", max_concurrent_requests = 0 },
                ]
                [config]
                request_timeout = "fast"
                health_check_intervall = 10
                """);
        assertThat(e).isNotNull();
        assertThat(e.mistakes()).extracting(ConfigException::key).containsExactly(
                "servers[0].url", "servers[1].max_concurrent_requests", "config.request_timeout",
                "config.health_check_intervall");
        assertThat(e.key()).as("the first mistake's parts").isEqualTo("servers[0].url");
        assertThat(e.getMessage()).startsWith("4 mistakes in the configuration:\n  servers.toml:3: servers[0].url")
                .contains("\n  servers.toml:4: servers[1].max_concurrent_requests = 0")
                .contains("did you mean health_check_interval?");
    }

    @Test
    void oneMistakeReadsAsBefore() {
        ConfigException e = parse("[config]\nmax_retries = -1\n");
        assertThat(e.mistakes()).containsExactly(e);
        assertThat(e.getMessage()).startsWith("servers.toml:2: config.max_retries = -1 (expected: ");
    }

    @Test
    void aReloadIsDescribedByServerNameAndKey() {
        RouterConfig before = RouterConfig.builder()
                .server(new ServerConfig(URI.create("http://10.0.0.1:8000"), 4, List.of(), null, "gpu-1"))
                .server(new ServerConfig(URI.create("http://10.0.0.2:8000"), 4, List.of(), "k1", "gpu-2"))
                .build();
        RouterConfig after = RouterConfig.builder()
                .server(new ServerConfig(URI.create("http://10.0.0.2:8000"), 8, List.of("llama"), "k2", "gpu-2"))
                .server(new ServerConfig(URI.create("http://10.0.0.3:8000"), 4, List.of(), null, null))
                .requestTimeout(Duration.ofSeconds(60))
                .build();
        assertThat(ConfigDiff.describe(before, after)).isEqualTo(
                "servers added: http://10.0.0.3:8000; removed: gpu-1 (http://10.0.0.1:8000); changed: gpu-2 "
                        + "(http://10.0.0.2:8000) (max_concurrent_requests 4 -> 8, models [] -> [llama], api_key changed); "
                        + "settings: request_timeout 120s -> 60s");
        assertThat(ConfigDiff.describe(after, after)).isEqualTo("no change");
        assertThat(ConfigDiff.describe(before, after)).doesNotContain("k1").doesNotContain("k2");
    }
}
