package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.spi.PromptBlocks;
import io.vllmrouter.core.config.ConfigException;
import io.vllmrouter.core.config.ConfigLoader;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.core.metrics.LoadMetrics;
import io.vllmrouter.core.metrics.PrometheusParser;
import io.vllmrouter.testing.FakeClock;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** What core gives the cache-aware strategy: prompt hashes, cache geometry, cache epochs, settings. */
class CacheAwareSupportTest {

    private static RequestInfo info(String json) {
        return RequestInfo.of(RouterRequest.post("/v1/chat/completions", json.getBytes(StandardCharsets.UTF_8)).build());
    }

    private static long[] expected(String model, String text, int blockChars) {
        return PromptBlocks.hash(text, blockChars, PromptBlocks.MAX_BLOCKS, PromptBlocks.seed(model));
    }

    @Test
    void chatMessagesAreRenderedOneCanonicalWayAndHashedOncePerRequest() {
        String sys = "You are a careful assistant. ".repeat(10);
        RequestInfo i = info("{\"model\":\"llama\",\"messages\":[{\"role\":\"system\",\"content\":\"" + sys + "\"},"
                + "{\"content\":[{\"type\":\"text\",\"text\":\"What is \"},{\"type\":\"image_url\",\"image_url\":{\"url\":\"x\"}},"
                + "{\"type\":\"text\",\"text\":\"this?\"}],\"role\":\"user\"}],\"stream\":true}");
        String text = "<|system|>\n" + sys + "\n<|user|>\nWhat is <|image_url|>this?\n";
        RequestContext ctx = new RequestContext(i, 1, new SplittableRandom(1));

        long[] h = ctx.promptBlockHashes(32);
        assertThat(h).containsExactly(expected("llama", text, 32));
        assertThat(h).hasSize(text.length() / 32);
        assertThat(ctx.promptBlockHashes(32)).as("computed once, kept for retries").isSameAs(h);
        assertThat(new RequestContext(i, 2, new SplittableRandom(1)).promptBlockHashes(32)).isSameAs(h);
        assertThat(ctx.promptBlockHashes(64)).containsExactly(expected("llama", text, 64));
    }

    @Test
    void aSharedPrefixGivesSharedLeadingHashesAndTheModelSeedsThem() {
        String sys = "Shared system prompt for every conversation. ".repeat(4);
        long[] a = info("{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"" + sys + "\"},{\"role\":\"user\",\"content\":\"first question, long enough to fill\"}]}")
                .prompt().hashes(16);
        long[] b = info("{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"" + sys + "\"},{\"role\":\"user\",\"content\":\"another one entirely different\"}]}")
                .prompt().hashes(16);
        long[] other = info("{\"model\":\"other\",\"messages\":[{\"role\":\"system\",\"content\":\"" + sys + "\"}]}").prompt().hashes(16);
        int shared = 0;
        while (shared < Math.min(a.length, b.length) && a[shared] == b[shared]) {
            shared++;
        }
        assertThat(shared).isEqualTo(("<|system|>\n" + sys + "\n<|user|>\n").length() / 16);
        assertThat(other[0]).isNotEqualTo(a[0]);
    }

    @Test
    void completionsPromptsAndBodiesWithoutAPrompt() {
        String p = "Once upon a time, in a land far away, there lived a router.";
        assertThat(info("{\"model\":\"m\",\"prompt\":\"" + p + "\"}").prompt().hashes(8)).containsExactly(expected("m", p, 8));
        assertThat(info("{\"model\":\"m\",\"prompt\":[\"" + p + "\",\"second\"]}").prompt().hashes(8)).containsExactly(expected("m", p, 8));
        assertThat(info("{\"model\":\"m\",\"prompt\":[1,2,3,4,5,6]}").prompt().hashes(4)).containsExactly(expected("m", "1,2,3,4,5,6,", 4));
        assertThat(info("{\"model\":\"m\",\"input\":\"embed me please, a long text\"}").prompt().hashes(4)).isEmpty();
        assertThat(info("{\"model\":\"m\",\"messages\":\"not a list\"}").prompt().hashes(4)).isEmpty();
        assertThat(RequestInfo.of(RouterRequest.get("/v1/models").build()).prompt().hashes(4)).isEmpty();
    }

    @Test
    void theSessionHeaderIsConfigurableAndUserWins() {
        RouterRequest r = RouterRequest.post("/v1/chat/completions", "{\"model\":\"m\"}".getBytes(StandardCharsets.UTF_8))
                .header("X-Conversation", "c-1").build();
        assertThat(RequestInfo.of(r, "X-Conversation").affinityKey()).isEqualTo("c-1");
        assertThat(RequestInfo.of(r).affinityKey()).isNull();
        RouterRequest withUser = RouterRequest.post("/v1/chat/completions",
                "{\"model\":\"m\",\"user\":\"u-7\"}".getBytes(StandardCharsets.UTF_8)).header("X-Conversation", "c-1").build();
        assertThat(RequestInfo.of(withUser, "X-Conversation").affinityKey()).isEqualTo("u-7");
    }

    @Test
    void cacheConfigInfoIsReadOnceNotSummedOverEnginesAndNoneIsIgnored() throws Exception {
        String page = """
                vllm:num_requests_running{engine="0"} 1
                vllm:cache_config_info{block_size="16",engine="0",num_cpu_blocks="None",num_gpu_blocks="2200"} 1.0
                vllm:cache_config_info{block_size="16",engine="1",num_cpu_blocks="None",num_gpu_blocks="2200"} 1.0
                vllm:prefix_cache_queries_total{engine="0"} 10
                vllm:prefix_cache_queries_total{engine="1"} 5
                """;
        LoadMetrics m = PrometheusParser.parseLoad(page);
        assertThat(m.cacheBlocks()).as("the front end's total, written under each engine").isEqualTo(2200);
        assertThat(m.cacheBlockSize()).isEqualTo(16);
        assertThat(m.prefixCacheQueries()).isEqualTo(15);
        LoadMetrics none = PrometheusParser.parseLoad("vllm:num_requests_running 1\n"
                + "vllm:cache_config_info{block_size=\"None\",num_gpu_blocks=\"None\"} 1\n");
        assertThat(none.cacheBlocks()).isEqualTo(-1);
        assertThat(none.cacheBlockSize()).isEqualTo(-1);
    }

    @Test
    void theCacheEpochChangesOnRestartAndEjectionAndIsUniquePerBackend() {
        FakeClock clock = new FakeClock();
        Backend b = new Backend(new ServerConfig("http://gpu:8000", 4), 0, clock, Duration.ofSeconds(6).toNanos());
        Backend again = new Backend(new ServerConfig("http://gpu:8000", 4), 0, clock, Duration.ofSeconds(6).toNanos());
        assertThat(again.cacheEpoch()).as("a backend made anew").isNotEqualTo(b.cacheEpoch());
        assertThat(b.cacheBlocks()).isEqualTo(-1);

        long e0 = b.cacheEpoch();
        b.load.scraped(new LoadMetrics(1, 0, 0.1, 100, 27528, 16, 500));
        b.load.scraped(new LoadMetrics(1, 0, 0.1, 100, -1, -1, 900));
        assertThat(b.cacheEpoch()).isEqualTo(e0);
        assertThat(b.cacheBlocks()).as("kept when a page omits it").isEqualTo(27528);
        assertThat(b.cacheBlockSize()).isEqualTo(16);

        b.load.scraped(new LoadMetrics(1, 0, 0.1, 100, 27528, 16, 20));  // counter went back: restarted
        long e1 = b.cacheEpoch();
        assertThat(e1).isNotEqualTo(e0);
        b.load.cacheLost();
        assertThat(b.cacheEpoch()).isNotEqualTo(e1);
    }

    @Test
    void aServersCacheTokensSettingOverridesWhatItPublishes() throws Exception {
        RouterConfig c = ConfigLoader.parse("""
                [servers]
                servers = [
                  { url = "http://hybrid:8000", cache_tokens = 1200000 },
                  { url = "http://plain:8000" },
                ]
                """, "servers.toml", Map.of());
        assertThat(c.servers().get(0).cacheTokens()).isEqualTo(1_200_000);
        assertThat(c.servers().get(1).cacheTokens()).isZero();

        FakeClock clock = new FakeClock();
        Backend hybrid = new Backend(c.servers().get(0), 0, clock, Duration.ofSeconds(6).toNanos());
        Backend plain = new Backend(c.servers().get(1), 1, clock, Duration.ofSeconds(6).toNanos());
        assertThat(hybrid.cacheTokens()).isEqualTo(1_200_000);
        assertThat(hybrid.cacheTokensConfigured()).isTrue();
        assertThat(plain.cacheTokens()).as("nothing published yet").isEqualTo(-1);
        assertThat(plain.cacheTokensConfigured()).isFalse();

        LoadMetrics dp4 = PrometheusParser.parseLoad(read("/fixtures/metrics/vllm-v1-dp4.txt"));
        hybrid.load.scraped(dp4);
        plain.load.scraped(dp4);
        assertThat(hybrid.cacheTokens()).as("the setting wins").isEqualTo(1_200_000);
        assertThat(plain.cacheTokens()).as("DP=4: the server's real total").isEqualTo(110112L * 16);
        assertThat(plain.cacheBlocks()).isEqualTo(110112);
        plain.load.scraped(new LoadMetrics(1, 0, 0.1, 100));
        assertThat(plain.cacheTokens()).as("kept when a page omits it").isEqualTo(110112L * 16);
    }

    private static String read(String resource) throws java.io.IOException {
        try (java.io.InputStream in = CacheAwareSupportTest.class.getResourceAsStream(resource)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void strategySettingsAreReadAndCheckedWithFileLineAndKey() {
        RouterConfig c = ConfigLoader.parse("""
                [config]
                strategy = "cache-aware"

                [strategies.cache-aware]
                load_margin = 0.25
                session_affinity = false
                block_chars = 128
                """, "servers.toml", Map.of());
        assertThat(c.strategySettings("cache-aware"))
                .containsExactlyInAnyOrderEntriesOf(Map.of("load_margin", "0.25", "session_affinity", "false", "block_chars", "128"));
        assertThat(c).isNotEqualTo(c.toBuilder().strategySettings("cache-aware", Map.of()).build());

        ConfigException bad = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse("""
                [strategies.cache-aware]
                load_margin = 0.25
                load_ratio = 0.5
                """, "servers.toml", Map.of()));
        assertThat(bad.getMessage()).isEqualTo("servers.toml:3: strategies.cache-aware.load_ratio = 0.5 (expected: number >= 1)");

        ConfigException unknown = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse("""
                [strategies.least-loaded]
                margin = 1
                """, "servers.toml", Map.of()));
        assertThat(unknown.getMessage()).isEqualTo(
                "servers.toml:2: strategies.least-loaded.margin = 1 (expected: no settings; strategy least-loaded takes none)");
    }

    @Test
    void theRouterHandsSettingsToItsStrategyAndShowsItsFigures() {
        RouterConfig c = RouterConfig.builder()
                .server(new ServerConfig("http://127.0.0.1:1", 4))
                .enableActiveHealthCheck(false)
                .strategy("cache-aware")
                .strategySettings("cache-aware", Map.of("max_index_bytes", "1048576"))
                .build();
        try (io.vllmrouter.api.VllmRouter router = VllmRouters.builder().config(c).build()) {
            Map<String, Long> figures = router.stats().strategyStats();
            assertThat(figures).containsEntry("index_max_bytes", 1_048_576L).containsEntry("index_entries", 0L);
            assertThat(RouterJson.mapper().valueToTree(router.stats()).path("strategy_stats").path("index_max_bytes").asLong())
                    .isEqualTo(1_048_576L);
        }
    }
}
