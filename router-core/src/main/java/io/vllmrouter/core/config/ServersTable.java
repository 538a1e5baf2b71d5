package io.vllmrouter.core.config;

import static io.vllmrouter.core.config.ConfigKeys.DEFAULT_MAX_CONCURRENT_REQUESTS;
import static io.vllmrouter.core.config.ConfigKeys.SERVERS_KEYS;
import static io.vllmrouter.core.config.ConfigKeys.SERVER_EXPECTED;
import static io.vllmrouter.core.config.ConfigKeys.SERVER_KEYS;
import static io.vllmrouter.core.config.ConfigKeys.URL_EXPECTED;
import static io.vllmrouter.core.config.ConfigKeys.show;
import static io.vllmrouter.core.config.ConfigKeys.toInt;
import static io.vllmrouter.core.config.ParseMistakes.line;

import io.vllmrouter.api.OneLine;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.tomlj.TomlArray;
import org.tomlj.TomlTable;

/**
 * The {@code [servers]} table read into {@link ServerConfig}s: {@code servers = [ { url = ...,
 * max_concurrent_requests = ..., models = [...], api_key, name, cache_tokens, kv_events... }, ... ]},
 * inline or as {@code [[servers.servers]]}. A bad entry is a mistake of its own and the others are
 * still read; a URL that carries credentials is refused without showing them.
 *
 * <pre>{@code
 * ServersTable servers = new ServersTable(mistakes);
 * servers.read(serversTable);
 * builder.servers(servers.servers());
 * }</pre>
 *
 * <p>One reading, one thread.
 */
final class ServersTable {

    /** user:password@ (or user@) in a URL's authority. */
    private static final Pattern CREDENTIALS = Pattern.compile("^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@");

    private final ParseMistakes mistakes;
    private final String source;
    /** The entries read well, and their tables, index for index: to find a duplicate URL's line. */
    private final List<ServerConfig> servers = new ArrayList<>();
    private final List<TomlTable> tables = new ArrayList<>();

    ServersTable(ParseMistakes mistakes) {
        this.mistakes = mistakes;
        this.source = mistakes.source();
    }

    /** The servers read well so far, in file order. */
    List<ServerConfig> servers() {
        return servers;
    }

    /**
     * Reads {@code [servers]}; a bad entry is added to the mistakes and the next one read.
     *
     * @throws ConfigException the table itself is wrong (an unknown key, {@code servers} not an array)
     */
    void read(TomlTable serversTable) {
        for (String key : serversTable.keySet()) {
            if (!SERVERS_KEYS.contains(key)) {
                throw mistakes.unknownKey(serversTable, "servers.", key, SERVERS_KEYS, "[servers]",
                        SERVER_KEYS.contains(key) ? "each server is a table inside servers = [ ... ]" : null);
            }
        }
        Object list = serversTable.get(List.of("servers"));
        if (list == null) {
            return;
        }
        if (!(list instanceof TomlArray array)) {
            throw mistakes.bad(serversTable, "servers", "servers", list,
                    "an array: servers = [ { url = ..., max_concurrent_requests = ... }, ... ]");
        }
        int fallbackLine = line(serversTable, "servers");
        for (int i = 0; i < array.size(); i++) {
            Object entry = array.get(i);
            String prefix = "servers[" + i + "]";
            if (!(entry instanceof TomlTable t)) {
                mistakes.add(new ConfigException(source, fallbackLine, prefix, show(entry), SERVER_EXPECTED));
                continue;
            }
            mistakes.check(() -> {
                ServerConfig server = server(t, prefix, entryLine(t, fallbackLine));
                tables.add(t);
                servers.add(server);
            });
        }
    }

    private ServerConfig server(TomlTable t, String prefix, int entryLine) {
        for (String key : t.keySet()) {
            if (!SERVER_KEYS.contains(key)) {
                throw mistakes.unknownKey(t, prefix + ".", key, SERVER_KEYS, "a server", null);
            }
        }
        URI uri = url(t, prefix, entryLine);

        int capacity = DEFAULT_MAX_CONCURRENT_REQUESTS;
        Object rawCapacity = t.get(List.of("max_concurrent_requests"));
        if (rawCapacity != null) {
            Integer n = toInt(rawCapacity);
            if (n == null) {
                throw mistakes.bad(t, prefix + ".max_concurrent_requests", "max_concurrent_requests", rawCapacity,
                        "integer >= 1");
            }
            capacity = n;
        }

        List<String> models = List.of();
        Object rawModels = t.get(List.of("models"));
        if (rawModels != null) {
            if (!(rawModels instanceof TomlArray array)) {
                throw mistakes.bad(t, prefix + ".models", "models", rawModels,
                        "an array of model names, e.g. [\"llama-3.1-8b\"]");
            }
            models = new ArrayList<>();
            for (int j = 0; j < array.size(); j++) {
                Object m = array.get(j);
                if (!(m instanceof String name) || name.isBlank()) {
                    throw mistakes.bad(t, prefix + ".models[" + j + "]", "models", m, "a non-empty model name in quotes");
                }
                models.add(name);
            }
        }

        Object rawKey = t.get(List.of("api_key"));
        if (rawKey != null && !(rawKey instanceof String)) {
            throw mistakes.bad(t, prefix + ".api_key", "api_key", rawKey, "a string (sent as Authorization: Bearer)");
        }

        Object rawName = t.get(List.of("name"));
        if (rawName != null && !(rawName instanceof String n && !n.isBlank() && n.strip().length() <= 64)) {
            throw mistakes.bad(t, prefix + ".name", "name", rawName,
                    "a short name in quotes, e.g. \"gpu-1\" (at most 64 characters)");
        }

        long cacheTokens = 0;
        Object rawCacheTokens = t.get(List.of("cache_tokens"));
        if (rawCacheTokens != null) {
            if (!(rawCacheTokens instanceof Long n)) {
                throw mistakes.bad(t, prefix + ".cache_tokens", "cache_tokens", rawCacheTokens,
                        ServerConfig.CACHE_TOKENS_EXPECTED);
            }
            cacheTokens = n;
        }
        KvEventsConfig kvEvents = KvEventsKeys.read(t, prefix, source);
        try {
            return new ServerConfig(uri, capacity, models, (String) rawKey, (String) rawName, cacheTokens, kvEvents);
        } catch (IllegalArgumentException e) {
            throw mistakes.wrap(e, t, prefix + ".");
        }
    }

    /** The entry's {@code url}: present, a string, no credentials (checked on the text), a URI with a host. */
    private URI url(TomlTable t, String prefix, int entryLine) {
        Object rawUrl = t.get(List.of("url"));
        if (rawUrl == null) {
            throw new ConfigException(source, entryLine, prefix + ".url", null, URL_EXPECTED);
        }
        if (!(rawUrl instanceof String urlText)) {
            throw mistakes.bad(t, prefix + ".url", "url", rawUrl, URL_EXPECTED + ", in quotes");
        }
        Matcher credentials = CREDENTIALS.matcher(urlText.strip());
        if (credentials.find()) { // checked on the text: a URL that is also malformed must not show them either
            throw new ConfigException(source, line(t, "url"), prefix + ".url",
                    OneLine.quoted(credentials.replaceFirst("$1***@")), ServerConfig.NO_CREDENTIALS);
        }
        URI uri;
        try {
            uri = new URI(urlText.strip());
        } catch (URISyntaxException e) {
            throw mistakes.bad(t, prefix + ".url", "url", rawUrl,
                    URL_EXPECTED + " (" + e.getReason() + " at index " + e.getIndex() + ")");
        }
        if (uri.getHost() == null && uri.getAuthority() != null && uri.getAuthority().contains("_")) {
            throw mistakes.bad(t, prefix + ".url", "url", rawUrl, URL_EXPECTED + "; host names cannot contain '_'");
        }
        return uri;
    }

    /** The builder refused two servers with one URL ({@code e}); names the second and the first that has it. */
    ConfigException duplicateUrl(IllegalArgumentException e) {
        Map<String, Integer> firstIndex = new LinkedHashMap<>();
        for (int i = 0; i < servers.size(); i++) {
            Integer earlier = firstIndex.putIfAbsent(servers.get(i).id(), i);
            if (earlier != null) {
                TomlTable t = tables.get(i);
                return new ConfigException(source, line(t, "url"), "servers[" + i + "].url", show(t.get(List.of("url"))),
                        ConfigKeys.expectedOf(e) + "; servers[" + earlier + "] has it already");
            }
        }
        return new ConfigException(source, -1, "servers", null, e.getMessage());
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
