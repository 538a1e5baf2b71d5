package io.vllmrouter.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vllmrouter.api.spi.PromptBlocks;
import java.lang.System.Logger.Level;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Prompt tokens from the servers themselves: vLLM's {@code POST /tokenize}, which applies the chat
 * template to {@code messages} (with the generation prompt, as {@code /v1/chat/completions} does) and
 * tokenizes a completions {@code prompt}. The request sent carries only what the rendering depends
 * on: {@code model}, {@code messages} or {@code prompt}, and when present {@code tools},
 * {@code chat_template}, {@code chat_template_kwargs}, {@code add_generation_prompt},
 * {@code continue_final_message}, {@code add_special_tokens}. The server asked is one of the
 * request's candidates, in turn.
 *
 * <p>Results are cached by content ({@link TokenCache}). A conversation's later turn resends the
 * earlier turns: when its whole message list is not cached but a leading part of it is (the
 * previous turn's request), those tokens are used at once, without a round trip (they are the
 * leading tokens the server cached for that turn, which is what routing compares), and the whole
 * list is tokenized in the background for the turn after.
 *
 * <p>Threads: {@link #tokens} runs on a request thread and returns at once; the HTTP exchange
 * completes on the client's executor. A server that fails is logged once until one succeeds again.
 */
final class BackendTokenizer implements TokenSource {

    private static final System.Logger LOG = System.getLogger(BackendTokenizer.class.getName());

    /** The keys of a chat request that change its rendering, copied to /tokenize. */
    private static final List<String> CHAT_KEYS = List.of("tools", "chat_template", "chat_template_kwargs",
            "add_generation_prompt", "continue_final_message", "add_special_tokens", "documents");

    /** Token ids the cache holds at most (4 bytes each). */
    static final long CACHE_TOKENS = 4_000_000;

    private final HttpClient client;
    private final Duration timeout;
    private final TokenCache cache = new TokenCache(CACHE_TOKENS);
    private final AtomicInteger turn = new AtomicInteger();
    private final AtomicBoolean failing = new AtomicBoolean();
    private final LongAdder calls = new LongAdder();
    private final LongAdder hits = new LongAdder();
    private final LongAdder prefixHits = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private final LongAdder callMicros = new LongAdder();
    /** The last background tokenization started for a later turn (tests wait on it). */
    private volatile CompletableFuture<int[]> refreshing = CompletableFuture.completedFuture(null);

    /** @param timeout how long one /tokenize call may take (the HTTP request's timeout) */
    BackendTokenizer(Duration timeout) {
        this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();
        this.timeout = timeout;
    }

    @Override
    public CompletableFuture<int[]> tokens(PromptRequest prompt, List<Backend> candidates) {
        if (candidates.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        long[] keys = keys(prompt);
        int[] cached = cache.get(keys[keys.length - 1]);
        if (cached != null) {
            hits.increment();
            return CompletableFuture.completedFuture(cached);
        }
        Backend server = candidates.get(Math.floorMod(turn.getAndIncrement(), candidates.size()));
        for (int k = keys.length - 2; k >= 0; k--) {
            int[] leading = cache.get(keys[k]);
            if (leading != null) {
                prefixHits.increment();
                refreshing = call(server, prompt, keys[keys.length - 1]);      // for the next turn
                return CompletableFuture.completedFuture(leading);
            }
        }
        return call(server, prompt, keys[keys.length - 1]);
    }

    private CompletableFuture<int[]> call(Backend server, PromptRequest prompt, long key) {
        byte[] body;
        try {
            body = RouterJson.mapper().writeValueAsBytes(tokenizeBody(prompt));
        } catch (java.io.IOException e) {
            return CompletableFuture.completedFuture(null);
        }
        HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create(server.url() + "/tokenize"))
                .timeout(timeout)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (server.apiKey() != null) {
            rb.header("Authorization", "Bearer " + server.apiKey());
        }
        calls.increment();
        long start = System.nanoTime();
        return client.sendAsync(rb.build(), HttpResponse.BodyHandlers.ofByteArray())
                .handle((resp, err) -> {
                    int[] ids = err == null ? parse(server, resp) : null;
                    if (ids == null) {
                        failed(server, err != null ? String.valueOf(err.getMessage()) : "status " + resp.statusCode());
                        return null;
                    }
                    callMicros.add((System.nanoTime() - start) / 1000);
                    if (failing.compareAndSet(true, false)) {
                        LOG.log(Level.INFO, "POST /tokenize answers again ({0})", server.id());
                    }
                    cache.put(key, ids);
                    return ids;
                });
    }

    private static int[] parse(Backend server, HttpResponse<byte[]> resp) {
        if (resp.statusCode() != 200) {
            return null;
        }
        try {
            JsonNode tokens = RouterJson.mapper().readTree(resp.body()).get("tokens");
            if (tokens == null || !tokens.isArray()) {
                return null;
            }
            int[] ids = new int[tokens.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = tokens.get(i).asInt();
            }
            return ids;
        } catch (java.io.IOException e) {
            return null;
        }
    }

    private void failed(Backend server, String why) {
        failures.increment();
        if (failing.compareAndSet(false, true)) {
            LOG.log(Level.WARNING, "POST /tokenize failed on {0} ({1}): requests route without tokens until it answers",
                    server.id(), why);
        }
    }

    /** The /tokenize request: the rendering's inputs only. */
    static ObjectNode tokenizeBody(PromptRequest prompt) {
        ObjectNode out = RouterJson.mapper().createObjectNode();
        ObjectNode in = prompt.json();
        if (prompt.model() != null) {
            out.put("model", prompt.model());
        }
        if (prompt.chat()) {
            out.set("messages", in.get("messages"));
            for (String k : CHAT_KEYS) {
                JsonNode v = in.get(k);
                if (v != null && !v.isNull()) {
                    out.set(k, v);
                }
            }
        } else {
            out.put("prompt", prompt.promptText());
            JsonNode v = in.get("add_special_tokens");
            if (v != null && !v.isNull()) {
                out.set("add_special_tokens", v);
            }
        }
        return out;
    }

    /**
     * Cache keys of the prompt: for a chat request one per leading part of its message list (the
     * first message, the first two, ..., all), each also covering the model and rendering options;
     * for a completions request one.
     */
    static long[] keys(PromptRequest prompt) {
        ObjectNode in = prompt.json();
        long base = PromptBlocks.seed(prompt.model());
        if (!prompt.chat()) {
            return new long[] {hash(base ^ 0x636f6d706cL, String.valueOf(in.get("prompt")) + in.get("add_special_tokens"))};
        }
        StringBuilder options = new StringBuilder();
        for (String k : CHAT_KEYS) {
            options.append(k).append('=').append(in.get(k)).append(';');
        }
        long h = hash(base, options);
        ArrayNode messages = (ArrayNode) in.get("messages");
        long[] keys = new long[messages.size()];
        for (int i = 0; i < keys.length; i++) {
            h = hash(h, messages.get(i).toString());
            keys[i] = h;
        }
        return keys;
    }

    private static long hash(long seed, CharSequence s) {
        long h = seed;
        for (int i = 0; i < s.length(); i++) {
            h = (h ^ s.charAt(i)) * 0x100000001b3L;
        }
        return PromptBlocks.mix(h);
    }

    CompletableFuture<int[]> refreshing() {
        return refreshing;
    }

    @Override
    public Map<String, Long> stats() {
        Map<String, Long> m = new LinkedHashMap<>();
        long n = calls.sum();
        m.put("tokenizer_calls", n);
        m.put("tokenizer_cache_hits", hits.sum());
        m.put("tokenizer_prefix_hits", prefixHits.sum());
        m.put("tokenizer_failures", failures.sum());
        m.put("tokenizer_call_micros_mean", n == 0 ? 0 : callMicros.sum() / Math.max(1, n - failures.sum()));
        m.put("tokenizer_cache_entries", (long) cache.size());
        return m;
    }

    @Override
    public void close() {
        // the JDK client's threads are daemons and go with its last reference
    }
}
