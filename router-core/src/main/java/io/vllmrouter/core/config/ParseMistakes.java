package io.vllmrouter.core.config;

import static io.vllmrouter.core.config.ConfigKeys.BUILDER_MESSAGE;
import static io.vllmrouter.core.config.ConfigKeys.show;
import static io.vllmrouter.core.config.ConfigKeys.suggest;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.regex.Matcher;
import org.tomlj.TomlPosition;
import org.tomlj.TomlTable;

/**
 * The mistakes one reading of a configuration file has found, and the wording of each as a
 * {@link ConfigException}: the file, the line, the full key, the value as written and what is
 * expected. Each part of the file is read on after a mistake ({@link #check}), so that the operator
 * sees them all at once ({@link #throwIfAny}).
 *
 * <pre>{@code
 * ParseMistakes mistakes = new ParseMistakes("servers.toml");
 * mistakes.check(() -> readServers(table));        // a ConfigException in it is kept
 * mistakes.throwIfAny();                            // all of them, in the order found
 * }</pre>
 *
 * <p>One reading, one thread.
 */
final class ParseMistakes {

    private final String source;
    private final List<ConfigException> found = new ArrayList<>();

    /** @param source the file as the caller named it, for every message */
    ParseMistakes(String source) {
        this.source = source;
    }

    String source() {
        return source;
    }

    /** Runs one part of the reading; a mistake in it is kept and the reading goes on with the next part. */
    void check(Runnable part) {
        try {
            part.run();
        } catch (ConfigException e) {
            found.add(e);
        }
    }

    void add(ConfigException mistake) {
        found.add(mistake);
    }

    /** Whether a mistake about {@code fullKey} was found. */
    boolean about(String fullKey) {
        return found.stream().anyMatch(m -> fullKey.equals(m.key()));
    }

    /** Throws every mistake found, as one exception that lists them. */
    void throwIfAny() {
        if (!found.isEmpty()) {
            throw ConfigException.of(found);
        }
    }

    /** {@code localKey} of {@code table}, known as {@code fullKey}, holds {@code raw} where {@code expected} was wanted. */
    ConfigException bad(TomlTable table, String fullKey, String localKey, Object raw, String expected) {
        return new ConfigException(source, line(table, localKey), fullKey, show(raw), expected);
    }

    /**
     * A builder's or {@link ServerConfig}'s check ({@code "key: value (expected: ...)"}) as a
     * mistake of that key of {@code table}, named with {@code keyPrefix}.
     */
    ConfigException wrap(IllegalArgumentException e, TomlTable table, String keyPrefix) {
        Matcher m = BUILDER_MESSAGE.matcher(e.getMessage() == null ? "" : e.getMessage());
        if (!m.matches()) {
            return new ConfigException(source, -1, keyPrefix.isEmpty() ? "?" : keyPrefix.substring(0, keyPrefix.length() - 1),
                    null, String.valueOf(e.getMessage()));
        }
        String key = m.group(1);
        Object raw = table.get(List.of(key));
        return new ConfigException(source, line(table, key), keyPrefix + key,
                raw == null ? m.group(2) : show(raw), m.group(3));
    }

    /**
     * {@code key} is not one of {@code known} keys of {@code where}: the hint when given, else a close
     * key when there is one, else the list.
     */
    ConfigException unknownKey(TomlTable table, String prefix, String key, Collection<String> known,
                               String where, String hint) {
        String expected = "a key of " + where;
        String suggestion = hint != null ? hint : suggest(key, known);
        if (suggestion != null) {
            expected += "; " + suggestion;
        } else {
            expected += ": " + String.join(", ", known);
        }
        return new ConfigException(source, line(table, key), prefix + key, show(table.get(List.of(key))), expected);
    }

    /** The 1-based line of {@code key} in {@code table}, or -1. */
    static int line(TomlTable table, String key) {
        TomlPosition p = table.inputPositionOf(List.of(key));
        return p == null ? -1 : p.line();
    }
}
