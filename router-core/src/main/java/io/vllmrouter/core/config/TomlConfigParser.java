package io.vllmrouter.core.config;

import static io.vllmrouter.core.config.ConfigKeys.*;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import io.vllmrouter.core.strategy.StrategyRegistry;
import org.tomlj.Toml;
import org.tomlj.TomlArray;
import org.tomlj.TomlParseError;
import org.tomlj.TomlParseResult;
import org.tomlj.TomlPosition;
import org.tomlj.TomlTable;

/**
 * One parse of configuration text for {@link ConfigLoader}: the TOML tree walked key by key into a
 * {@link RouterConfigBuilder}, environment overrides applied, the strategy name checked against the
 * registry, and every error turned into a {@link ConfigException} naming the source, line, full key,
 * value and what is expected. One instance per parse; not thread-safe.
 */
final class TomlConfigParser {

    /** user:password@ (or user@) in a URL's authority. */
    private static final java.util.regex.Pattern CREDENTIALS = java.util.regex.Pattern.compile("^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@");

    private final String source;
    private final StrategyRegistry strategies;
    /** Mistakes found so far: each part of the file is read on after one, so all are reported at once. */
    private final List<ConfigException> mistakes = new ArrayList<>();

    TomlConfigParser(String source, StrategyRegistry strategies) {
        this.source = source;
        this.strategies = strategies;
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
        List<TomlTable> serverTables = new ArrayList<>();
        List<ServerConfig> servers = new ArrayList<>();
        Object serversValue = root.get(List.of("servers"));
        if (serversValue != null) {
            check(() -> {
                if (!(serversValue instanceof TomlTable serversTable)) {
                    throw bad(root, "servers", "servers", serversValue, SERVERS_EXPECTED);
                }
                readServers(serversTable, serverTables, servers);
            });
        }
        Object configValue = root.get(List.of("config"));
        if (configValue != null) {
            check(() -> {
                if (!(configValue instanceof TomlTable configTable)) {
                    throw bad(root, "config", "config", configValue, "a [config] table");
                }
                readConfig(configTable, builder);
                boolean strategyWellFormed = mistakes.stream().noneMatch(m -> "config.strategy".equals(m.key()));
                if (strategyWellFormed && configTable.get("strategy") instanceof String name) {
                    try {
                        strategies.requireKnown(name);
                    } catch (IllegalArgumentException e) {
                        throw wrap(e, configTable, "config.");
                    }
                }
            });
        }
        Object strategiesValue = root.get(List.of("strategies"));
        if (strategiesValue != null) {
            check(() -> {
                if (!(strategiesValue instanceof TomlTable strategiesTable)) {
                    throw bad(root, "strategies", "strategies", strategiesValue,
                            "tables of strategy settings such as [strategies.cache-aware]");
                }
                readStrategies(strategiesTable, builder);
            });
        }
        Object sloValue = root.get(List.of("slo"));
        if (sloValue != null) {
            check(() -> {
                if (!(sloValue instanceof TomlTable sloTable)) {
                    throw bad(root, "slo", "slo", sloValue, "an [slo] table");
                }
                builder.ttftSlo(SloTable.read(sloTable, source));
            });
        }
        // The hosts' own parts of the file (the proxy's front door): read by their extensions.
        for (ConfigExtension<?> extension : ConfigExtensions.installed()) {
            check(() -> readExtension(extension, root, builder));
        }
        // [discovery] is checked here, so a bad table fails the load; FleetDiscovery reads it.
        check(() -> io.vllmrouter.core.discovery.DiscoveryConfig.from(root, source));
        check(() -> applyEnvironment(env, builder));
        if (!mistakes.isEmpty()) {
            throw ConfigException.of(mistakes);
        }
        builder.servers(servers);
        try {
            return builder.build();
        } catch (IllegalArgumentException e) {
            boolean aboutServers = e.getMessage() != null && e.getMessage().startsWith("servers:");
            throw aboutServers ? duplicateUrl(e, serverTables, servers)
                    : wrap(e, configValue instanceof TomlTable t ? t : root, "config.");
        }
    }

    /** Runs one part of the reading; a mistake in it is kept and the reading goes on with the next part. */
    private void check(Runnable part) {
        try {
            part.run();
        } catch (ConfigException e) {
            mistakes.add(e);
        }
    }

    private void readServers(TomlTable serversTable, List<TomlTable> tables, List<ServerConfig> out) {
        for (String key : serversTable.keySet()) {
            if (!SERVERS_KEYS.contains(key)) {
                throw unknownKey(serversTable, "servers.", key, SERVERS_KEYS, "[servers]",
                        SERVER_KEYS.contains(key) ? "each server is a table inside servers = [ ... ]" : null);
            }
        }
        Object list = serversTable.get(List.of("servers"));
        if (list == null) {
            return;
        }
        if (!(list instanceof TomlArray array)) {
            throw bad(serversTable, "servers", "servers", list, "an array: servers = [ { url = ..., max_concurrent_requests = ... }, ... ]");
        }
        int fallbackLine = line(serversTable, "servers");
        for (int i = 0; i < array.size(); i++) {
            Object entry = array.get(i);
            String prefix = "servers[" + i + "]";
            if (!(entry instanceof TomlTable t)) {
                mistakes.add(new ConfigException(source, fallbackLine, prefix, show(entry), SERVER_EXPECTED));
                continue;
            }
            check(() -> {
                ServerConfig server = readServer(t, prefix, entryLine(t, fallbackLine));
                tables.add(t);
                out.add(server);
            });
        }
    }

    private ServerConfig readServer(TomlTable t, String prefix, int entryLine) {
        for (String key : t.keySet()) {
            if (!SERVER_KEYS.contains(key)) {
                throw unknownKey(t, prefix + ".", key, SERVER_KEYS, "a server", null);
            }
        }
        Object rawUrl = t.get(List.of("url"));
        if (rawUrl == null) {
            throw new ConfigException(source, entryLine, prefix + ".url", null, URL_EXPECTED);
        }
        if (!(rawUrl instanceof String urlText)) {
            throw bad(t, prefix + ".url", "url", rawUrl, URL_EXPECTED + ", in quotes");
        }
        java.util.regex.Matcher credentials = CREDENTIALS.matcher(urlText.strip());
        if (credentials.find()) { // checked on the text: a URL that is also malformed must not show them either
            throw new ConfigException(source, line(t, "url"), prefix + ".url",
                    quote(credentials.replaceFirst("$1***@")), ServerConfig.NO_CREDENTIALS);
        }
        URI uri;
        try {
            uri = new URI(urlText.strip());
        } catch (URISyntaxException e) {
            throw bad(t, prefix + ".url", "url", rawUrl, URL_EXPECTED + " (" + e.getReason() + " at index " + e.getIndex() + ")");
        }
        if (uri.getHost() == null && uri.getAuthority() != null && uri.getAuthority().contains("_")) {
            throw bad(t, prefix + ".url", "url", rawUrl, URL_EXPECTED + "; host names cannot contain '_'");
        }

        int capacity = DEFAULT_MAX_CONCURRENT_REQUESTS;
        Object rawCapacity = t.get(List.of("max_concurrent_requests"));
        if (rawCapacity != null) {
            Integer n = toInt(rawCapacity);
            if (n == null) {
                throw bad(t, prefix + ".max_concurrent_requests", "max_concurrent_requests", rawCapacity, "integer >= 1");
            }
            capacity = n;
        }

        List<String> models = List.of();
        Object rawModels = t.get(List.of("models"));
        if (rawModels != null) {
            if (!(rawModels instanceof TomlArray array)) {
                throw bad(t, prefix + ".models", "models", rawModels, "an array of model names, e.g. [\"llama-3.1-8b\"]");
            }
            models = new ArrayList<>();
            for (int j = 0; j < array.size(); j++) {
                Object m = array.get(j);
                if (!(m instanceof String name) || name.isBlank()) {
                    throw bad(t, prefix + ".models[" + j + "]", "models", m, "a non-empty model name in quotes");
                }
                models.add(name);
            }
        }

        Object rawKey = t.get(List.of("api_key"));
        if (rawKey != null && !(rawKey instanceof String)) {
            throw bad(t, prefix + ".api_key", "api_key", rawKey, "a string (sent as Authorization: Bearer)");
        }

        Object rawName = t.get(List.of("name"));
        if (rawName != null && !(rawName instanceof String n && !n.isBlank() && n.strip().length() <= 64)) {
            throw bad(t, prefix + ".name", "name", rawName, "a short name in quotes, e.g. \"gpu-1\" (at most 64 characters)");
        }

        long cacheTokens = 0;
        Object rawCacheTokens = t.get(List.of("cache_tokens"));
        if (rawCacheTokens != null) {
            if (!(rawCacheTokens instanceof Long n)) {
                throw bad(t, prefix + ".cache_tokens", "cache_tokens", rawCacheTokens, ServerConfig.CACHE_TOKENS_EXPECTED);
            }
            cacheTokens = n;
        }
        KvEventsConfig kvEvents = KvEventsKeys.read(t, prefix, source);
        try {
            return new ServerConfig(uri, capacity, models, (String) rawKey, (String) rawName, cacheTokens, kvEvents);
        } catch (IllegalArgumentException e) {
            throw wrap(e, t, prefix + ".");
        }
    }

    private void readConfig(TomlTable config, RouterConfigBuilder builder) {
        for (String key : config.keySet()) {
            check(() -> readSetting(config, key, builder));
        }
    }

    /** An extension's settings; kept only when they differ from its defaults, as a built config has them. */
    private <T> void readExtension(ConfigExtension<T> extension, TomlTable root, RouterConfigBuilder builder) {
        T settings = extension.read(new ConfigSection(source, root, ""));
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
            throw unknownKey(config, "config.", key, known, "[config]", hint);
        }
        Object raw = config.get(List.of(key));
        Object value = convert(setting.kind(), raw);
        if (value == null) {
            throw bad(config, "config." + key, key, raw, setting.expected());
        }
        try {
            setting.apply().accept(builder, value);
        } catch (IllegalArgumentException e) {
            throw wrap(e, config, "config.");
        }
    }

    /**
     * {@code [strategies.NAME]} tables: each value (string, number or boolean) is passed as text to
     * the strategy's provider, which validates it; a known provider is asked here, so that a bad
     * value is reported with its file and line.
     */
    private void readStrategies(TomlTable table, RouterConfigBuilder builder) {
        for (String name : table.keySet()) {
            check(() -> readStrategy(table, name, builder));
        }
    }

    private void readStrategy(TomlTable table, String name, RouterConfigBuilder builder) {
        Object v = table.get(List.of(name));
        if (!(v instanceof TomlTable t)) {
            throw bad(table, "strategies." + name, name, v, "a table of settings such as [strategies." + name + "]");
        }
        Map<String, String> settings = new java.util.LinkedHashMap<>();
        for (String key : t.keySet()) {
            Object raw = t.get(List.of(key));
            if (raw instanceof String || raw instanceof Number || raw instanceof Boolean) {
                settings.put(key, String.valueOf(raw));
            } else {
                throw bad(t, "strategies." + name + "." + key, key, raw, "a string, number or boolean");
            }
        }
        if (strategies.names().contains(name)) {
            try {
                strategies.create(name, settings);
            } catch (IllegalArgumentException e) {
                throw wrap(e, t, "strategies." + name + ".");
            } catch (IllegalStateException e) {
                if (e.getCause() instanceof IllegalArgumentException iae) {
                    throw wrap(iae, t, "strategies." + name + ".");
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
                throw new ConfigException(ConfigException.ENVIRONMENT, -1, e.getKey(), quote(text), setting.expected());
            }
            try {
                setting.apply().accept(builder, value);
            } catch (IllegalArgumentException ex) {
                throw new ConfigException(ConfigException.ENVIRONMENT, -1, e.getKey(), quote(text), expectedOf(ex));
            }
        }
    }

    /** The builder refused two servers with one URL; find the second to name it. */
    private ConfigException duplicateUrl(IllegalArgumentException e, List<TomlTable> tables, List<ServerConfig> servers) {
        Map<String, Integer> firstIndex = new LinkedHashMap<>();
        for (int i = 0; i < servers.size(); i++) {
            Integer earlier = firstIndex.putIfAbsent(servers.get(i).id(), i);
            if (earlier != null) {
                TomlTable t = tables.get(i);
                return new ConfigException(source, line(t, "url"), "servers[" + i + "].url", show(t.get(List.of("url"))),
                        expectedOf(e) + "; servers[" + earlier + "] has it already");
            }
        }
        return new ConfigException(source, -1, "servers", null, e.getMessage());
    }

    /** Re-throws a builder's or ServerConfig's check, naming the file, line and full key. */
    private ConfigException wrap(IllegalArgumentException e, TomlTable table, String keyPrefix) {
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

    private ConfigException bad(TomlTable table, String fullKey, String localKey, Object raw, String expected) {
        return new ConfigException(source, line(table, localKey), fullKey, show(raw), expected);
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
        return unknownKey(root, "", key, known, "the top level ([servers], [config], [strategies.NAME], [discovery], [slo]"
                + (known.size() > ROOT_KEYS.size() ? " and " + known.subList(ROOT_KEYS.size(), known.size()).stream()
                .map(t -> "[" + t + "]").collect(java.util.stream.Collectors.joining(", ")) : "") + ")", hint);
    }

    private ConfigException unknownKey(TomlTable table, String prefix, String key, Collection<String> known,
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

    private static int line(TomlTable table, String key) {
        TomlPosition p = table.inputPositionOf(List.of(key));
        return p == null ? -1 : p.line();
    }

    /** The line of an inline or [[servers.servers]] table: that of its first key. */
    private static int entryLine(TomlTable t, int fallback) {
        int best = -1;
        for (String key : t.keySet()) {
            int l = line(t, key);
            if (l > 0 && (best < 0 || l < best)) {
                best = l;
            }
        }
        return best > 0 ? best : fallback;
    }
}
