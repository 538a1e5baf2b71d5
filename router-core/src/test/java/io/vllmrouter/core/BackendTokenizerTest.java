package io.vllmrouter.core;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalToJson;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.tomakehurst.wiremock.WireMockServer;
import io.vllmrouter.api.spi.PickInputs;
import io.vllmrouter.api.time.Ticker;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.testing.FakeClock;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Prompt tokens from a server's POST /tokenize (WireMock stands in for vLLM), cached by message prefix. */
class BackendTokenizerTest {

    private WireMockServer vllm;
    private BackendTokenizer tokenizer;
    private List<Backend> candidates;

    @BeforeEach
    void start() {
        vllm = new WireMockServer(options().bindAddress("127.0.0.1").dynamicPort());
        vllm.start();
        tokenizer = new BackendTokenizer(Duration.ofSeconds(10));
        candidates = List.of(new Backend(new ServerConfig(vllm.baseUrl(), 4), 0, Ticker.system(), Long.MAX_VALUE));
    }

    @AfterEach
    void stop() {
        tokenizer.close();
        vllm.stop();
    }

    static PromptRequest chat(String... contents) {
        StringBuilder b = new StringBuilder("{\"model\":\"m\",\"max_tokens\":9,\"stream\":true,\"tools\":[],\"messages\":[");
        for (int i = 0; i < contents.length; i++) {
            b.append(i == 0 ? "" : ",").append("{\"role\":\"").append(i % 2 == 0 ? "user" : "assistant")
                    .append("\",\"content\":\"").append(contents[i]).append("\"}");
        }
        return PromptRequest.read("m", b.append("]}").toString().getBytes(StandardCharsets.UTF_8));
    }

    private void answer(String bodyJson, String tokens) {
        vllm.stubFor(post(urlEqualTo("/tokenize")).withRequestBody(equalToJson(bodyJson))
                .willReturn(aResponse().withHeader("Content-Type", "application/json")
                        .withBody("{\"count\":3,\"max_model_len\":8192,\"tokens\":" + tokens + ",\"token_strs\":null}")));
    }

    @Test
    void sendsTheRenderingInputsOnlyAndCachesTheAnswer() throws Exception {
        answer("{\"model\":\"m\",\"tools\":[],\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "[1,2,3]");
        assertThat(tokenizer.tokens(chat("hi"), candidates).get(10, TimeUnit.SECONDS)).containsExactly(1, 2, 3);
        CompletableFuture<int[]> again = tokenizer.tokens(chat("hi"), candidates);
        assertThat(again).isDone();
        assertThat(again.get()).containsExactly(1, 2, 3);
        vllm.verify(1, postRequestedFor(urlEqualTo("/tokenize")));
        assertThat(tokenizer.stats()).containsEntry("tokenizer_calls", 1L).containsEntry("tokenizer_cache_hits", 1L);
    }

    @Test
    void aLaterTurnUsesTheEarlierTurnsTokensAtOnceAndTokenizesItselfForTheNext() throws Exception {
        answer("{\"model\":\"m\",\"tools\":[],\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "[1,2,3]");
        answer("{\"model\":\"m\",\"tools\":[],\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
                + "{\"role\":\"assistant\",\"content\":\"hello\"},{\"role\":\"user\",\"content\":\"more\"}]}", "[1,2,3,4,5,6]");
        tokenizer.tokens(chat("hi"), candidates).get(10, TimeUnit.SECONDS);
        CompletableFuture<int[]> turn2 = tokenizer.tokens(chat("hi", "hello", "more"), candidates);
        assertThat(turn2).isDone();     // no round trip: the first turn's tokens
        assertThat(turn2.get()).containsExactly(1, 2, 3);
        assertThat(tokenizer.stats()).containsEntry("tokenizer_prefix_hits", 1L);
        // In the background, the whole turn is tokenized for the turn after it.
        assertThat(tokenizer.refreshing().get(10, TimeUnit.SECONDS)).containsExactly(1, 2, 3, 4, 5, 6);
        vllm.verify(2, postRequestedFor(urlEqualTo("/tokenize")));
        assertThat(tokenizer.tokens(chat("hi", "hello", "more"), candidates).getNow(null)).hasSize(6);
    }

    @Test
    void aFailingServerGivesNoTokensNotAnError() throws Exception {
        vllm.stubFor(post(urlEqualTo("/tokenize")).willReturn(aResponse().withStatus(500)));
        assertThat(tokenizer.tokens(chat("hi"), candidates).get(10, TimeUnit.SECONDS)).isNull();
        assertThat(tokenizer.stats()).containsEntry("tokenizer_failures", 1L);
    }

    @Test
    void aCompletionsPromptOfTokenIdsNeedsNoTokenizer() {
        PromptRequest p = PromptRequest.read("m", "{\"model\":\"m\",\"prompt\":[5,6,7]}".getBytes(StandardCharsets.UTF_8));
        assertThat(p.promptIds()).containsExactly(5, 6, 7);
        assertThat(PromptRequest.read("m", "{\"model\":\"m\",\"input\":\"x\"}".getBytes(StandardCharsets.UTF_8))).isNull();
        assertThat(PromptRequest.read("m", "not json".getBytes(StandardCharsets.UTF_8))).isNull();
    }

    /** The request waits for its tokens no longer than tokenize_timeout, then goes on without them, once. */
    @Test
    void pastTheTimeoutTheRequestGoesOnWithoutTokens() {
        FakeClock clock = new FakeClock();
        CompletableFuture<int[]> never = new CompletableFuture<>();
        TokenSource slow = new TokenSource() {
            @Override
            public CompletableFuture<int[]> tokens(PromptRequest prompt, List<Backend> c) {
                return never;
            }

            @Override
            public java.util.Map<String, Long> stats() {
                return java.util.Map.of();
            }

            @Override
            public void close() {
            }
        };
        PromptServices.Active services = new PromptServices.Active(
                new PickInputs("backend", Duration.ofMillis(20), true, 1 << 20), null, slow,
                new java.util.concurrent.atomic.LongAdder());
        RequestTokens tokens = new RequestTokens("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"
                .getBytes(StandardCharsets.UTF_8), "m");
        AtomicInteger continued = new AtomicInteger();
        assertThat(tokens.ready(services, candidates, clock, continued::incrementAndGet)).isFalse();
        clock.advance(Duration.ofMillis(19));
        assertThat(continued).hasValue(0);
        clock.advance(Duration.ofMillis(1));
        assertThat(continued).hasValue(1);
        assertThat(tokens.tokens()).isNull();
        never.complete(new int[] {1, 2});      // late: fills caches elsewhere, not this request
        assertThat(continued).hasValue(1);
        assertThat(tokens.tokens()).isNull();
        assertThat(tokens.ready(services, candidates, clock, continued::incrementAndGet)).isTrue();
        assertThat(services.stats()).containsEntry("tokenizer_timeouts", 1L);
    }
}
