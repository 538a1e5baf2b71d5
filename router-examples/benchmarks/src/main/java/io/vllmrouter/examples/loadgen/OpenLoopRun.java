package io.vllmrouter.examples.loadgen;

import io.vllmrouter.examples.bench.FleetSimulation;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

/**
 * Open-loop Poisson arrivals of streamed chat completions against one target, each request timed
 * from its scheduled arrival (so a slow client or a full connection pool counts against the target,
 * as a user would feel it) to its first and its last SSE event.
 *
 * <pre>{@code
 * OpenLoopRun.Result r = OpenLoopRun.run(client, target, "llama", 8.75, Duration.ofSeconds(60), 64, 42, Double.NaN, at -> { });
 * }</pre>
 */
final class OpenLoopRun {

    /** Width of the windows of {@link Result#windowMeans()}, by arrival time. */
    static final double WINDOW_SECONDS = 5;

    /**
     * What one run measured; latencies in seconds, over the requests that completed with [DONE].
     *
     * @param requests     requests sent
     * @param failed       requests that did not complete with [DONE] (error, non-200, cut short)
     * @param e2e          sorted end-to-end latencies
     * @param ttft         sorted times to the first event
     * @param windowMeans  mean end-to-end latency of the requests arriving in each {@link #WINDOW_SECONDS}
     *                     window, NaN for a window without one
     */
    record Result(int requests, int failed, double[] e2e, double[] ttft, double[] windowMeans) {

        double mean() {
            return FleetSimulation.mean(e2e);
        }

        double p(double q) {
            return FleetSimulation.percentile(e2e, q);
        }

        double ttftP(double q) {
            return FleetSimulation.percentile(ttft, q);
        }
    }

    /** Something to do at a time of the run (seconds after its start), such as slowing a server down. */
    interface Event {
        void at(double seconds);
    }

    private OpenLoopRun() {
    }

    /** A streamed chat completion of {@code tokens} answer tokens and a 16-token question. */
    static byte[] body(String model, int tokens, int id) {
        String question = String.format("request %06d: tell me about the weather in a few words please.", id);
        return ("{\"model\":\"" + model + "\",\"stream\":true,\"max_tokens\":" + tokens
                + ",\"messages\":[{\"role\":\"user\",\"content\":\"" + question + "\"}]}").getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Sends Poisson arrivals at {@code rps} for {@code duration}, runs {@code event} once when the
     * run passes {@code eventSeconds} (NaN: never), and waits for every answer (at most ten minutes
     * after the last arrival).
     */
    static Result run(HttpClient client, URI target, String model, double rps, Duration duration, int tokens, long seed,
                      double eventSeconds, Event event) throws InterruptedException {
        SplittableRandom random = new SplittableRandom(seed);
        double durationS = duration.toNanos() / 1e9;
        List<Double> arrivals = new ArrayList<>();
        for (double t = 0; ; ) {
            t += -Math.log(1 - random.nextDouble()) / rps;
            if (t >= durationS) {
                break;
            }
            arrivals.add(t);
        }
        List<CompletableFuture<long[]>> futures = new ArrayList<>(arrivals.size());
        long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
        boolean eventDone = Double.isNaN(eventSeconds);
        for (int i = 0; i < arrivals.size(); i++) {
            long at = start + (long) (arrivals.get(i) * 1e9);
            if (!eventDone && arrivals.get(i) >= eventSeconds) {
                parkUntil(start + (long) (eventSeconds * 1e9));
                event.at(eventSeconds);
                eventDone = true;
            }
            parkUntil(at);
            HttpRequest req = HttpRequest.newBuilder(target).header("Content-Type", "application/json")
                    .timeout(Duration.ofMinutes(10)).POST(HttpRequest.BodyPublishers.ofByteArray(body(model, tokens, i))).build();
            futures.add(client.sendAsync(req, SseLines.handler()).handle((resp, err) -> {
                if (err != null || resp.statusCode() != 200 || !resp.body().done()) {
                    return null;
                }
                return new long[] {resp.body().firstEventNanos(), resp.body().lastEventNanos()};
            }));
        }
        try {
            CompletableFuture.allOf(futures.toArray(new CompletableFuture<?>[0])).get(10, TimeUnit.MINUTES);
        } catch (ExecutionException | TimeoutException e) {
            // counted below as failed
        }
        int windows = (int) Math.ceil(durationS / WINDOW_SECONDS);
        double[] windowSum = new double[windows];
        int[] windowCount = new int[windows];
        double[] e2e = new double[arrivals.size()];
        double[] ttft = new double[arrivals.size()];
        int ok = 0;
        for (int i = 0; i < arrivals.size(); i++) {
            long[] t = futures.get(i).getNow(null);
            if (t == null) {
                continue;
            }
            double arrival = arrivals.get(i);
            e2e[ok] = (t[1] - start) / 1e9 - arrival;
            ttft[ok] = (t[0] - start) / 1e9 - arrival;
            int w = Math.min(windows - 1, (int) (arrival / WINDOW_SECONDS));
            windowSum[w] += e2e[ok];
            windowCount[w]++;
            ok++;
        }
        e2e = Arrays.copyOf(e2e, ok);
        ttft = Arrays.copyOf(ttft, ok);
        Arrays.sort(e2e);
        Arrays.sort(ttft);
        double[] means = new double[windows];
        for (int w = 0; w < windows; w++) {
            means[w] = windowCount[w] == 0 ? Double.NaN : windowSum[w] / windowCount[w];
        }
        return new Result(arrivals.size(), arrivals.size() - ok, e2e, ttft, means);
    }

    private static void parkUntil(long nanoTime) {
        long wait;
        while ((wait = nanoTime - System.nanoTime()) > 0) {
            LockSupport.parkNanos(wait);
        }
    }
}
