package io.vllmrouter.core.config;

import static io.vllmrouter.core.config.ConfigKeys.*;

import io.vllmrouter.api.OneLine;
import java.util.List;
import java.util.Map;
import io.vllmrouter.core.strategy.StrategyRegistry;
import org.tomlj.Toml;
import org.tomlj.TomlParseError;
import org.tomlj.TomlParseResult;
import org.tomlj.TomlPosition;
import org.tomlj.TomlTable;

/**
 * One parse of configuration text for {@link ConfigLoader}: the TOML tree walked table by table
 * into a {@link RouterConfigBuilder} — {@code [servers]} by {@link ServersTable}, {@code [config]}
 * key by key from {@link ConfigKeys}' table, {@code [strategies.NAME]} checked by the strategy's
 * provider, {@code [slo]} by {@link SloTable}, the hosts' tables by their {@link ConfigExtension}s —
 * then environment overrides applied. Every mistake is kept and worded by {@link ParseMistakes}, and
 * all are thrown at once. One instance per parse; not thread-safe.
 */
final class TomlConfigParser {

    private final String source;
    private final StrategyRegistry strategies;
    private final java.util.Map<java.nio.file.Path, byte[]> files;
    private final ParseMistakes mistakes;

    /** @param files copies of other files the settings name (a keys file), read by extensions before the disk */
    TomlConfigParser(String source, StrategyRegistry strategies, java.util.Map<java.nio.file.Path, byte[]> files) {
        this.source = source;
        this.strategies = strategies;
        this.files = files;
        this.mistakes = new ParseMistakes(source);
    }

    RouterConfig run(String toml, Map<String, String> env) {
        if (toml.startsWith("\uFEFF")) {
            toml = toml.substring(1);
        }
        TomlParseResult root = Toml.parse(toml);
        if (root.hasErrors()) {
            TomlParseError first = root.errors().get(0);
            TomlPosition p = first.position();
            String detail = stripPosition(first.getMessage());
            int more = root.errors().size() - 1;
            if (more > 0) {
                detail += " (and " + more + " more error" + (more == 1 ? "" : "s") + " after it)";
            }
            throw ConfigException.syntax(source, p == null ? -1 : p.line(), p == null ? -1 : p.column(), detail);
        }

        RouterConfigBuilder builder = RouterConfig.builder();
        for (String key : root.keySet()) {
            if (!ROOT_KEYS.contains(key) && !ConfigExtensions.ownsTable(key)) {
                mistakes.add(unknownRootKey(root, key));
            }
        }
        ServersTable servers = new ServersTable(mistakes);
        Object serversValue = root.get(List.of("servers"));
        if (serversValue != null) {
            mistakes.check(() -> {
                if (!(serversValue instanceof TomlTable serversTable)) {
                    throw mistakes.bad(root, "servers", "servers", serversValue, SERVERS_EXPECTED);
                }
                servers.read(serversTable);
            });
        }
        Object configValue = root.get(List.of("config"));
        if (configValue != null) {
            mistakes.check(() -> {
                if (!(configValue instanceof TomlTable configTable)) {
                    throw mistakes.bad(root, "config", "config", configValue, "a [config] table");
                }
                readConfig(configTable, builder);
                boolean strategyWellFormed = !mistakes.about("config.strategy");
                if (strategyWellFormed && configTable.get("strategy") instanceof String name) {
                    try {
                        strategies.requireKnown(name);
                    } catch (IllegalArgumentException e) {
                        throw mistakes.wrap(e, configTable, "config.");
                    }
                }
            });
        }
        Object strategiesValue = root.get(List.of("strategies"));
        if (strategiesValue != null) {
            mistakes.check(() -> {
                if (!(strategiesValue instanceof TomlTable strategiesTable)) {
                    throw mistakes.bad(root, "strategies", "strategies", strategiesValue,
                            "tables of strategy settings such as [strategies.cache-aware]");
                }
                readStrategies(strategiesTable, builder);
            });
        }
        Object sloValue = root.get(List.of("slo"));
        if (sloValue != null) {
            mistakes.check(() -> {
                if (!(sloValue instanceof TomlTable sloTable)) {
                    throw mistakes.bad(root, "slo", "slo", sloValue, "an [slo] table");
                }
                builder.ttftSlo(SloTable.read(sloTable, source));
            });
        }
        // The hosts' own parts of the file (the proxy's front door): read by their extensions.
        for (ConfigExtension<?> extension : ConfigExtensions.installed()) {
            mistakes.check(() -> readExtension(extension, root, builder));
        }
        // [discovery] is checked here, so a bad table fails the load; FleetDiscovery reads it.
        mistakes.check(() -> io.vllmrouter.core.discovery.DiscoveryConfig.from(root, source));
        mistakes.check(() -> applyEnvironment(env, builder));
        mistakes.throwIfAny();
        builder.servers(servers.servers());
        try {
            return builder.build();
        } catch (IllegalArgumentException e) {
            boolean aboutServers = e.getMessage() != null && e.getMessage().startsWith("servers:");
            throw aboutServers ? servers.duplicateUrl(e)
                    : mistakes.wrap(e, configValue instanceof TomlTable t ? t : root, "config.");
        }
    }

    private void readConfig(TomlTable config, RouterConfigBuilder builder) {
        for (String key : config.keySet()) {
            mistakes.check(() -> readSetting(config, key, builder));
        }
    }

    /** An extension's settings; kept only when they differ from its defaults, as a built config has them. */
    private <T> void readExtension(ConfigExtension<T> extension, TomlTable root, RouterConfigBuilder builder) {
        T settings = extension.read(new ConfigSection(source, root, "", files));
        if (!settings.equals(extension.defaults())) {
            builder.extension(extension, settings);
        }
    }

    private void readSetting(TomlTable config, String key, RouterConfigBuilder builder) {
        Setting setting = SETTINGS.containsKey(key) ? SETTINGS.get(key) : ALIASES.get(key);
        if (setting == null && ConfigExtensions.ofConfigKey(key) != null) {
            return; // an extension's key: it reads it
        }
        if (setting == null) {
            String hint = null;
            if (PYTHON_KEYS.containsKey(key)) {
                hint = "the Python router's name; here it is " + PYTHON_KEYS.get(key);
            } else if (key.equals("auto_recovery_threshold")) {
                hint = "not used here: a backend is re-admitted after health_check_success_threshold good checks";
            }
            java.util.Set<String> known = new java.util.LinkedHashSet<>(SETTINGS.keySet());
            ConfigExtensions.installed().forEach(e -> known.addAll(e.configKeys()));
            throw mistakes.unknownKey(config, "config.", key, known, "[config]", hint);
        }
        Object raw = config.get(List.of(key));
        Object value = convert(setting.kind(), raw);
        if (value == null) {
            throw mistakes.bad(config, "config." + key, key, raw, setting.expected());
        }
        try {
            setting.apply().accept(builder, value);
        } catch (IllegalArgumentException e) {
            throw mistakes.wrap(e, config, "config.");
        }
    }

    /**
     * {@code [strategies.NAME]} tables: each value (string, number or boolean) is passed as text to
     * the strategy's provider, which validates it; a known provider is asked here, so that a bad
     * value is reported with its file and line.
     */
    private void readStrategies(TomlTable table, RouterConfigBuilder builder) {
        for (String name : table.keySet()) {
            mistakes.check(() -> readStrategy(table, name, builder));
        }
    }

    private void readStrategy(TomlTable table, String name, RouterConfigBuilder builder) {
        Object v = table.get(List.of(name));
        if (!(v instanceof TomlTable t)) {
            throw mistakes.bad(table, "strategies." + name, name, v, "a table of settings such as [strategies." + name + "]");
        }
        Map<String, String> settings = new java.util.LinkedHashMap<>();
        for (String key : t.keySet()) {
            Object raw = t.get(List.of(key));
            if (raw instanceof String || raw instanceof Number || raw instanceof Boolean) {
                settings.put(key, String.valueOf(raw));
            } else {
                throw mistakes.bad(t, "strategies." + name + "." + key, key, raw, "a string, number or boolean");
            }
        }
        if (strategies.names().contains(name)) {
            try {
                strategies.create(name, settings);
            } catch (IllegalArgumentException e) {
                throw mistakes.wrap(e, t, "strategies." + name + ".");
            } catch (IllegalStateException e) {
                if (e.getCause() instanceof IllegalArgumentException iae) {
                    throw mistakes.wrap(iae, t, "strategies." + name + ".");
                }
                throw e;
            }
        }
        builder.strategySettings(name, settings);
    }

    private void applyEnvironment(Map<String, String> env, RouterConfigBuilder builder) {
        for (Map.Entry<String, String> e : ENV_OVERRIDES.entrySet()) {
            String text = env.get(e.getKey());
            if (text == null || text.isBlank()) {
                continue;
            }
            Setting setting = SETTINGS.get(e.getValue());
            Object value = convert(setting.kind(), parseEnvNumber(text.strip()));
            if (value == null) {
                throw new ConfigException(ConfigException.ENVIRONMENT, -1, e.getKey(), OneLine.quoted(text), setting.expected());
            }
            try {
                setting.apply().accept(builder, value);
            } catch (IllegalArgumentException ex) {
                throw new ConfigException(ConfigException.ENVIRONMENT, -1, e.getKey(), OneLine.quoted(text), expectedOf(ex));
            }
        }
    }

    private ConfigException unknownRootKey(TomlTable root, String key) {
        String hint = null;
        if (SETTINGS.containsKey(key)) {
            hint = "did you mean to put " + key + " under [config]?";
        } else if (SERVER_KEYS.contains(key)) {
            hint = "servers go in [servers] servers = [ { url = ..., max_concurrent_requests = ... } ]";
        }
        java.util.List<String> known = new java.util.ArrayList<>(ROOT_KEYS);
        for (ConfigExtension<?> e : ConfigExtensions.installed()) {
            known.addAll(e.tables());
        }
        return mistakes.unknownKey(root, "", key, known, "the top level ([servers], [config], [strategies.NAME], [discovery], [slo]"
                + (known.size() > ROOT_KEYS.size() ? " and " + known.subList(ROOT_KEYS.size(), known.size()).stream()
                .map(t -> "[" + t + "]").collect(java.util.stream.Collectors.joining(", ")) : "") + ")", hint);
    }
}
