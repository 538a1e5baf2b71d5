package io.vllmrouter.core.config;

import java.net.URI;
import java.util.List;
import java.util.Objects;

/**
 * One backend as configured: {@code { url = "http://gpu-1:8000", max_concurrent_requests = 4,
 * models = ["llama"], api_key = "...", name = "gpu-1", cache_tokens = 1000000 }}.
 *
 * @param url                    base URL, http or https, no trailing slash, no query
 * @param maxConcurrentRequests  the capacity strategies divide load by, at least 1
 * @param models                 models served; empty means "learn from /v1/models"
 * @param apiKey                 sent upstream as {@code Authorization: Bearer}, or null
 * @param name                   a short name people see (dashboard), or null; the URL stays the id
 * @param cacheTokens            the server's KV-cache capacity in tokens, overriding what its
 *                               {@code /metrics} says (for what it cannot say: the tokens a hybrid
 *                               model really holds on a vLLM without {@code kv_cache_size_tokens}, a
 *                               CPU or disk offload tier behind the GPU cache); 0 = what it publishes
 * @param kvEvents               where the server publishes its KV-cache events, or null
 */
public record ServerConfig(URI url, int maxConcurrentRequests, List<String> models, String apiKey, String name,
                           long cacheTokens, KvEventsConfig kvEvents)
        implements io.vllmrouter.api.BackendSettings {

    /** Capacity of a server whose entry has no {@code max_concurrent_requests}, as in the Python router. */
    public static final int DEFAULT_MAX_CONCURRENT_REQUESTS = 3;

    /** What a bad {@code cache_tokens} is told. */
    static final String CACHE_TOKENS_EXPECTED = "integer >= 0, the server's KV-cache size in tokens (0 = what it publishes)";

    /** What a URL with {@code user:password@} is told; the key belongs in {@code api_key}. */
    static final String NO_CREDENTIALS = "a URL without user:password@; credentials in the URL are not allowed; use api_key";

    public ServerConfig {
        Objects.requireNonNull(url, "url");
        if (url.getRawUserInfo() != null) {
            throw new IllegalArgumentException("url: " + masked(url) + " (expected: " + NO_CREDENTIALS + ")");
        }
        String scheme = url.getScheme();
        if (scheme == null || !(scheme.equals("http") || scheme.equals("https")) || url.getHost() == null) {
            throw new IllegalArgumentException("url: " + url + " (expected: http:// or https:// URL with a host)");
        }
        if (url.getRawQuery() != null || url.getRawFragment() != null) {
            throw new IllegalArgumentException("url: " + url + " (expected: no query or fragment)");
        }
        String s = url.toString();
        if (s.endsWith("/")) {
            url = URI.create(s.substring(0, s.length() - 1));
        }
        String path = url.getRawPath() == null ? "" : url.getRawPath();
        if (path.equals("/v1") || path.endsWith("/v1") || path.endsWith("/v1/")) {
            // An OpenAI base URL ends in /v1; the router adds /v1/... itself, so this would ask for /v1/v1/models.
            String base = url.toString().substring(0, url.toString().lastIndexOf("/v1"));
            throw new IllegalArgumentException("url: " + url + " (expected: the server's address without /v1: drop /v1, e.g. "
                    + base + "; the router adds /v1/... to it)");
        }
        if (maxConcurrentRequests < 1) {
            throw new IllegalArgumentException("max_concurrent_requests: " + maxConcurrentRequests
                    + " (expected: integer >= 1)");
        }
        models = models == null ? List.of() : List.copyOf(models);
        if (apiKey != null && apiKey.isBlank()) {
            apiKey = null;
        }
        name = name == null || name.isBlank() ? null : name.strip();
        if (cacheTokens < 0) {
            throw new IllegalArgumentException("cache_tokens: " + cacheTokens + " (expected: " + CACHE_TOKENS_EXPECTED + ")");
        }
    }

    public ServerConfig(URI url, int maxConcurrentRequests, List<String> models, String apiKey, String name) {
        this(url, maxConcurrentRequests, models, apiKey, name, 0, null);
    }

    public ServerConfig(URI url, int maxConcurrentRequests, List<String> models, String apiKey) {
        this(url, maxConcurrentRequests, models, apiKey, null, 0, null);
    }

    public ServerConfig(String url, int maxConcurrentRequests) {
        this(URI.create(url), maxConcurrentRequests, List.of(), null, null, 0, null);
    }

    /** This entry with {@code cache_tokens} set ({@code 0}: what the server publishes). */
    public ServerConfig withCacheTokens(long tokens) {
        return new ServerConfig(url, maxConcurrentRequests, models, apiKey, name, tokens, kvEvents);
    }

    /** {@code url} with its user information, if any, replaced by {@code ***}. */
    static String masked(URI url) {
        String s = url.toString();
        String info = url.getRawUserInfo();
        return info == null ? s : s.replace(info + "@", "***@");
    }

    /** The id used in stats and logs: the URL as a string. */
    @Override
    public String id() {
        return url.toString();
    }

    @Override
    public String toString() {
        return "ServerConfig[url=" + url + (name == null ? "" : ", name=" + name)
                + ", maxConcurrentRequests=" + maxConcurrentRequests
                + ", models=" + models + ", apiKey=" + (apiKey == null ? "none" : "***")
                + (cacheTokens == 0 ? "" : ", cacheTokens=" + cacheTokens)
                + (kvEvents == null ? "" : ", kvEvents=" + kvEvents) + "]";
    }
}
