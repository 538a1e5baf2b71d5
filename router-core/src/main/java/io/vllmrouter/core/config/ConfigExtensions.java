package io.vllmrouter.core.config;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;

/**
 * The {@link ConfigExtension}s on the class path, found once through {@link ServiceLoader}; one that
 * cannot be loaded is skipped with a warning. Thread-safe.
 */
final class ConfigExtensions {

    private static final System.Logger LOG = System.getLogger(ConfigExtensions.class.getName());
    private static final List<ConfigExtension<?>> INSTALLED = load();

    private ConfigExtensions() {
    }

    static List<ConfigExtension<?>> installed() {
        return INSTALLED;
    }

    /** The extension that reads key {@code key} of {@code [config]}, or null. */
    static ConfigExtension<?> ofConfigKey(String key) {
        for (ConfigExtension<?> e : INSTALLED) {
            if (e.configKeys().contains(key)) {
                return e;
            }
        }
        return null;
    }

    /** Whether an extension reads top-level table {@code name}. */
    static boolean ownsTable(String name) {
        for (ConfigExtension<?> e : INSTALLED) {
            if (e.tables().contains(name)) {
                return true;
            }
        }
        return false;
    }

    @SuppressWarnings("rawtypes")
    private static List<ConfigExtension<?>> load() {
        List<ConfigExtension<?>> all = new ArrayList<>();
        var it = ServiceLoader.load(ConfigExtension.class, ConfigExtensions.class.getClassLoader()).iterator();
        while (true) {
            try {
                if (!it.hasNext()) {
                    break;
                }
                ConfigExtension e = it.next();
                all.add(e);
            } catch (ServiceConfigurationError e) {
                LOG.log(System.Logger.Level.WARNING, "a configuration extension could not be loaded: " + e.getMessage());
            }
        }
        return List.copyOf(all);
    }
}
