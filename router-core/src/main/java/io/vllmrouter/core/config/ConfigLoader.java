package io.vllmrouter.core.config;

import io.vllmrouter.api.OneLine;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import io.vllmrouter.core.strategy.StrategyRegistry;

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
 * default. Every value is checked; ranges are {@link RouterConfigBuilder}'s and {@link
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

    private ConfigLoader() {
    }

    /** Every key {@code [config]} accepts, in documentation order. */
    public static Set<String> configKeys() {
        return ConfigKeys.SETTINGS.keySet();
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
                    -1, source, OneLine.quoted(chosen), "a file path (" + e.getReason() + ")");
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
        return load(file, env, StrategyRegistry.defaultRegistry());
    }

    /**
     * {@link #load(Path, Map)}, with {@code strategy} judged against {@code strategies}: an unknown
     * name is a {@link ConfigException} listing the known ones.
     */
    public static RouterConfig load(Path file, Map<String, String> env, StrategyRegistry strategies) {
        return parse(read(file), file.toString(), env, strategies);
    }

    /**
     * Parses TOML text.
     *
     * @param sourceName the name errors give for the text, usually the file name
     * @throws ConfigException on a syntax error or a bad value
     */
    public static RouterConfig parse(String toml, String sourceName, Map<String, String> env) {
        return parse(toml, sourceName, env, StrategyRegistry.defaultRegistry());
    }

    /** {@link #parse(String, String, Map)} with {@code strategy} judged against {@code strategies}. */
    public static RouterConfig parse(String toml, String sourceName, Map<String, String> env,
                                     StrategyRegistry strategies) {
        Objects.requireNonNull(toml, "toml");
        return parseText(toml, sourceName, env, strategies, Map.of());
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
    static RouterConfig parse(byte[] bytes, String sourceName, Map<String, String> env,
                              StrategyRegistry strategies) {
        return parse(bytes, sourceName, env, strategies, Map.of());
    }

    /** {@link #parse(byte[], String, Map, StrategyRegistry)} with copies of the other files the settings name. */
    static RouterConfig parse(byte[] bytes, String sourceName, Map<String, String> env,
                              StrategyRegistry strategies, Map<java.nio.file.Path, byte[]> files) {
        String text;
        try {
            text = utf8(bytes);
        } catch (CharacterCodingException e) {
            throw ConfigException.file(sourceName, "not valid UTF-8 (expected: TOML text in UTF-8)", e);
        }
        return parseText(text, sourceName, env, strategies, files);
    }

    private static RouterConfig parseText(String text, String sourceName, Map<String, String> env,
                                          StrategyRegistry strategies, Map<java.nio.file.Path, byte[]> files) {
        Objects.requireNonNull(sourceName, "sourceName");
        Objects.requireNonNull(env, "env");
        Objects.requireNonNull(strategies, "strategies");
        return new TomlConfigParser(sourceName, strategies, files).run(text, env);
    }

    /** UTF-8 read strictly: a stray Latin-1 byte is an error, not a replacement character. */
    static String utf8(byte[] bytes) throws CharacterCodingException {
        return StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(bytes))
                .toString();
    }

    /** One parse: holds the source name so that every error can name it. */
    /** A suggestion for a mistyped {@code key} among {@code known}, or null (for tools and tests). */
    static String suggest(String key, java.util.Collection<String> known) {
        return ConfigKeys.suggest(key, known);
    }
}
