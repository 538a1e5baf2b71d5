package io.vllmrouter.core.config;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A {@link ConfigExtension} for the core's tests (registered in the test class path's
 * {@code META-INF/services}): a {@code [test_keys]} table with {@code keys} and a {@code keys_file},
 * and a {@code [config]} key of its own, {@code test_flag}. It stands for a host's part of the file,
 * as the standalone proxy's front door is.
 */
public final class TestKeysExtension implements ConfigExtension<TestKeysExtension.TestKeys> {

    public static final TestKeysExtension INSTANCE = new TestKeysExtension();

    /** Runs as a keys file is about to be read (a test's writer, caught between two reads); null mostly. */
    static volatile Runnable whileReading;
    /** Runs right after a keys file was read (a test's writer, landing between two reads); null mostly. */
    static volatile Runnable afterReading;

    /** What the table said: its keys (the file's included), the file, and the flag. */
    public record TestKeys(List<String> keys, Path file, boolean flag) {
    }

    @Override
    public String name() {
        return "test keys";
    }

    @Override
    public Set<String> configKeys() {
        return Set.of("test_flag");
    }

    @Override
    public Set<String> tables() {
        return Set.of("test_keys");
    }

    @Override
    public TestKeys defaults() {
        return new TestKeys(List.of(), null, false);
    }

    @Override
    public TestKeys read(ConfigSection root) {
        ConfigSection config = root.table("config");
        boolean flag = config != null && config.has("test_flag") && config.bool("test_flag");
        ConfigSection t = root.table("test_keys");
        if (t == null) {
            return new TestKeys(List.of(), null, flag);
        }
        List<String> keys = new ArrayList<>();
        Path[] file = new Path[1];
        t.eachKey(key -> {
            switch (key) {
                case "keys" -> keys.addAll(t.strings(key, "a key"));
                case "keys_file" -> {
                    file[0] = t.path(key, "a file of keys");
                    Runnable hook = whileReading;
                    if (hook != null) {
                        hook.run();
                    }
                    try {
                        keys.addAll(t.readText(file[0]).lines()
                                .map(String::strip).filter(s -> !s.isEmpty()).toList());
                        if (keys.stream().anyMatch(k -> k.startsWith("!"))) {
                            throw t.bad(key, "a file of keys, none starting with !");
                        }
                        Runnable after = afterReading;
                        if (after != null) {
                            after.run();
                        }
                    } catch (IOException e) {
                        throw t.bad(key, "a readable file");
                    }
                }
                default -> throw t.unknown(key, List.of("keys", "keys_file"));
            }
        });
        return new TestKeys(List.copyOf(keys), file[0], flag);
    }

    @Override
    public List<Path> watchedFiles(TestKeys settings) {
        return settings.file() == null ? List.of() : List.of(settings.file());
    }

    @Override
    public String weakening(TestKeys before, TestKeys after) {
        return !before.keys().isEmpty() && after.keys().isEmpty() ? "turn test keys off" : null;
    }
}
