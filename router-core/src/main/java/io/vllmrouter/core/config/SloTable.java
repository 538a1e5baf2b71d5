package io.vllmrouter.core.config;

import io.vllmrouter.api.OneLine;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tomlj.TomlPosition;
import org.tomlj.TomlTable;

/**
 * The {@code [slo]} table read into a {@link TtftSlo}: {@code header}, {@code ttft} (seconds) and
 * {@code [slo.models]} (model name = seconds). Stateless.
 */
final class SloTable {

    static final List<String> KEYS = List.of("header", "ttft", "models");

    private SloTable() {
    }

    static TtftSlo read(TomlTable t, String source) {
        String header = TtftSlo.DEFAULT_HEADER;
        Duration ttft = null;
        Map<String, Duration> models = new LinkedHashMap<>();
        for (String key : t.keySet()) {
            Object raw = t.get(List.of(key));
            switch (key) {
                case "header" -> {
                    if (!(raw instanceof String s)) {
                        throw bad(t, source, "slo.header", key, raw, "an HTTP header name in quotes, or \"\" for none");
                    }
                    header = s.strip();
                }
                case "ttft" -> ttft = seconds(t, source, "slo.ttft", key, raw);
                case "models" -> {
                    if (!(raw instanceof TomlTable m)) {
                        throw bad(t, source, "slo.models", key, raw, "a table of model = seconds, such as [slo.models]");
                    }
                    for (String model : m.keySet()) {
                        models.put(model, seconds(m, source, "slo.models." + OneLine.quoted(model), model,
                                m.get(List.of(model))));
                    }
                }
                default -> {
                    String hint = ConfigKeys.suggest(key, KEYS);
                    throw new ConfigException(source, line(t, key), "slo." + key, ConfigKeys.show(raw),
                            "a key of [slo]" + (hint != null ? "; " + hint : ": " + String.join(", ", KEYS)));
                }
            }
        }
        try {
            return new TtftSlo(header, ttft, models);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(source, line(t, "header"), "slo.header", ConfigKeys.show(header),
                    ConfigKeys.expectedOf(e));
        }
    }

    private static Duration seconds(TomlTable t, String source, String full, String key, Object raw) {
        Duration d = ConfigKeys.toDuration(raw);
        if (d == null || d.isNegative() || d.isZero()) {
            throw bad(t, source, full, key, raw, "number of seconds > 0");
        }
        return d;
    }

    private static ConfigException bad(TomlTable t, String source, String full, String key, Object raw, String expected) {
        return new ConfigException(source, line(t, key), full, ConfigKeys.show(raw), expected);
    }

    private static int line(TomlTable t, String key) {
        TomlPosition p = t.inputPositionOf(List.of(key));
        return p == null ? -1 : p.line();
    }
}
