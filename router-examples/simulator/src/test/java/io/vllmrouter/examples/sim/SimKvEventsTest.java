package io.vllmrouter.examples.sim;

import static io.vllmrouter.examples.sim.SimTestSupport.SAFETY;
import static io.vllmrouter.examples.sim.SimTestSupport.json;
import static io.vllmrouter.examples.sim.SimTestSupport.post;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vllmrouter.api.spi.CachedPrefix;
import io.vllmrouter.api.spi.KvEventSource;
import io.vllmrouter.api.spi.PromptTokens;
import io.vllmrouter.examples.kvevents.KvEventEncoder;
import io.vllmrouter.examples.kvevents.KvIndex;
import io.vllmrouter.testing.TestBackend;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The simulator as a vLLM server with {@code --kv-events-config}: its {@code /tokenize} gives the
 * token ids its prefix cache keys, and the events it publishes over ZMQ let an index follow that
 * cache: blocks stored after a prefill and as an answer fills them, removed on eviction, cleared by
 * {@code /reset_prefix_cache}.
 */
class SimKvEventsTest {

    static final String SYSTEM = "You are a careful assistant. ".repeat(40);

    static String chat(String user, int maxTokens) {
        return "{\"model\":\"m\",\"max_tokens\":" + maxTokens + ",\"messages\":[{\"role\":\"system\",\"content\":\""
                + SYSTEM + "\"},{\"role\":\"user\",\"content\":\"" + user + "\"}]}";
    }

    static SimConfig config(KvEventsSettings events, int cacheBlocks) {
        return SimConfig.builder().models("m").timeScale(50).prefixCache(true).prefixCacheBlocks(cacheBlocks)
                .kvEvents(events).build();
    }

    static int[] tokenize(SimulatedVllm sim, String body) throws Exception {
        JsonNode t = json(post(sim.baseUrl(), "/tokenize", body).body());
        int[] ids = new int[t.path("tokens").size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = t.path("tokens").get(i).asInt();
        }
        assertThat(t.path("count").asInt()).isEqualTo(ids.length);
        return ids;
    }

    static KvIndex follow(SimulatedVllm sim) throws InterruptedException {
        KvIndex index = new KvIndex(1 << 24);
        index.follow(List.of(new KvEventSource(sim.baseUrl().toString(), "tcp://127.0.0.1:" + sim.kvEventsPort(),
                sim.kvEventsReplayPort() < 0 ? null : "tcp://127.0.0.1:" + sim.kvEventsReplayPort(), 1)));
        assertThat(sim.awaitKvEventSubscribers(1, SAFETY)).isTrue();
        return index;
    }

    @Test
    void tokenizeAppliesTheChatTemplateTheCompletionUses() throws Exception {
        try (SimulatedVllm sim = SimulatedVllm.start(config(KvEventsSettings.OFF, 256))) {
            int[] ids = tokenize(sim, chat("What is a KV cache?", 4));
            JsonNode answer = json(post(sim.baseUrl(), "/v1/chat/completions", chat("What is a KV cache?", 4)).body());
            assertThat(answer.path("usage").path("prompt_tokens").asInt()).isEqualTo(ids.length);
            assertThat(ids).contains(SimTokenizer.IM_START, SimTokenizer.IM_END);
            // The generation prompt is the template's last part: <|im_start|>assistant\n.
            int[] without = tokenize(sim, chat("What is a KV cache?", 4).replace("\"max_tokens\":4,",
                    "\"add_generation_prompt\":false,"));
            assertThat(ids.length - without.length).isEqualTo(SimTokenizer.encode("<|im_start|>assistant\n").length);
        }
    }

    @Test
    void anIndexFollowingTheEventsKnowsWhatTheCacheHolds() throws Exception {
        for (KvEventEncoder.Shape shape : KvEventEncoder.Shape.values()) {
            try (SimulatedVllm sim = SimulatedVllm.start(config(KvEventsSettings.on(0, 0).withShape(shape)
                    .withHashBytes(shape == KvEventEncoder.Shape.ARRAY), 256));
                 KvIndex index = follow(sim)) {
                TestBackend backend = TestBackend.of(0, 4, 0, 0).withId(sim.baseUrl().toString());
                String body = chat("What is a KV cache?", 4);
                int[] ids = tokenize(sim, body);
                post(sim.baseUrl(), "/v1/chat/completions", body);
                int blocks = ids.length / BatchEngine.BLOCK_SIZE;
                assertThat(index.await(() -> index.stats().get("kv_index_entries") == blocks, SAFETY)).isTrue();
                PromptTokens prompt = PromptTokens.of("m", ids, null);
                assertThat(index.match(backend, prompt)).isEqualTo(new CachedPrefix(blocks * BatchEngine.BLOCK_SIZE, 0));
                // Another question after the same system prompt shares its leading blocks only.
                int[] other = tokenize(sim, chat("And a prefix cache?", 4));
                int shared = index.match(backend, PromptTokens.of("m", other, null)).tokens();
                assertThat(shared).isPositive().isLessThan(blocks * BatchEngine.BLOCK_SIZE);

                post(sim.baseUrl(), "/reset_prefix_cache", "");
                assertThat(index.await(() -> index.stats().get("kv_index_entries") == 0, SAFETY)).isTrue();
                assertThat(index.match(backend, prompt)).isEqualTo(CachedPrefix.NONE);
            }
        }
    }

    @Test
    void aConversationsNextTurnFindsItsPreviousAnswerCached() throws Exception {
        try (SimulatedVllm sim = SimulatedVllm.start(config(KvEventsSettings.on(0, -1), 1024));
             KvIndex index = follow(sim)) {
            TestBackend backend = TestBackend.of(0, 4, 0, 0).withId(sim.baseUrl().toString());
            String first = chat("What is a KV cache?", 40);
            int[] prompt = tokenize(sim, first);
            String answer = json(post(sim.baseUrl(), "/v1/chat/completions", first).body())
                    .path("choices").get(0).path("message").path("content").asText();
            // vLLM caches the prompt and every answer token fed back: all but the last of the 40.
            int cached = (prompt.length + 39) / BatchEngine.BLOCK_SIZE;
            assertThat(cached).isGreaterThan(prompt.length / BatchEngine.BLOCK_SIZE);
            assertThat(index.await(() -> index.stats().get("kv_index_entries") == cached, SAFETY)).isTrue();

            String second = first.replace("\"}]}", "\"},{\"role\":\"assistant\",\"content\":\"" + answer
                    + "\"},{\"role\":\"user\",\"content\":\"Why?\"}]}");
            int[] next = tokenize(sim, second);
            int[] answerIds = java.util.Arrays.copyOfRange(next, prompt.length, prompt.length + 40);
            assertThat(java.util.Arrays.copyOf(next, prompt.length)).as("the history is the prompt again").isEqualTo(prompt);
            assertThat(answerIds).as("the answer, resent, tokenizes to 40 tokens").doesNotContain(SimTokenizer.IM_END);
            assertThat(index.match(backend, PromptTokens.of("m", next, null)).tokens()).isEqualTo(cached * BatchEngine.BLOCK_SIZE);
            long hits = sim.prefixCacheHits();
            post(sim.baseUrl(), "/v1/chat/completions", second);
            assertThat(sim.prefixCacheHits() - hits).isEqualTo(cached * BatchEngine.BLOCK_SIZE);
        }
    }

    @Test
    void evictedBlocksAreRemovedFromTheIndex() throws Exception {
        try (SimulatedVllm sim = SimulatedVllm.start(config(KvEventsSettings.on(0, -1), 40));
             KvIndex index = follow(sim)) {
            TestBackend backend = TestBackend.of(0, 4, 0, 0).withId(sim.baseUrl().toString());
            String first = chat("first question", 2);
            int[] ids = tokenize(sim, first);
            post(sim.baseUrl(), "/v1/chat/completions", first);
            // A prompt of other text that fills the 40-block cache evicts the first one's blocks.
            String other = "{\"model\":\"m\",\"max_tokens\":2,\"prompt\":\"" + "zyxw".repeat(16 * 40) + "\"}";
            post(sim.baseUrl(), "/v1/completions", other);
            assertThat(index.await(() -> index.stats().get("kv_events_removed_blocks") > 0
                    && index.stats().get("kv_index_entries") <= 40, SAFETY)).isTrue();
            assertThat(index.match(backend, PromptTokens.of("m", ids, null)).tokens())
                    .isLessThan(ids.length / BatchEngine.BLOCK_SIZE * BatchEngine.BLOCK_SIZE);
        }
    }

    @Test
    void eachSimulatorHashesWithASeedOfItsOwn() {
        int[] ids = SimTokenizer.encode(SYSTEM);
        long[] a = new SimKvEvents(KvEventsSettings.OFF).hashes(ids);
        long[] b = new SimKvEvents(KvEventsSettings.OFF).hashes(ids);
        long[] fixed1 = new SimKvEvents(KvEventsSettings.OFF.withHashSeed(42L)).hashes(ids);
        long[] fixed2 = new SimKvEvents(KvEventsSettings.OFF.withHashSeed(42L)).hashes(ids);
        assertThat(a).hasSize(ids.length / BatchEngine.BLOCK_SIZE).isNotEqualTo(b);
        assertThat(fixed1).isEqualTo(fixed2);
    }
}
