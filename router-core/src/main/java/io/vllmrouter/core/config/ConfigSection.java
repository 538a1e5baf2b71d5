package io.vllmrouter.core.config;

import org.tomlj.TomlArray;
import org.tomlj.TomlPosition;
import org.tomlj.TomlTable;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One table of a configuration file as a {@link ConfigExtension} reads it: typed values, and for a
 * bad one a {@link ConfigException} that names the file, the line, the full key, the value as
 * written and what is expected, as the router's own keys do. Immutable.
 *
 * <pre>{@code
 * ConfigSection config = root.table("config");          // null when the file has no [config]
 * Duration t = config.has("client_body_timeout") ? config.seconds("client_body_timeout") : DEFAULT;
 * }</pre>
 */
public final class ConfigSection {

    private final String source;
    private final TomlTable table;
    private final String prefix;
    private final Map<Path, byte[]> files;

    ConfigSection(String source, TomlTable table, String prefix, Map<Path, byte[]> files) {
        this.source = source;
        this.table = table;
        this.prefix = prefix;
        this.files = files;
    }

    /**
     * The text of {@code file} (UTF-8, read strictly), another file the settings are read from (a
     * keys file), as this load sees it: when the configuration is reloaded, the copy read together
     * with the configuration file, so that what the reload judged whole is what it applies;
     * otherwise read now.
     */
    public String readText(Path file) throws IOException {
        byte[] b = files.get(file);
        return ConfigLoader.utf8(b != null ? b : Files.readAllBytes(file));
    }

    /** The file the section comes from, as the caller named it. */
    public String source() {
        return source;
    }

    /** The section's keys, in file order. */
    public Set<String> keys() {
        return table.keySet();
    }

    public boolean has(String key) {
        return table.contains(List.of(key));
    }

    /**
     * The table {@code name} inside this one (at the top level: {@code "config"}, {@code "auth"}), or
     * null when the file has none.
     */
    public ConfigSection table(String name) {
        Object v = table.get(List.of(name));
        if (v == null) {
            return null;
        }
        if (!(v instanceof TomlTable t)) {
            throw bad(name, "a table: [" + prefix + name + "]");
        }
        return new ConfigSection(source, t, prefix + name + ".", files);
    }

    /** A number of seconds &gt; 0. */
    public Duration seconds(String key) {
        Duration d = ConfigKeys.toDuration(raw(key));
        if (d == null) {
            throw bad(key, "number of seconds > 0");
        }
        if (d.isNegative() || d.isZero()) {
            throw bad(key, "seconds > 0");
        }
        return d;
    }

    /** An integer &ge; {@code min}. */
    public int integer(String key, int min) {
        Integer n = ConfigKeys.toInt(raw(key));
        if (n == null || n < min) {
            throw bad(key, "integer >= " + min);
        }
        return n;
    }

    /** An integer &ge; {@code min}; {@code expected} says so in the operator's words ("integer >= 0, 0 = unlimited"). */
    public int integer(String key, int min, String expected) {
        Integer n = ConfigKeys.toInt(raw(key));
        if (n == null || n < min) {
            throw bad(key, expected);
        }
        return n;
    }

    /** An integer from {@code min} to {@code max}. */
    public int integer(String key, int min, int max) {
        Integer n = ConfigKeys.toInt(raw(key));
        if (n == null || n < min || n > max) {
            throw bad(key, "integer from " + min + " to " + max);
        }
        return n;
    }

    /** An integer &ge; {@code min}, as a long. */
    public long longInteger(String key, long min) {
        if (!(raw(key) instanceof Long n) || n < min) {
            throw bad(key, "integer >= " + min);
        }
        return n;
    }

    public boolean bool(String key) {
        if (!(raw(key) instanceof Boolean b)) {
            throw bad(key, "true or false");
        }
        return b;
    }

    /** A string that is not blank; {@code expected} says what it should be. */
    public String string(String key, String expected) {
        if (!(raw(key) instanceof String s) || s.isBlank()) {
            throw bad(key, expected);
        }
        return s;
    }

    /** An array of strings that are not blank; {@code expected} says what each should be. */
    public List<String> strings(String key, String expected) {
        if (!(raw(key) instanceof TomlArray a)) {
            throw bad(key, "an array of " + expected + " in quotes");
        }
        List<String> out = new ArrayList<>(a.size());
        for (int i = 0; i < a.size(); i++) {
            if (!(a.get(i) instanceof String s) || s.isBlank()) {
                throw new ConfigException(source, line(key), prefix + key + "[" + i + "]", ConfigKeys.show(a.get(i)),
                        expected);
            }
            out.add(s.strip());
        }
        return out;
    }

    /** A path; a relative one is taken from the configuration file's directory. */
    public Path path(String key, String expected) {
        return resolve(string(key, expected));
    }

    /** {@code file} as a path, a relative one taken from the configuration file's directory. */
    public Path resolve(String file) {
        Path p = Path.of(file.strip());
        if (p.isAbsolute()) {
            return p;
        }
        try {
            Path parent = Path.of(source).toAbsolutePath().getParent();
            if (parent != null && Files.isRegularFile(Path.of(source))) {
                return parent.resolve(p);
            }
        } catch (RuntimeException e) {
            // source is not a path (text parsed from memory): the working directory
        }
        return p;
    }

    /** The mistake "{@code key} has a bad value", showing the value as written. */
    public ConfigException bad(String key, String expected) {
        Object raw = table.get(List.of(key));
        return new ConfigException(source, line(key), prefix + key, raw instanceof TomlArray ? "[...]" : ConfigKeys.show(raw),
                expected);
    }

    /** The mistake "{@code key} is not one of {@code known}", with a suggestion when one is close. */
    public ConfigException unknown(String key, Collection<String> known) {
        String suggestion = ConfigKeys.suggest(key, known);
        return new ConfigException(source, line(key), prefix + key, ConfigKeys.show(table.get(List.of(key))),
                "a key of [" + prefix.substring(0, Math.max(0, prefix.length() - 1)) + "]"
                        + (suggestion != null ? "; " + suggestion : ": " + String.join(", ", known)));
    }

    /**
     * Runs {@code reader} for each key, going on after a bad one, and throws every mistake at once.
     * An {@link IllegalArgumentException} from a builder ({@code "name: value (expected: ...)"})
     * is turned into a mistake of that key.
     */
    public void eachKey(KeyReader reader) {
        List<ConfigException> mistakes = new ArrayList<>();
        for (String key : keys()) {
            try {
                reader.read(key);
            } catch (ConfigException e) {
                mistakes.add(e);
            } catch (IllegalArgumentException e) {
                mistakes.add(bad(key, ConfigKeys.expectedOf(e)));
            }
        }
        if (!mistakes.isEmpty()) {
            throw ConfigException.of(mistakes);
        }
    }

    /** Reads one key of a section. */
    @FunctionalInterface
    public interface KeyReader {
        void read(String key);
    }

    /** The 1-based line of {@code key}, or -1. */
    public int line(String key) {
        TomlPosition p = table.inputPositionOf(List.of(key));
        return p == null ? -1 : p.line();
    }

    private Object raw(String key) {
        return table.get(List.of(key));
    }
}
