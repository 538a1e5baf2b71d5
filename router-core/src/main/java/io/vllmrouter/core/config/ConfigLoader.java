package io.vllmrouter.core.config;

import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.tomlj.Toml;
import org.tomlj.TomlArray;
import org.tomlj.TomlParseError;
import org.tomlj.TomlParseResult;
import org.tomlj.TomlPosition;
import org.tomlj.TomlTable;

/**
 * Reads the router's TOML configuration (the Python router's schema plus our keys; reference in
 * {@code docs/configuration.md}) into a validated {@link RouterConfig}.
 *
 * <pre>{@code
 * Path file = ConfigLoader.resolveConfigPath(flagValue, System.getenv());
 * RouterConfig config = ConfigLoader.load(file);   // throws ConfigException naming file, line, key, value
 * }</pre>
 *
 * <p>Precedence: command-line flag (applied by the caller) &gt; environment ({@code
 * HEALTH_CHECK_INTERVAL}, {@code CONFIG_RELOAD_INTERVAL}, {@code REQUEST_TIMEOUT}) &gt; file &gt;
 * default. Every value is checked; ranges are {@link RouterConfig.Builder}'s and {@link
 * ServerConfig}'s, whose errors are re-thrown as {@link ConfigException} with the file, line and full
 * key. Unknown keys are refused (a typo would otherwise silently leave a default in force), with a
 * suggestion when one key is close. The loader logs nothing: the caller decides what to say, for
 * example about a file with no servers.
 *
 * <p>Stateless and thread-safe.
 */
public final class ConfigLoader {

    /** The file used when neither the flag nor {@value #ENV_CONFIG_PATH} names one, in the working directory. */
    public static final String DEFAULT_FILE_NAME = "servers.toml";
    /** Environment variable naming the config file. */
    public static final String ENV_CONFIG_PATH = "CONFIG_PATH";
    /** Environment variable overriding {@code [config] health_check_interval}. */
    public static final String ENV_HEALTH_CHECK_INTERVAL = "HEALTH_CHECK_INTERVAL";
    /** Environment variable overriding {@code [config] config_reload_interval}. */
    public static final String ENV_CONFIG_RELOAD_INTERVAL = "CONFIG_RELOAD_INTERVAL";
    /** Environment variable overriding {@code [config] request_timeout}. */
    public static final String ENV_REQUEST_TIMEOUT = "REQUEST_TIMEOUT";

    /** The Python router's default capacity for a server without {@code max_concurrent_requests}. */
    private static final int DEFAULT_MAX_CONCURRENT_REQUESTS = ServerConfig.DEFAULT_MAX_CONCURRENT_REQUESTS;

    /** Largest duration accepted, so that every duration fits {@link Duration#toNanos()} (about 292 years). */
    private static final long MAX_SECONDS = 9_000_000_000L;

    private static final String SERVERS_EXPECTED =
            "a [servers] table holding servers = [ { url = \"http://host:8000\", max_concurrent_requests = 4 }, ... ]";
    private static final String SERVER_EXPECTED =
            "a table such as { url = \"http://host:8000\", max_concurrent_requests = 4 }";
    private static final String URL_EXPECTED = "http:// or https:// URL with a host";

    private static final List<String> ROOT_KEYS = List.of("servers", "config", "strategies");
    private static final List<String> SERVERS_KEYS = List.of("servers");
    private static final List<String> SERVER_KEYS = List.of("url", "max_concurrent_requests", "models", "api_key");

    /** Keys of the Python router's code (not its README) that have another name here. */
    private static final Map<String, String> PYTHON_KEYS = Map.of(
            "failure_threshold", "health_check_failure_threshold",
            "health_check_consecutive_failures", "health_check_failure_threshold",
            "health_check_window_size", "health_check_window");

    /** Matches RouterConfig's and ServerConfig's messages: {@code "key: value (expected: what)"}. */
    private static final Pattern BUILDER_MESSAGE = Pattern.compile("([a-z_]+): (.*) \\(expected: (.*)\\)", Pattern.DOTALL);
    private static final Pattern ENV_NUMBER = Pattern.compile("[+-]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][+-]?\\d+)?");

    private enum Kind { SECONDS, INT, LONG, NUMBER, BOOL, STRING }

    /**
     * One {@code [config]} key. {@code expected} is shown for a value of the wrong type; the range
     * itself is checked by the builder, whose message is shown for a value out of range.
     */
    private record Setting(String name, Kind kind, String expected, BiConsumer<RouterConfig.Builder, Object> apply) {
    }

    private static final Map<String, Setting> SETTINGS = settings(
            seconds("health_check_interval", (b, d) -> b.healthCheckInterval(d)),
            seconds("health_check_timeout", (b, d) -> b.healthCheckTimeout(d)),
            new Setting("health_check_min_success_rate", Kind.NUMBER, "number between 0 and 1",
                    (b, v) -> b.healthCheckMinSuccessRate((Double) v)),
            seconds("health_check_max_response_time", (b, d) -> b.healthCheckMaxResponseTime(d)),
            integer("health_check_failure_threshold", 1, (b, n) -> b.healthCheckFailureThreshold(n)),
            integer("health_check_success_threshold", 1, (b, n) -> b.healthCheckSuccessThreshold(n)),
            integer("health_check_window", 1, (b, n) -> b.healthCheckWindow(n)),
            seconds("config_reload_interval", (b, d) -> b.configReloadInterval(d)),
            new Setting("enable_active_health_check", Kind.BOOL, "true or false",
                    (b, v) -> b.enableActiveHealthCheck((Boolean) v)),
            seconds("request_timeout", (b, d) -> b.requestTimeout(d)),
            seconds("connect_timeout", (b, d) -> b.connectTimeout(d)),
            integer("max_retries", 0, (b, n) -> b.maxRetries(n)),
            new Setting("retry_delay", Kind.SECONDS, "number of seconds >= 0", (b, v) -> b.retryDelay((Duration) v)),
            new Setting("strategy", Kind.STRING, "a strategy name such as \"weighted-score\"",
                    (b, v) -> b.strategy((String) v)),
            seconds("metrics_interval", (b, d) -> b.metricsInterval(d)),
            seconds("metrics_timeout", (b, d) -> b.metricsTimeout(d)),
            integer("metrics_stale_after", 1, (b, n) -> b.metricsStaleAfter(n)),
            seconds("models_refresh_interval", (b, d) -> b.modelsRefreshInterval(d)),
            new Setting("circuit_breaker_failure_rate", Kind.NUMBER, "percent > 0 and <= 100",
                    (b, v) -> b.circuitBreakerFailureRate((Double) v)),
            integer("circuit_breaker_minimum_calls", 1, (b, n) -> b.circuitBreakerMinimumCalls(n)),
            integer("circuit_breaker_window", 1, (b, n) -> b.circuitBreakerWindow(n)),
            seconds("circuit_breaker_wait", (b, d) -> b.circuitBreakerWait(d)),
            integer("circuit_breaker_half_open_calls", 1, (b, n) -> b.circuitBreakerHalfOpenCalls(n)),
            new Setting("max_body_bytes", Kind.LONG, "integer >= 1", (b, v) -> b.maxBodyBytes((Long) v)),
            new Setting("session_header", Kind.STRING, "an HTTP header name such as \"X-Session-Id\"",
                    (b, v) -> b.sessionHeader((String) v)));

    /** Environment variables that override a {@code [config]} key, in the order they are applied. */
    private static final Map<String, String> ENV_OVERRIDES = orderedMap(
            ENV_HEALTH_CHECK_INTERVAL, "health_check_interval",
            ENV_CONFIG_RELOAD_INTERVAL, "config_reload_interval",
            ENV_REQUEST_TIMEOUT, "request_timeout");

    private ConfigLoader() {
    }

    /** Every key {@code [config]} accepts, in documentation order. */
    public static Set<String> configKeys() {
        return SETTINGS.keySet();
    }

    /**
     * Which file to read: {@code flagValue} when given, else {@code CONFIG_PATH}, else {@code
     * servers.toml} in the working directory. Blank values count as absent. The file need not exist.
     *
     * @param flagValue the {@code --config} value, or null
     * @throws ConfigException when the chosen value is not a valid path
     */
    public static Path resolveConfigPath(String flagValue, Map<String, String> env) {
        Objects.requireNonNull(env, "env");
        String chosen = DEFAULT_FILE_NAME;
        String source = "default";
        if (flagValue != null && !flagValue.isBlank()) {
            chosen = flagValue;
            source = "--config";
        } else if (env.get(ENV_CONFIG_PATH) != null && !env.get(ENV_CONFIG_PATH).isBlank()) {
            chosen = env.get(ENV_CONFIG_PATH);
            source = ENV_CONFIG_PATH;
        }
        try {
            return Path.of(chosen);
        } catch (InvalidPathException e) {
            throw new ConfigException(source.equals(ENV_CONFIG_PATH) ? ConfigException.ENVIRONMENT : "command line",
                    -1, source, quote(chosen), "a file path (" + e.getReason() + ")");
        }
    }

    /** {@link #load(Path, Map)} with the process environment. */
    public static RouterConfig load(Path file) {
        return load(file, System.getenv());
    }

    /**
     * Reads and validates {@code file}; {@code env} may override some keys (see class doc).
     *
     * @throws ConfigException when the file is missing, unreadable, not UTF-8, not TOML, or holds a
     *                         bad value, or an environment variable holds one
     */
    public static RouterConfig load(Path file, Map<String, String> env) {
        return parse(read(file), file.toString(), env);
    }

    /**
     * Parses TOML text.
     *
     * @param sourceName the name errors give for the text, usually the file name
     * @throws ConfigException on a syntax error or a bad value
     */
    public static RouterConfig parse(String toml, String sourceName, Map<String, String> env) {
        Objects.requireNonNull(toml, "toml");
        Objects.requireNonNull(sourceName, "sourceName");
        Objects.requireNonNull(env, "env");
        return new Parse(sourceName).run(toml, env);
    }

    /** Reads the file's bytes, with errors naming the path. */
    static byte[] read(Path file) {
        Objects.requireNonNull(file, "file");
        try {
            if (Files.isDirectory(file)) {
                throw ConfigException.file(file.toString(), "is a directory (expected: a TOML file)", null);
            }
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw readError(file, e);
        }
    }

    /** Says why {@code file} could not be read, naming it. */
    static ConfigException readError(Path file, IOException e) {
        if (e instanceof NoSuchFileException) {
            return ConfigException.file(file.toString(), "file not found (absolute path: " + file.toAbsolutePath() + ")", e);
        }
        if (e instanceof AccessDeniedException) {
            return ConfigException.file(file.toString(), "cannot read the file: permission denied", e);
        }
        if (Files.isDirectory(file)) {
            return ConfigException.file(file.toString(), "is a directory (expected: a TOML file)", e);
        }
        return ConfigException.file(file.toString(), "cannot read the file: " + e, e);
    }

    /** Decodes UTF-8 strictly (a stray Latin-1 byte is an error, not a replacement character) and parses. */
    static RouterConfig parse(byte[] bytes, String sourceName, Map<String, String> env) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            throw ConfigException.file(sourceName, "not valid UTF-8 (expected: TOML text in UTF-8)", e);
        }
        return parse(text, sourceName, env);
    }

    /** One parse: holds the source name so that every error can name it. */
    private static final class Parse {
        private final String source;

        Parse(String source) {
            this.source = source;
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

            RouterConfig.Builder builder = RouterConfig.builder();
            for (String key : root.keySet()) {
                if (!ROOT_KEYS.contains(key)) {
                    throw unknownRootKey(root, key);
                }
            }
            List<TomlTable> serverTables = new ArrayList<>();
            List<ServerConfig> servers = new ArrayList<>();
            Object serversValue = root.get(List.of("servers"));
            if (serversValue != null) {
                if (!(serversValue instanceof TomlTable serversTable)) {
                    throw bad(root, "servers", "servers", serversValue, SERVERS_EXPECTED);
                }
                readServers(serversTable, serverTables, servers);
            }
            Object configValue = root.get(List.of("config"));
            if (configValue != null) {
                if (!(configValue instanceof TomlTable configTable)) {
                    throw bad(root, "config", "config", configValue, "a [config] table");
                }
                readConfig(configTable, builder);
            }
            Object strategiesValue = root.get(List.of("strategies"));
            if (strategiesValue != null) {
                if (!(strategiesValue instanceof TomlTable strategiesTable)) {
                    throw bad(root, "strategies", "strategies", strategiesValue,
                            "tables of strategy settings such as [strategies.cache-aware]");
                }
                readStrategies(strategiesTable, builder);
            }
            applyEnvironment(env, builder);
            builder.servers(servers);
            try {
                return builder.build();
            } catch (IllegalArgumentException e) {
                throw duplicateUrl(e, serverTables, servers);
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
                    throw new ConfigException(source, fallbackLine, prefix, show(entry), SERVER_EXPECTED);
                }
                tables.add(t);
                out.add(readServer(t, prefix, entryLine(t, fallbackLine)));
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

            try {
                return new ServerConfig(uri, capacity, models, (String) rawKey);
            } catch (IllegalArgumentException e) {
                throw wrap(e, t, prefix + ".");
            }
        }

        private void readConfig(TomlTable config, RouterConfig.Builder builder) {
            for (String key : config.keySet()) {
                Setting setting = SETTINGS.get(key);
                if (setting == null) {
                    String hint = null;
                    if (PYTHON_KEYS.containsKey(key)) {
                        hint = "the Python router's name; here it is " + PYTHON_KEYS.get(key);
                    } else if (key.equals("auto_recovery_threshold")) {
                        hint = "not used here: a backend is re-admitted after health_check_success_threshold good checks";
                    }
                    throw unknownKey(config, "config.", key, SETTINGS.keySet(), "[config]", hint);
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
        }

        /**
         * {@code [strategies.NAME]} tables: each value (string, number or boolean) is passed as text to
         * the strategy's provider, which validates it; a provider found on router-core's class path
         * is asked here, so that a bad value is reported with its file and line.
         */
        private void readStrategies(TomlTable strategies, RouterConfig.Builder builder) {
            for (String name : strategies.keySet()) {
                Object v = strategies.get(List.of(name));
                if (!(v instanceof TomlTable t)) {
                    throw bad(strategies, "strategies." + name, name, v, "a table of settings such as [strategies." + name + "]");
                }
                Map<String, String> settings = new LinkedHashMap<>();
                for (String key : t.keySet()) {
                    Object raw = t.get(List.of(key));
                    if (raw instanceof String || raw instanceof Number || raw instanceof Boolean) {
                        settings.put(key, String.valueOf(raw));
                    } else {
                        throw bad(t, "strategies." + name + "." + key, key, raw, "a string, number or boolean");
                    }
                }
                io.vllmrouter.core.strategy.StrategyRegistry registry = io.vllmrouter.core.strategy.StrategyRegistry.defaultRegistry();
                if (registry.names().contains(name)) {
                    try {
                        registry.create(name, settings);
                    } catch (IllegalArgumentException e) {
                        throw wrap(e, t, "strategies." + name + ".");
                    } catch (IllegalStateException e) {
                        Throwable cause = e.getCause();
                        if (cause instanceof IllegalArgumentException iae) {
                            throw wrap(iae, t, "strategies." + name + ".");
                        }
                        throw e;
                    }
                }
                builder.strategySettings(name, settings);
            }
        }

        private void applyEnvironment(Map<String, String> env, RouterConfig.Builder builder) {
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
            return unknownKey(root, "", key, ROOT_KEYS, "the top level ([servers], [config] and [strategies.NAME])", hint);
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

    /** The TOML value as converted for {@code kind}, or null when it has the wrong type or is out of representable range. */
    private static Object convert(Kind kind, Object raw) {
        switch (kind) {
            case SECONDS:
                return toDuration(raw);
            case INT:
                return toInt(raw);
            case LONG:
                return raw instanceof Long n ? n : null;
            case NUMBER:
                if (raw instanceof Long n) {
                    return n.doubleValue();
                }
                return raw instanceof Double d ? d : null;
            case BOOL:
                return raw instanceof Boolean b ? b : null;
            case STRING:
                return raw instanceof String s ? s : null;
            default:
                throw new AssertionError(kind);
        }
    }

    private static Integer toInt(Object raw) {
        if (raw instanceof Long n && n >= Integer.MIN_VALUE && n <= Integer.MAX_VALUE) {
            return n.intValue();
        }
        return null;
    }

    /** Seconds, integer or fractional, to a Duration rounded to the nanosecond. */
    private static Duration toDuration(Object raw) {
        if (raw instanceof Long n) {
            return Math.abs(n) <= MAX_SECONDS ? Duration.ofSeconds(n) : null;
        }
        if (raw instanceof Double d) {
            if (!Double.isFinite(d) || Math.abs(d) > MAX_SECONDS) {
                return null;
            }
            long nanos = BigDecimal.valueOf(d).movePointRight(9).setScale(0, java.math.RoundingMode.HALF_UP).longValueExact();
            return Duration.ofNanos(nanos);
        }
        return null;
    }

    /** An environment value as TOML would have given it: Long, Double, or the string itself. */
    private static Object parseEnvNumber(String text) {
        if (!ENV_NUMBER.matcher(text).matches()) {
            return text;
        }
        boolean integral = text.indexOf('.') < 0 && text.indexOf('e') < 0 && text.indexOf('E') < 0;
        try {
            return integral ? (Object) Long.parseLong(text) : (Object) Double.parseDouble(text);
        } catch (NumberFormatException e) {
            return text;
        }
    }

    private static String expectedOf(IllegalArgumentException e) {
        Matcher m = BUILDER_MESSAGE.matcher(e.getMessage() == null ? "" : e.getMessage());
        return m.matches() ? m.group(3) : String.valueOf(e.getMessage());
    }

    /** "did you mean x?" for the one known key closest to {@code key}, if it is close. */
    static String suggest(String key, Collection<String> known) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String k : known) {
            int d = levenshtein(key.toLowerCase(java.util.Locale.ROOT), k);
            if (d < bestDistance) {
                bestDistance = d;
                best = k;
            }
        }
        if (best != null && bestDistance <= Math.max(2, key.length() / 4)) {
            return "did you mean " + best + "?";
        }
        String contained = null;
        for (String k : known) {
            if (key.length() >= 4 && (k.contains(key) || key.contains(k))) {
                if (contained != null) {
                    return null;
                }
                contained = k;
            }
        }
        return contained == null ? null : "did you mean " + contained + "?";
    }

    private static int levenshtein(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    /** A TOML value as an operator would write it; long values are cut. */
    static String show(Object v) {
        String s;
        if (v == null) {
            s = "(nothing)";
        } else if (v instanceof String str) {
            s = quote(str);
        } else if (v instanceof Double d) {
            s = d.isNaN() ? "nan" : d.isInfinite() ? (d > 0 ? "inf" : "-inf") : d.toString();
        } else if (v instanceof TomlArray a) {
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < a.size(); i++) {
                sb.append(i == 0 ? "" : ", ").append(show(a.get(i)));
            }
            s = sb.append(']').toString();
        } else if (v instanceof TomlTable) {
            s = "{...}";
        } else {
            s = v.toString();
        }
        return s.length() > 120 ? s.substring(0, 117) + "..." : s;
    }

    private static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\t' -> sb.append("\\t");
                case '\r' -> sb.append("\\r");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }

    private static String stripPosition(String message) {
        return message == null ? "" : message.replaceFirst(" \\(line \\d+, column \\d+\\)$", "");
    }

    private static Setting seconds(String name, BiConsumer<RouterConfig.Builder, Duration> apply) {
        return new Setting(name, Kind.SECONDS, "number of seconds > 0", (b, v) -> apply.accept(b, (Duration) v));
    }

    private static Setting integer(String name, int min, BiConsumer<RouterConfig.Builder, Integer> apply) {
        return new Setting(name, Kind.INT, "integer >= " + min, (b, v) -> apply.accept(b, (Integer) v));
    }

    private static Map<String, Setting> settings(Setting... all) {
        Map<String, Setting> m = new LinkedHashMap<>();
        for (Setting s : all) {
            m.put(s.name(), s);
        }
        return java.util.Collections.unmodifiableMap(m);
    }

    private static Map<String, String> orderedMap(String... pairs) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            m.put(pairs[i], pairs[i + 1]);
        }
        return java.util.Collections.unmodifiableMap(m);
    }
}
