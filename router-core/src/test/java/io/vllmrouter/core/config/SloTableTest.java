package io.vllmrouter.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The {@code [slo]} table: keys, values, and errors that name them. */
class SloTableTest {

    private static RouterConfig parse(String toml) {
        return ConfigLoader.parse(toml, "servers.toml", Map.of());
    }

    private static ConfigException error(String toml) {
        return catchThrowableOfType(ConfigException.class, () -> parse(toml));
    }

    @Test
    void withoutTheTableOnlyTheDefaultHeaderSetsAnObjective() {
        TtftSlo slo = parse("[config]\n").ttftSlo();
        assertThat(slo).isEqualTo(TtftSlo.DEFAULT);
        assertThat(slo.header()).isEqualTo("X-TTFT-SLO-Ms");
        assertThat(slo.forModel("any")).isNull();
    }

    @Test
    void everyKeyIsRead() {
        TtftSlo slo = parse("""
                [slo]
                ttft = 2
                header = "X-Deadline-Ms"

                [slo.models]
                "llama-3.1-70b" = 0.8
                small = 0.25
                """).ttftSlo();
        assertThat(slo.header()).isEqualTo("X-Deadline-Ms");
        assertThat(slo.forModel("llama-3.1-70b")).isEqualTo(Duration.ofMillis(800));
        assertThat(slo.forModel("small")).isEqualTo(Duration.ofMillis(250));
        assertThat(slo.forModel("other")).isEqualTo(Duration.ofSeconds(2));
        assertThat(slo.forModel(null)).isEqualTo(Duration.ofSeconds(2));
        assertThat(parse("[slo]\nheader = \"\"\n").ttftSlo().header()).isEmpty();
    }

    @Test
    void badValuesAreNamedWithTheirLine() {
        ConfigException e = error("[slo]\nttft = 0\n");
        assertThat(e.getMessage()).isEqualTo("servers.toml:2: slo.ttft = 0 (expected: number of seconds > 0)");
        e = error("[slo]\nttft = \"2s\"\n");
        assertThat(e.getMessage()).isEqualTo("servers.toml:2: slo.ttft = \"2s\" (expected: number of seconds > 0)");
        e = error("[slo.models]\n\"llama\" = -1\n");
        assertThat(e.getMessage()).isEqualTo("servers.toml:2: slo.models.\"llama\" = -1 (expected: number of seconds > 0)");
        e = error("[slo]\nheader = \"Bad Header\"\n");
        assertThat(e.getMessage()).isEqualTo("servers.toml:2: slo.header = \"Bad Header\" (expected: an HTTP header name such as "
                + "\"X-TTFT-SLO-Ms\", or \"\" for none)");
        e = error("[slo]\nheader = 5\n");
        assertThat(e.getMessage()).isEqualTo("servers.toml:2: slo.header = 5 (expected: an HTTP header name in quotes, or \"\" for none)");
        e = error("[slo]\nmodels = 3\n");
        assertThat(e.getMessage()).isEqualTo("servers.toml:2: slo.models = 3 (expected: a table of model = seconds, such as [slo.models])");
    }

    @Test
    void anUnknownKeyIsRefusedWithASuggestion() {
        ConfigException e = error("[slo]\nttf = 1\n");
        assertThat(e.getMessage()).isEqualTo("servers.toml:2: slo.ttf = 1 (expected: a key of [slo]; did you mean ttft?)");
        e = error("[slo]\nlatency = 1\n");
        assertThat(e.getMessage()).isEqualTo("servers.toml:2: slo.latency = 1 (expected: a key of [slo]: header, ttft, models)");
        e = error("slo = 1\n");
        assertThat(e.getMessage()).isEqualTo("servers.toml:1: slo = 1 (expected: an [slo] table)");
    }

    @Test
    void theObjectiveIsPartOfTheConfigurationsEquality() {
        assertThat(parse("[slo]\nttft = 1\n")).isNotEqualTo(parse("[slo]\nttft = 2\n"))
                .isEqualTo(parse("[slo]\nttft = 1.0\n"));
    }
}
