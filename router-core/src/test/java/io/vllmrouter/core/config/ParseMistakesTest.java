package io.vllmrouter.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.tomlj.Toml;
import org.tomlj.TomlParseResult;
import org.tomlj.TomlTable;

/** How one reading keeps its mistakes and words each one. */
class ParseMistakesTest {

    private final ParseMistakes mistakes = new ParseMistakes("servers.toml");
    private final TomlTable config = table("""
            [config]
            request_timeout = "fast"
            max_retries = -1
            """);

    private static TomlTable table(String toml) {
        TomlParseResult root = Toml.parse(toml);
        assertThat(root.errors()).isEmpty();
        return root.getTable("config");
    }

    @Test
    void noMistakeThrowsNothing() {
        mistakes.check(() -> { });
        assertThatCode(mistakes::throwIfAny).doesNotThrowAnyException();
        assertThat(mistakes.about("config.request_timeout")).isFalse();
    }

    @Test
    void everyPartIsReadAndAllMistakesAreThrownInTheOrderFound() {
        mistakes.check(() -> {
            throw mistakes.bad(config, "config.request_timeout", "request_timeout", config.get("request_timeout"),
                    "number of seconds > 0");
        });
        boolean[] secondPartRead = {false};
        mistakes.check(() -> secondPartRead[0] = true);
        mistakes.add(mistakes.bad(config, "config.max_retries", "max_retries", config.get("max_retries"), "integer >= 0"));
        assertThat(secondPartRead[0]).isTrue();
        assertThat(mistakes.about("config.max_retries")).isTrue();

        ConfigException e = catchThrowableOfType(ConfigException.class, mistakes::throwIfAny);
        assertThat(e.mistakes()).extracting(ConfigException::getMessage).containsExactly(
                "servers.toml:2: config.request_timeout = \"fast\" (expected: number of seconds > 0)",
                "servers.toml:3: config.max_retries = -1 (expected: integer >= 0)");
    }

    @Test
    void aBuildersCheckBecomesAMistakeOfTheKeyItNames() {
        ConfigException e = mistakes.wrap(new IllegalArgumentException("max_retries: -1 (expected: integer >= 0)"),
                config, "config.");
        assertThat(e.getMessage()).isEqualTo("servers.toml:3: config.max_retries = -1 (expected: integer >= 0)");

        ConfigException notInTable = mistakes.wrap(
                new IllegalArgumentException("queue_timeout: 0.0 (expected: seconds > 0)"), config, "config.");
        assertThat(notInTable.line()).isEqualTo(-1);
        assertThat(notInTable.value()).as("the builder's words when the file has no such key").isEqualTo("0.0");

        ConfigException unshaped = mistakes.wrap(new IllegalArgumentException("something else"), config, "config.");
        assertThat(unshaped.key()).isEqualTo("config");
        assertThat(unshaped.expected()).isEqualTo("something else");
    }

    @Test
    void anUnknownKeyGetsTheHintOrACloseKeyOrTheList() {
        TomlTable t = table("""
                [config]
                request_timout = 5
                zzz = 1
                """);
        List<String> known = List.of("request_timeout", "max_retries");
        assertThat(mistakes.unknownKey(t, "config.", "request_timout", known, "[config]", null).expected())
                .isEqualTo("a key of [config]; did you mean request_timeout?");
        assertThat(mistakes.unknownKey(t, "config.", "zzz", known, "[config]", null).expected())
                .isEqualTo("a key of [config]: request_timeout, max_retries");
        ConfigException hinted = mistakes.unknownKey(t, "config.", "zzz", known, "[config]", "see the docs");
        assertThat(hinted.expected()).isEqualTo("a key of [config]; see the docs");
        assertThat(hinted.line()).isEqualTo(3);
        assertThat(hinted.key()).isEqualTo("config.zzz");
    }
}
