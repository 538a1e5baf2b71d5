package io.vllmrouter.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;

import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.core.VllmRouters;
import io.vllmrouter.core.config.KvEventsConfig;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.RouterConfigBuilder;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.examples.kvevents.KvIndex;
import io.vllmrouter.examples.sim.KvEventsSettings;
import io.vllmrouter.examples.sim.SimConfig;
import io.vllmrouter.examples.sim.SimulatedVllm;
import io.vllmrouter.testing.RouterEvents;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The router with {@code index = "kv-events"} and {@code tokenizer = "backend"} in front of
 * simulated vLLM servers that publish their KV-cache events over real ZMQ sockets on 127.0.0.1
 * (random hash seeds, both wire shapes): a prompt goes to the server whose events say it holds the
 * prefix, even one cached by traffic that never passed through this router; without tokens in time
 * the request is routed on the approximate index.
 */
class KvEventsRoutingTest {

    static final Duration WAIT = Duration.ofSeconds(20);
    static final HttpClient HTTP = HttpClient.newHttpClient();

    private final List<SimulatedVllm> sims = new ArrayList<>();
    private final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
        sims.forEach(SimulatedVllm::close);
    }

    private void startFleet(int n) throws Exception {
        for (int i = 0; i < n; i++) {
            KvEventsSettings events = KvEventsSettings.on(0, 0)
                    .withShape(i % 2 == 0 ? io.vllmrouter.examples.kvevents.KvEventEncoder.Shape.MAP
                            : io.vllmrouter.examples.kvevents.KvEventEncoder.Shape.ARRAY);
            sims.add(SimulatedVllm.start(SimConfig.builder().models("m").timeScale(50).seed(i).prefixCache(true)
                    .prefixCacheBlocks(1024).kvEvents(events).build()));
        }
    }

    private VllmRouter router(KvIndex index, String tokenizeTimeout, RouterEvents events) {
        RouterConfigBuilder b = RouterConfig.builder().strategy("cache-aware")
                .strategySettings("cache-aware", Map.of("index", "kv-events", "tokenizer", "backend",
                        "tokenize_timeout", tokenizeTimeout));
        for (SimulatedVllm s : sims) {
            b.server(new ServerConfig(s.baseUrl(), 8, List.of("m"), null, null, 0,
                    new KvEventsConfig("tcp://127.0.0.1:" + s.kvEventsPort(),
                            "tcp://127.0.0.1:" + s.kvEventsReplayPort(), 1)));
        }
        VllmRouter router = VllmRouters.builder().config(b.build()).listener(events)
                .kvCacheIndexProvider(maxBytes -> index).build();
        closing.add(0, router);
        return router;
    }

    static String chat(String system, String question) {
        return "{\"model\":\"m\",\"max_tokens\":2,\"messages\":[{\"role\":\"system\",\"content\":\"" + system
                + "\"},{\"role\":\"user\",\"content\":\"" + question + "\"}]}";
    }

    static String system(int i) {
        return ("System prompt number " + i + " for the fleet. ").repeat(30);
    }

    private static void direct(SimulatedVllm sim, String body) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(sim.baseUrl().resolve("/v1/chat/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
    }

    private static String route(VllmRouter router, String body) throws Exception {
        try (RouterResponse r = router.route(RouterRequest.post("/v1/chat/completions",
                body.getBytes(StandardCharsets.UTF_8)).header("Content-Type", "application/json").build())) {
            assertThat(r.status()).isEqualTo(200);
            r.body().readAllBytes();
            return r.backendId();
        }
    }

    @Test
    void eachPromptGoesToTheServerWhoseEventsSayItHoldsThePrefix() throws Exception {
        startFleet(3);
        KvIndex index = new KvIndex(1 << 24);
        RouterEvents events = new RouterEvents();
        VllmRouter router = router(index, "5", events);
        for (SimulatedVllm s : sims) {
            assertThat(s.awaitKvEventSubscribers(1, WAIT)).isTrue();
        }
        // Traffic that reaches the servers another way: the router's own guess knows nothing of it.
        for (int i = 0; i < sims.size(); i++) {
            direct(sims.get(i), chat(system(i), "warm-up question"));
        }
        // A prompt's ~18 blocks come in the batch of the step its prefill ends in; a block its answer
        // fills comes in a later one (vLLM caches generated tokens too), so a count of batches says
        // nothing of which server's prompt arrived: wait for the blocks.
        assertThat(index.await(() -> index.stats().get("kv_index_entries") >= 3L * 15, WAIT)).isTrue();
        for (int round = 0; round < 2; round++) {
            for (int i = 0; i < sims.size(); i++) {
                String chosen = route(router, chat(system(i), "question " + round + " on prompt " + i));
                assertThat(chosen).as("prompt %d, round %d", i, round).isEqualTo(sims.get(i).baseUrl().toString());
            }
        }
        Map<String, Long> stats = router.stats().strategyStats();
        assertThat(stats.get("picks_kv_events")).isEqualTo(6L);
        assertThat(stats.get("picks_without_tokens")).isZero();
        assertThat(stats.get("kv_index_servers")).isEqualTo(3L);
        assertThat(stats.get("tokenizer_calls")).isPositive();
    }

    @Test
    void withoutTokensInTimeARequestRoutesOnTheApproximateIndex() throws Exception {
        startFleet(2);
        KvIndex index = new KvIndex(1 << 24);
        VllmRouter router = router(index, "0", new RouterEvents());
        String chosen = route(router, chat(system(7), "a question"));
        assertThat(chosen).isIn(sims.get(0).baseUrl().toString(), sims.get(1).baseUrl().toString());
        Map<String, Long> stats = router.stats().strategyStats();
        assertThat(stats.get("picks_without_tokens")).isEqualTo(1L);
        assertThat(stats.get("picks_kv_events")).isZero();
        assertThat(stats.get("tokenizer_timeouts")).isEqualTo(1L);
    }

    @Test
    void aServerRestartedWithAnEmptyCacheIsForgotten() throws Exception {
        startFleet(1);
        SimulatedVllm first = sims.get(0);
        KvIndex index = new KvIndex(1 << 24);
        VllmRouter router = router(index, "5", new RouterEvents());
        assertThat(first.awaitKvEventSubscribers(1, WAIT)).isTrue();
        route(router, chat(system(1), "q"));
        assertThat(index.await(() -> index.stats().get("kv_index_entries") > 0, WAIT)).isTrue();
        // The same server comes back (same ports) with an empty cache and a sequence starting at 0.
        URI url = first.baseUrl();
        int port = first.kvEventsPort();
        int replay = first.kvEventsReplayPort();
        first.close();
        sims.clear();
        SimulatedVllm again = SimulatedVllm.start(SimConfig.builder().models("m").port(url.getPort()).timeScale(50)
                .prefixCache(true).kvEvents(KvEventsSettings.on(port, replay)).build());
        sims.add(again);
        assertThat(again.awaitKvEventSubscribers(1, WAIT)).isTrue();
        route(router, chat(system(2), "q"));
        assertThat(index.await(() -> index.stats().get("kv_events_restarts") == 1, WAIT)).isTrue();
        assertThat(index.await(() -> index.stats().get("kv_events_batches") >= 2, WAIT)).isTrue();
        long entries = index.stats().get("kv_index_entries");
        assertThat(entries).isPositive().isLessThan(60);   // system(2)'s blocks only: system(1)'s were dropped
    }
}
