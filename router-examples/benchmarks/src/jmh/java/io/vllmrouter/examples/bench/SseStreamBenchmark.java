package io.vllmrouter.examples.bench;

import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.time.Scheduler;
import io.vllmrouter.core.VllmRouters;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.api.transport.Transport;
import io.vllmrouter.api.transport.UpstreamRequest;
import io.vllmrouter.api.transport.UpstreamResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What reading streams costs the router, with the real engine over an in-memory transport.
 *
 * <ul>
 *   <li>{@code answerAsStream} against {@code answerAsPlain}: the same 24-event chat answer (about
 *       5 KB in 24 chunks) routed as a {@code "stream": true} request — held until its first data
 *       event, then every chunk scanned for vLLM's in-band error and {@code [DONE]} — and as a
 *       request without {@code stream}, which the router passes on unread. The difference is what
 *       the first-token hold and the SSE watch cost per answer.
 *   <li>{@code longEventUnderFailover} against {@code longEventCopyAndRescan}: a backend sending one
 *       event of {@code megabytes} MiB without a separator, in 16 KiB chunks, under
 *       {@code stream_failover}; the router gives that backend up at its 4 MiB event limit and
 *       resumes the answer on another. The reference is the algorithm the failover buffer used
 *       before, run over the same chunks: append each chunk, copy the whole pending buffer, scan it
 *       from the start for a blank line.
 * </ul>
 * Set-up checks what each benchmark reads, so a wrong path cannot look fast.
 */
@State(Scope.Benchmark)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class SseStreamBenchmark {

    private static final String EVENT = "data: {\"id\":\"chatcmpl-b5e1c2f04d6a4e0f\",\"object\":\"chat.completion.chunk\","
            + "\"created\":1767225600,\"model\":\"meta-llama/Llama-3.1-8B-Instruct\",\"choices\":[{\"index\":0,"
            + "\"delta\":{\"content\":\" token\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n";
    private static final int CHUNK = 16 * 1024;

    @Param({"8"})
    public int megabytes;

    /**
     * The request timers' scheduler: {@code default}, the router's own (one thread); {@code none},
     * one that never fires, to show the streams' cost without their extra timer.
     */
    @Param({"default", "none"})
    public String timers;

    private VllmRouter router;
    private VllmRouter failover;
    private List<byte[]> answer;
    private List<byte[]> longEvent;
    private RouterRequest stream;
    private RouterRequest plain;
    private int answerBytes;

    @Setup
    public void setup() throws IOException {
        answer = new ArrayList<>();
        for (int i = 0; i < 23; i++) {
            answer.add(EVENT.getBytes(StandardCharsets.UTF_8));
        }
        answer.add("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
        answerBytes = answer.stream().mapToInt(a -> a.length).sum();
        longEvent = new ArrayList<>();
        longEvent.add((EVENT + "data: ").getBytes(StandardCharsets.UTF_8));
        byte[] piece = "x".repeat(CHUNK).getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < megabytes * 64; i++) {
            longEvent.add(piece);
        }

        URI a = URI.create("http://gpu-a:8000");
        URI b = URI.create("http://gpu-b:8000");
        router = router(false, a, b, r -> answer, timers);
        failover = router(true, a, b, r -> r.uri().getHost().equals("gpu-a") ? longEvent : answer, timers);
        byte[] body = "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
                .getBytes(StandardCharsets.UTF_8);
        stream = RouterRequest.post("/v1/chat/completions", body).header("Content-Type", "application/json").build();
        plain = RouterRequest.post("/v1/chat/completions",
                        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}".getBytes(StandardCharsets.UTF_8))
                .header("Content-Type", "application/json").build();

        if (answerAsStream() != answerBytes || answerAsPlain() != answerBytes) {
            throw new IllegalStateException("the answer was not read whole");
        }
        if (longEventUnderFailover() != EVENT.length() + answerBytes) {
            throw new IllegalStateException("the long event was not given up and the answer not resumed");
        }
        if (longEventCopyAndRescan() != 1) {
            throw new IllegalStateException("the reference did not find the first event");
        }
    }

    private static VllmRouter router(boolean failover, URI a, URI b, Function<UpstreamRequest, List<byte[]>> body,
                                     String timers) {
        RouterConfig config = RouterConfig.builder().enableActiveHealthCheck(false).streamFailover(failover)
                .metricsInterval(Duration.ofHours(1)).modelsRefreshInterval(Duration.ofHours(1))
                .server(new ServerConfig(a, 1000, List.of("m"), null)).server(new ServerConfig(b, 1000, List.of("m"), null))
                .build();
        BalancingStrategy first = (candidates, context) -> candidates.get(0);   // gpu-a, then the other
        VllmRouters.Builder builder = VllmRouters.builder().config(config).strategy(first).transport(new MemoryTransport(body));
        if (timers.equals("none")) {
            builder.requestScheduler(new NeverScheduler());
        }
        return builder.build();
    }

    @TearDown
    public void tearDown() {
        router.close();
        failover.close();
    }

    private static int read(RouterResponse r) throws IOException {
        try (r; InputStream in = r.body()) {
            byte[] buf = new byte[8192];
            int total = 0;
            int n;
            while ((n = in.read(buf)) >= 0) {
                total += n;
            }
            return total;
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public int answerAsStream() throws IOException {
        return read(router.route(stream));
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public int answerAsPlain() throws IOException {
        return read(router.route(plain));
    }

    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 2)
    @Measurement(iterations = 5)
    public int longEventUnderFailover() throws IOException {
        return read(failover.route(stream));
    }

    /** The failover buffer's former algorithm over the long event's chunks; returns the events found. */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 1)
    @Measurement(iterations = 3)
    public int longEventCopyAndRescan() {
        ByteArrayOutputStream pending = new ByteArrayOutputStream(512);
        int events = 0;
        for (byte[] chunk : longEvent) {
            pending.write(chunk, 0, chunk.length);
            byte[] buf = pending.toByteArray();
            int from = 0;
            int end;
            while ((end = blankLine(buf, from)) >= 0) {
                events++;
                from = end + 2;
            }
            pending.reset();
            pending.write(buf, from, buf.length - from);
        }
        return events;
    }

    private static int blankLine(byte[] buf, int from) {
        for (int i = from; i + 1 < buf.length; i++) {
            if (buf[i] == '\n' && buf[i + 1] == '\n') {
                return i;
            }
        }
        return -1;
    }

    /** Takes timers and never runs them: nothing in these benchmarks times out. */
    private static final class NeverScheduler implements Scheduler {
        @Override
        public Cancellable schedule(Runnable task, Duration delay) {
            return () -> { };
        }

        @Override
        public Cancellable scheduleAtFixedRate(Runnable task, Duration initialDelay, Duration period) {
            return () -> { };
        }

        @Override
        public void close() {
        }
    }

    /** Answers every request at once with an SSE body of fixed chunks, one per unit of demand. */
    private static final class MemoryTransport implements Transport {
        private final Function<UpstreamRequest, List<byte[]>> bodies;

        MemoryTransport(Function<UpstreamRequest, List<byte[]>> bodies) {
            this.bodies = bodies;
        }

        @Override
        public CompletableFuture<UpstreamResponse> send(UpstreamRequest request) {
            List<byte[]> chunks = bodies.apply(request);
            return CompletableFuture.completedFuture(UpstreamResponse.of(200,
                    Map.of("content-type", List.of("text/event-stream")), subscriber -> subscriber.onSubscribe(
                            new Flow.Subscription() {
                                private int next;
                                private long demand;
                                private boolean delivering;
                                private boolean done;

                                @Override
                                public void request(long n) {
                                    demand += n;
                                    if (delivering) {
                                        return;
                                    }
                                    delivering = true;
                                    while (demand > 0 && !done) {
                                        demand--;
                                        if (next < chunks.size()) {
                                            subscriber.onNext(io.vllmrouter.api.BodyChunk.of(ByteBuffer.wrap(chunks.get(next++))));
                                        } else {
                                            done = true;
                                            subscriber.onComplete();
                                        }
                                    }
                                    delivering = false;
                                }

                                @Override
                                public void cancel() {
                                    done = true;
                                }
                            })));
        }

        @Override
        public void close() {
        }
    }
}
