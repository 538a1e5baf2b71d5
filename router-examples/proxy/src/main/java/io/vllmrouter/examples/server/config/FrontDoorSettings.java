package io.vllmrouter.examples.server.config;

import io.vllmrouter.api.RouterSettings;
import io.vllmrouter.core.config.ConfigException;
import io.vllmrouter.core.config.ConfigExtension;
import io.vllmrouter.core.config.ConfigSection;
import io.vllmrouter.core.config.RouterConfig;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Reads the proxy's part of the configuration file into a {@link FrontDoorConfig}: these keys of
 * {@code [config]} and the {@code [auth]} table. A {@link ConfigExtension} (registered in
 * {@code META-INF/services}): the router parses the file and reports every mistake with its line, but
 * the meaning of these keys is the proxy's.
 *
 * <pre>{@code
 * [config]
 * client_body_timeout = 30
 * max_body_bytes = 33554432
 * [auth]
 * api_keys = ["sk-team-a"]
 * admin_keys = ["sk-ops"]       # opens /load-stats, /metrics and the dashboard's data, nothing else
 * }</pre>
 */
public final class FrontDoorSettings implements ConfigExtension<FrontDoorConfig> {

    /** The one instance (stateless); {@link java.util.ServiceLoader} may make others, which are equal in use. */
    public static final FrontDoorSettings INSTANCE = new FrontDoorSettings();

    static final Set<String> CONFIG_KEYS = Set.of("client_header_timeout", "client_body_timeout", "client_idle_timeout",
            "max_header_bytes", "max_header_count", "max_buffered_body_bytes", "max_body_bytes", "allow_admin_paths",
            "tls_cert_file", "tls_key_file");
    static final List<String> AUTH_KEYS = List.of("api_keys", "api_keys_file", "admin_keys", "requests_per_minute",
            "max_concurrent", "protect_stats");

    /** The front door's settings in {@code config} (its defaults when it has none). */
    public static FrontDoorConfig of(RouterSettings config) {
        return config instanceof RouterConfig c ? c.extension(INSTANCE) : FrontDoorConfig.DEFAULT;
    }

    @Override
    public String name() {
        return "front door";
    }

    @Override
    public Set<String> configKeys() {
        return CONFIG_KEYS;
    }

    @Override
    public Set<String> tables() {
        return Set.of("auth");
    }

    @Override
    public FrontDoorConfig defaults() {
        return FrontDoorConfig.DEFAULT;
    }

    @Override
    public FrontDoorConfig read(ConfigSection root) {
        FrontDoorConfig.Builder b = FrontDoorConfig.builder();
        List<ConfigException> mistakes = new ArrayList<>();
        ConfigSection config = root.table("config");
        if (config != null) {
            collect(mistakes, () -> config.eachKey(key -> {
                if (CONFIG_KEYS.contains(key)) {
                    readConfigKey(config, key, b);
                }
            }));
        }
        ConfigSection auth = root.table("auth");
        if (auth != null) {
            collect(mistakes, () -> auth.eachKey(key -> readAuthKey(auth, key, b)));
        }
        if (!mistakes.isEmpty()) {
            throw ConfigException.of(mistakes);
        }
        try {
            return b.build();
        } catch (IllegalArgumentException e) { // one TLS file without the other (both are [config] keys)
            throw config.bad(config.has("tls_cert_file") ? "tls_key_file" : "tls_cert_file", // the one missing
                    "tls_cert_file and tls_key_file together");
        }
    }

    private static void readConfigKey(ConfigSection c, String key, FrontDoorConfig.Builder b) {
        switch (key) {
            case "client_header_timeout" -> b.clientHeaderTimeout(c.seconds(key));
            case "client_body_timeout" -> b.clientBodyTimeout(c.seconds(key));
            case "client_idle_timeout" -> b.clientIdleTimeout(c.seconds(key));
            case "max_header_bytes" -> b.maxHeaderBytes(c.integer(key, 1024, 16 * 1024 * 1024));
            case "max_header_count" -> b.maxHeaderCount(c.integer(key, 1));
            case "max_buffered_body_bytes" -> b.maxBufferedBodyBytes(c.longInteger(key, 1));
            case "max_body_bytes" -> b.maxBodyBytes(c.longInteger(key, 1));
            case "allow_admin_paths" -> b.allowAdminPaths(c.bool(key));
            case "tls_cert_file" -> b.tlsCertFile(c.path(key, "path of a PEM certificate file"));
            case "tls_key_file" -> b.tlsKeyFile(c.path(key, "path of a PEM PKCS#8 private key file"));
            default -> throw new IllegalStateException(key);
        }
    }

    private static void readAuthKey(ConfigSection auth, String key, FrontDoorConfig.Builder b) {
        switch (key) {
            case "api_keys" -> auth.strings(key, "a non-empty key, or \"sha256:<64 hex digits>\"").forEach(b::apiKey);
            case "admin_keys" -> auth.strings(key, "a non-empty key, or \"sha256:<64 hex digits>\"").forEach(b::adminKey);
            case "api_keys_file" -> readKeysFile(auth, auth.path(key, "path of a file with one key per line"), b);
            case "requests_per_minute" -> b.requestsPerMinute(auth.integer(key, 0, "integer >= 0, 0 = unlimited"));
            case "max_concurrent" -> b.maxConcurrent(auth.integer(key, 0, "integer >= 0, 0 = unlimited"));
            case "protect_stats" -> b.protectStats(auth.bool(key));
            default -> throw auth.unknown(key, AUTH_KEYS);
        }
    }

    /**
     * The keys file is read at every load, so it is re-read whenever the configuration is. A file
     * with no key is refused: read as "no keys", it would turn API keys off, and an emptied or
     * truncated keys file is far likelier a mistake or a write under way than a wish to open the door.
     */
    private static void readKeysFile(ConfigSection auth, Path file, FrontDoorConfig.Builder b) {
        List<String> lines;
        try {
            // As the load sees it: a reload reads the copy it judged with the configuration file.
            lines = auth.readText(file).lines().toList();
        } catch (IOException e) {
            throw auth.bad("api_keys_file", "a readable file with one key per line ("
                    + (e instanceof NoSuchFileException ? "no such file" : "cannot be read") + ": " + file + ")");
        }
        int found = 0;
        for (int i = 0; i < lines.size(); i++) {
            String key = lines.get(i).strip();
            if (key.isEmpty() || key.startsWith("#")) {
                continue;
            }
            found++;
            try {
                b.apiKey(key);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(file.toString(), i + 1, "api key", "(not shown)",
                        "a non-empty key, or \"sha256:<64 hex digits>\"");
            }
        }
        if (found == 0) {
            throw auth.bad("api_keys_file", "a file with at least one key (" + file + " has none; to turn API keys"
                    + " off, remove api_keys_file)");
        }
        b.apiKeysFile(file);
    }

    @Override
    public List<Path> watchedFiles(FrontDoorConfig settings) {
        return settings.apiKeysFile() == null ? List.of() : List.of(settings.apiKeysFile());
    }

    /**
     * A reload never turns API keys off: a file that lost its {@code [auth]} to a write stalled
     * past the reload's wait, or to a mistake, would open the door to anyone. A restart does it.
     */
    @Override
    public String refusal(FrontDoorConfig before, FrontDoorConfig after) {
        return before.authEnabled() && !after.authEnabled()
                ? "turn API keys off, which a reload never does (restart the router to run without keys)" : null;
    }

    private static void collect(List<ConfigException> mistakes, Runnable part) {
        try {
            part.run();
        } catch (ConfigException e) {
            mistakes.addAll(e.mistakes());
        }
    }
}
