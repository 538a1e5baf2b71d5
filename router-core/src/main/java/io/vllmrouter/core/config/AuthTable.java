package io.vllmrouter.core.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.tomlj.TomlArray;
import org.tomlj.TomlPosition;
import org.tomlj.TomlTable;

/**
 * The {@code [auth]} table: client API keys ({@code api_keys}, {@code api_keys_file}) and the
 * limits applied to each key, read into an {@link AccessConfig.Builder}. The keys file is read at
 * every load, so it is re-read whenever the configuration is. Stateless.
 */
final class AuthTable {

    static final List<String> KEYS = List.of("api_keys", "api_keys_file", "requests_per_minute", "max_concurrent",
            "protect_stats");

    private AuthTable() {
    }

    static void read(TomlTable t, String source, AccessConfig.Builder b) {
        for (String key : t.keySet()) {
            Object raw = t.get(List.of(key));
            String full = "auth." + key;
            try {
                switch (key) {
                    case "api_keys" -> {
                        if (!(raw instanceof TomlArray a)) {
                            throw bad(t, source, key, raw, "an array of keys in quotes (the key, or \"sha256:<hex>\")");
                        }
                        for (int i = 0; i < a.size(); i++) {
                            if (!(a.get(i) instanceof String s) || s.isBlank()) {
                                throw new ConfigException(source, line(t, key), full + "[" + i + "]",
                                        ConfigKeys.show(a.get(i)), "a non-empty key in quotes, or \"sha256:<64 hex digits>\"");
                            }
                            b.apiKey(s.strip());
                        }
                    }
                    case "api_keys_file" -> {
                        if (!(raw instanceof String s) || s.isBlank()) {
                            throw bad(t, source, key, raw, "path of a file with one key per line");
                        }
                        readKeysFile(resolve(source, s), t, source, b);
                    }
                    case "requests_per_minute", "max_concurrent" -> {
                        Integer n = ConfigKeys.toInt(raw);
                        if (n == null) {
                            throw bad(t, source, key, raw, "integer >= 0, 0 = unlimited");
                        }
                        if (key.equals("max_concurrent")) {
                            b.maxConcurrent(n);
                        } else {
                            b.requestsPerMinute(n);
                        }
                    }
                    case "protect_stats" -> {
                        if (!(raw instanceof Boolean v)) {
                            throw bad(t, source, key, raw, "true or false");
                        }
                        b.protectStats(v);
                    }
                    default -> throw new ConfigException(source, line(t, key), full, ConfigKeys.show(raw),
                            "a key of [auth]: " + String.join(", ", KEYS));
                }
            } catch (IllegalArgumentException e) {
                if (e instanceof ConfigException c) {
                    throw c;
                }
                throw new ConfigException(source, line(t, key), full,
                        raw instanceof TomlArray ? "[...]" : ConfigKeys.show(raw), ConfigKeys.expectedOf(e));
            }
        }
    }

    /** A relative path is taken from the configuration file's directory. */
    private static Path resolve(String source, String file) {
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

    private static void readKeysFile(Path file, TomlTable t, String source, AccessConfig.Builder b) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException(source, line(t, "api_keys_file"), "auth.api_keys_file",
                    ConfigKeys.quote(file.toString()), "a readable file with one key per line (" + e.getClass().getSimpleName()
                    .replace("Exception", "").replace("NoSuchFile", "no such file") + ")");
        }
        for (int i = 0; i < lines.size(); i++) {
            String key = lines.get(i).strip();
            if (key.isEmpty() || key.startsWith("#")) {
                continue;
            }
            try {
                b.apiKey(key);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(file.toString(), i + 1, "api key", "(not shown)", ConfigKeys.expectedOf(e));
            }
        }
        b.apiKeysFile(file);
    }

    private static ConfigException bad(TomlTable t, String source, String key, Object raw, String expected) {
        return new ConfigException(source, line(t, key), "auth." + key, ConfigKeys.show(raw), expected);
    }

    private static int line(TomlTable table, String key) {
        TomlPosition p = table.inputPositionOf(List.of(key));
        return p == null ? -1 : p.line();
    }
}
