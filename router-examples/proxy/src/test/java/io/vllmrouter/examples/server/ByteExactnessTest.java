package io.vllmrouter.examples.server;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.util.ResourceLeakDetector;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.testing.RouterEvents;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Thousands of streams through the proxy under faults — slow readers, backends that reset or stall
 * mid-stream (cut by the request's deadline), backends that read a request and drop it — over
 * HTTP/1.1 and h2c at once, with Netty's paranoid leak detection on. Half the requests are streamed,
 * half get a plain JSON answer that comes in pieces. Every event and piece carries its request's
 * id, so the test checks that each client got exactly its own bytes, in order, ending as its fault
 * says; and that each request ran on the backends no more often than the retry policy allows.
 */
@Timeout(120)
class ByteExactnessTest {

    /** Streams per protocol; {@code -Dfaults.streams=N} for a longer run. */
    private static final int STREAMS = Integer.getInteger("faults.streams", 1000);
    private static final int IN_FLIGHT = 96;
    private static final int EVENTS = 40;
    private static final int MAX_RETRIES = 3;
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern ANY_ID = Pattern.compile("p?h[12]-\\d+(?=[/\"])");

    private static ResourceLeakDetector.Level previousLevel;
    /** The leak detector's reports, each with the buffer's recent accesses: printed when the test fails. */
    private static final List<String> leaks = new CopyOnWriteArrayList<>();
    private static final AppenderBase<ILoggingEvent> LEAK_COUNTER = new AppenderBase<>() {
        @Override
        protected void append(ILoggingEvent e) {
            String message = e.getFormattedMessage();
            if (message.contains("LEAK")) {
                leaks.add(message);
            }
        }
    };

    @BeforeAll
    static void paranoid() {
        previousLevel = ResourceLeakDetector.getLevel();
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        LEAK_COUNTER.start();
        ((Logger) LoggerFactory.getLogger(ResourceLeakDetector.class)).addAppender(LEAK_COUNTER);
    }

    @AfterAll
    static void restore() {
        ((Logger) LoggerFactory.getLogger(ResourceLeakDetector.class)).detachAppender(LEAK_COUNTER);
        ResourceLeakDetector.setLevel(previousLevel);
    }

    /** What request {@code n} asks its backend to do, whether its client reads slowly, and whether it streams. */
    private record Plan(String fault, long slowMillis, boolean plain) {
        static Plan of(int n) {
            boolean plain = (n / 20) % 2 == 1; // every fault, every pace, both ways
            return switch (n % 20) {
                case 10, 11, 12 -> new Plan("ok", 5, plain);
                case 13, 14 -> new Plan("reset", 0, plain);
                case 15, 16 -> new Plan("reset", 5, plain);
                case 17 -> new Plan("stall", 0, plain);
                case 18 -> new Plan("stall", 5, plain);
                case 19 -> new Plan("drop", 0, plain);
                default -> new Plan("ok", 0, plain);
            };
        }

        /** The id of request {@code n} over HTTP/{@code proto}: {@code p} first for a plain answer (the backend reads it). */
        String id(int proto, int n) {
            return (plain ? "p" : "") + "h" + proto + "-" + n;
        }
    }

    @Test
    void everyClientGetsExactlyItsOwnBytesAndEveryRequestRunsAsThePolicySays() throws Exception {
        RouterEvents events = new RouterEvents();
        try (FaultBackend a = new FaultBackend(); FaultBackend b = new FaultBackend()) {
            RouterConfig config = RouterConfig.builder()
                    .healthCheckInterval(Duration.ofSeconds(1))
                    .metricsInterval(Duration.ofSeconds(1))
                    .maxRetries(MAX_RETRIES)
                    .retryDelay(Duration.ZERO)
                    .requestTimeout(REQUEST_TIMEOUT)
                    // A third of the streams fail on purpose: the breakers open only on 1,000 failures in a row, which never come.
                    .circuitBreakerFailureRate(100)
                    .circuitBreakerWindow(1_000)
                    .circuitBreakerMinimumCalls(1_000)
                    .server(new ServerConfig(a.url(), 1000))
                    .server(new ServerConfig(b.url(), 1000))
                    .build();
            EventLoops loops = EventLoops.create(2);
            VllmRouter router = ProxyStack.router(config, loops, events);
            ProxyServer proxy = ProxyServer.start(router,
                    ProxyOptions.builder().host("127.0.0.1").port(0).eventLoops(loops).build());
            try (FaultClients clients = new FaultClients(proxy.address())) {
                events.awaitUntil("both backends' models are known", () -> router.models().size() == 1
                        && router.stats().servers().stream().allMatch(s -> !s.models().isEmpty()), Duration.ofSeconds(20));
                List<FaultClients.Received> all = run(clients);
                List<String> problems = new ArrayList<>();
                for (FaultClients.Received r : all) {
                    check(r, Plan.of(Integer.parseInt(r.id.substring(r.id.indexOf('-') + 1))), a, b, problems);
                }
                assertThat(problems).as("streams that did not get exactly their own bytes, or ran too often")
                        .isEmpty();
            } finally {
                proxy.stop(Duration.ZERO);
                router.close();
                loops.close();
            }
        }
        assertThat(leaks()).as("buffers leaked (Netty's paranoid leak detector)").isEmpty();
    }

    /** Runs every stream, {@link #IN_FLIGHT} at a time, half over HTTP/1.1 and half over h2c. */
    private static List<FaultClients.Received> run(FaultClients clients) throws Exception {
        Semaphore slots = new Semaphore(IN_FLIGHT);
        List<FaultClients.Received> all = new ArrayList<>();
        List<Channel> h2 = new ArrayList<>();
        for (int c = 0; c < 8; c++) {
            h2.add(clients.h2Connection());
        }
        try {
            for (int n = 0; n < STREAMS; n++) {
                Plan p = Plan.of(n);
                for (int proto = 1; proto <= 2; proto++) {
                    if (!slots.tryAcquire(60, TimeUnit.SECONDS)) {
                        throw new AssertionError("streams stopped ending: " + IN_FLIGHT + " still open");
                    }
                    String id = p.id(proto, n);
                    FaultClients.Received r = proto == 1
                            ? clients.http1(id, EVENTS, p.fault(), p.slowMillis())
                            : clients.stream(h2.get(n % h2.size()), id, EVENTS, p.fault(), p.slowMillis());
                    r.done.whenComplete((x, t) -> slots.release());
                    all.add(r);
                }
            }
            CompletableFuture.allOf(all.stream().map(r -> r.done).toArray(CompletableFuture[]::new))
                    .get(60, TimeUnit.SECONDS);
        } finally {
            h2.forEach(Channel::close);
        }
        return all;
    }

    private static void check(FaultClients.Received r, Plan plan, FaultBackend a, FaultBackend b, List<String> problems) {
        String text = r.text();
        String id = r.id;
        int runs = a.runs(id) + b.runs(id);
        Matcher m = ANY_ID.matcher(text);
        while (m.find()) {
            if (!m.group().equals(id)) {
                int at = m.start();
                problems.add(id + ": received bytes of " + m.group() + " after " + at + " bytes: "
                        + text.substring(Math.max(0, at - 120), Math.min(text.length(), at + 40)));
                return;
            }
        }
        if (plan.fault().equals("drop")) {
            if (r.status != 502 || !text.contains("\"error\"")) {
                problems.add(id + ": a dropped request answered " + r.status + " " + text);
            }
            if (runs > Math.min(2, 1 + MAX_RETRIES) || a.runs(id) > 1 || b.runs(id) > 1) {
                problems.add(id + ": a dropped request ran " + a.runs(id) + " + " + b.runs(id) + " times");
            }
            return;
        }
        if (runs != 1) {
            problems.add(id + ": ran " + a.runs(id) + " + " + b.runs(id) + " times (" + plan.fault() + "), status " + r.status + ", complete=" + r.complete + ", " + text.length() + " bytes");
        }
        if (r.status != 200) {
            problems.add(id + ": status " + r.status + " " + text);
            return;
        }
        if (plan.plain()) {
            checkPlain(r, plan, text, problems);
            return;
        }
        String[] parts = text.split("\n\n", -1);
        int seq = 0;
        boolean doneSeen = false;
        boolean errorSeen = false;
        for (int i = 0; i < parts.length - 1; i++) {
            String event = parts[i];
            if (doneSeen || errorSeen) {
                problems.add(id + ": an event after the end: " + event);
                return;
            }
            if (!event.startsWith("data: ")) {
                problems.add(id + ": not an event: " + event);
                return;
            }
            String data = event.substring(6);
            if (data.equals("[DONE]")) {
                doneSeen = true;
                continue;
            }
            JsonNode json;
            try {
                json = JSON.readTree(data);
            } catch (IOException e) {
                problems.add(id + ": an event that is not JSON: " + data);
                return;
            }
            if (json.has("error")) {
                errorSeen = true;
            } else if (json.path("seq").asInt(-1) != seq++) {
                problems.add(id + ": event " + json.path("seq") + " where " + (seq - 1) + " was due");
                return;
            }
        }
        if (!parts[parts.length - 1].isEmpty()) {
            problems.add(id + ": ends inside an event: " + parts[parts.length - 1]);
        }
        if (plan.fault().equals("ok")) {
            if (!doneSeen || seq != EVENTS || !r.complete) {
                problems.add(id + ": a complete answer ended after " + seq + " events, done=" + doneSeen
                        + ", complete=" + r.complete + ": " + text.substring(Math.max(0, text.length() - 300)));
            }
        } else if (doneSeen || r.complete || !errorSeen || seq > EVENTS / 2
                || (plan.fault().equals("stall") && seq != EVENTS / 2)) {
            // A reset loses what the proxy had not read yet (the kernel drops it); a stall loses nothing.
            problems.add(id + ": a stream cut after " + EVENTS / 2 + " events (" + plan.fault() + ") ended after "
                    + seq + " with done=" + doneSeen + ", complete=" + r.complete + ", error event=" + errorSeen);
        }
    }

    /** A plain answer: its own pieces in order, all of them only when it ended complete; a cut one never complete. */
    private static void checkPlain(FaultClients.Received r, Plan plan, String text, List<String> problems) {
        String whole = FaultBackend.plainAnswer(r.id, EVENTS);
        if (!whole.startsWith(text)) {
            problems.add(r.id + ": a plain answer that is not its own from the start: " + text.substring(0, Math.min(300, text.length())));
        } else if (plan.fault().equals("ok")) {
            if (!r.complete || text.length() != whole.length()) {
                problems.add(r.id + ": a complete plain answer ended after " + text.length() + " of " + whole.length()
                        + " bytes, complete=" + r.complete);
            }
        } else if (r.complete || text.length() > FaultBackend.plainAnswer(r.id, EVENTS / 2).length()) {
            problems.add(r.id + ": a plain answer cut after " + EVENTS / 2 + " pieces (" + plan.fault() + ") ended after "
                    + text.length() + " bytes, complete=" + r.complete);
        }
    }

    /** Leaks reported so far, after giving the detector the chance to see collected buffers. */
    private static List<String> leaks() {
        for (int i = 0; i < 3; i++) {
            System.gc();
            ByteBuf probe = PooledByteBufAllocator.DEFAULT.directBuffer(64);
            probe.release();
        }
        return List.copyOf(leaks);
    }
}
