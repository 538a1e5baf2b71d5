package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vllmrouter.api.BackendLease;
import io.vllmrouter.api.BackendsBusyException;
import io.vllmrouter.api.InvalidRequestException;
import io.vllmrouter.api.RequestOutcome;
import io.vllmrouter.api.RouterListener;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.RouterConfigBuilder;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.core.config.TtftSlo;
import io.vllmrouter.core.metrics.LoadMetrics;
import io.vllmrouter.api.transport.UpstreamResponse;
import io.vllmrouter.testing.FakeClock;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The optional time-to-first-token objective: backends expected to miss it are left out before the
 * strategy picks, and a request none can serve in time gets 429 with {@code Retry-After}. Every
 * backend here has the default speed (200 ms to the first token, 20 ms per token, 256-token answers:
 * 5.32 s a typical request); their load comes from scrapes.
 */
class TtftSloTest {

    private static final String A = "http://gpu-a:8000";
    private static final String B = "http://gpu-b:8000";
    private static final byte[] CHAT = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
            .getBytes(StandardCharsets.UTF_8);

    private final FakeClock clock = new FakeClock();
    private final ScriptedTransport transport = new ScriptedTransport();
    private final TestSupport.FakeProbe probe = new TestSupport.FakeProbe();
    private final List<RouterListener.RequestRecord> records = new CopyOnWriteArrayList<>();
    private DefaultVllmRouter router;

    @AfterEach
    void stop() {
        if (router != null) {
            router.close();
        }
    }

    /** A and B with 2 slots each, scraped with the given running and waiting; the strategy takes the first candidate. */
    private void start(RouterConfigBuilder config, double aRunning, double aWaiting, double bRunning, double bWaiting) {
        probe.metrics.put(A, u -> CompletableFuture.completedFuture(new LoadMetrics(aRunning, aWaiting, 0.1, 1024)));
        probe.metrics.put(B, u -> CompletableFuture.completedFuture(new LoadMetrics(bRunning, bWaiting, 0.1, 1024)));
        router = VllmRouters.builder()
                .config(config.server(new ServerConfig(URI.create(A), 2, List.of(), null))
                        .server(new ServerConfig(URI.create(B), 2, List.of(), null))
                        .enableActiveHealthCheck(false).build())
                .ticker(clock).scheduler(clock)
                .strategy(new TestSupport.FirstStrategy())
                .probe(probe)
                .transport(transport)
                .listener(new RouterListener() {
                    @Override
                    public void onRequestComplete(RequestRecord record) {
                        records.add(record);
                    }
                })
                .buildRouter();
        clock.runDueTasks();   // the first scrape
        for (String url : List.of(A, B)) {
            transport.answer(url, r -> CompletableFuture.completedFuture(UpstreamResponse.of(200, Map.of(),
                    Chunks.of("{\"from\":\"" + r.uri().getHost() + "\"}"))));
        }
    }

    private static RouterRequest chat(String sloMillis) {
        RouterRequest.Builder b = RouterRequest.post("/v1/chat/completions", CHAT).header("Content-Type", "application/json");
        if (sloMillis != null) {
            b.header("X-TTFT-SLO-Ms", sloMillis);
        }
        return b.build();
    }

    private String answeredBy(RouterRequest request) throws Exception {
        try (RouterResponse r = router.route(request)) {
            r.body().readAllBytes();
            return r.backendId();
        }
    }

    @Test
    void withoutAnObjectiveNothingChanges() throws Exception {
        // A: 6 outstanding on 2 slots, its next slot in (6 - 2 + 1) * 5.32 / 2 = 13.3 s; B idle.
        start(RouterConfig.builder(), 2, 4, 0, 0);
        assertThat(answeredBy(chat(null))).isEqualTo(A);
    }

    @Test
    void backendsExpectedToMissTheClientsObjectiveAreLeftOut() throws Exception {
        start(RouterConfig.builder(), 2, 4, 0, 0);
        assertThat(answeredBy(chat("1000"))).as("A would take 13.5 s, B 0.2 s").isEqualTo(B);
        assertThat(answeredBy(chat("20000"))).as("both meet 20 s: the strategy's choice").isEqualTo(A);
    }

    @Test
    void whenNoneCanMeetItTheAnswerIs429WithTheTimeUntilTheSoonestWould() {
        // A: 13.3 s to a slot, B: 3 outstanding, (3 - 2 + 1) * 5.32 / 2 = 5.32 s; plus 0.2 s of prefill.
        start(RouterConfig.builder(), 2, 4, 2, 1);
        assertThatThrownBy(() -> router.route(chat("500"))).isInstanceOfSatisfying(BackendsBusyException.class, e -> {
            assertThat(e.httpStatus()).isEqualTo(429);
            assertThat(e.retryAfterSeconds()).as("ceil(5.52 - 0.5)").isEqualTo(6);
            assertThat(e.getMessage()).contains("objective of 500 ms").contains("the soonest: 5520 ms");
        });
        assertThat(transport.sent).isEmpty();
        assertThat(records).singleElement().satisfies(r -> {
            assertThat(r.status()).isEqualTo(429);
            assertThat(r.outcome()).as("refused for load").isEqualTo(RequestOutcome.REJECTED);
        });
    }

    @Test
    void aModelsConfiguredObjectiveAppliesAndTheClientsHeaderWins() throws Exception {
        start(RouterConfig.builder().ttftSlo(new TtftSlo(TtftSlo.DEFAULT_HEADER, null, Map.of("m", Duration.ofMillis(800)))),
                2, 4, 0, 0);
        assertThat(answeredBy(chat(null))).isEqualTo(B);
        assertThat(answeredBy(chat("60000"))).isEqualTo(A);
    }

    @Test
    void anEmptyHeaderNameIgnoresClientsAndTtftCoversEveryModel() throws Exception {
        start(RouterConfig.builder().ttftSlo(new TtftSlo("", Duration.ofSeconds(1), Map.of())), 2, 4, 0, 0);
        assertThat(answeredBy(chat("60000"))).as("the header is not read").isEqualTo(B);
    }

    @Test
    void aMalformedObjectiveIs400() {
        start(RouterConfig.builder(), 0, 0, 0, 0);
        for (String bad : List.of("soon", "-5", "0", "1e99", "NaN", "250d", "0x1p3", "99999999999")) {
            assertThatThrownBy(() -> router.route(chat(bad))).as(bad).isInstanceOfSatisfying(InvalidRequestException.class,
                    e -> assertThat(e.getMessage()).startsWith("X-TTFT-SLO-Ms: " + bad
                            + " (expected: the time-to-first-token objective in milliseconds"));
        }
        assertThat(transport.sent).isEmpty();
    }

    @Test
    void chooseHonoursTheObjectiveToo() {
        start(RouterConfig.builder(), 2, 4, 0, 0);
        try (BackendLease lease = router.choose(chat("1000"))) {
            assertThat(lease.backendId()).isEqualTo(B);
        }
        assertThatThrownBy(() -> router.choose(chat("100"))).isInstanceOf(BackendsBusyException.class);
    }
}
