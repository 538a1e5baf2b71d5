package io.vllmrouter.examples.loadgen;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.HdrHistogram.Histogram;

/**
 * A closed-loop load generator: {@code concurrency} threads each send one request after another
 * to {@code target} for a fixed time, and record latency, time to first byte and, for SSE streams,
 * time to first event and the gaps between events, in HdrHistograms (microseconds).
 *
 * <pre>{@code
 * LoadGenerator.Result r = LoadGenerator.run("direct", client, uri, body, true, 64,
 *         Duration.ofSeconds(3), Duration.ofSeconds(10));
 * System.out.println(r.throughput() + " req/s, p50 " + r.latency().getValueAtPercentile(50) + " us");
 * }</pre>
 *
 * <p>Everything it targets must be on loopback; it stops by itself after warm-up plus duration.
 */
public final class LoadGenerator {

    private static final long HIGHEST_MICROS = Duration.ofMinutes(5).toNanos() / 1000;

    private LoadGenerator() {
    }

    /**
     * One phase's figures. Histograms hold microseconds.
     *
     * @param label      what was measured
     * @param requests   requests completed in the measured window
     * @param errors     requests that failed or answered non-2xx in the measured window
     * @param seconds    length of the measured window
     * @param latency    send to last byte
     * @param ttfb       send to response headers
     * @param firstEvent send to the first SSE {@code data:} line (streams only)
     * @param eventGap   time between consecutive SSE events (streams only)
     * @param events     SSE events received
     */
    public record Result(String label, long requests, long errors, double seconds, Histogram latency,
                         Histogram ttfb, Histogram firstEvent, Histogram eventGap, long events) {

        public double throughput() {
            return requests / seconds;
        }

        /** A percentile in milliseconds. */
        public static double ms(Histogram h, double percentile) {
            return h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(percentile) / 1000.0;
        }
    }

    /**
     * Runs the load and returns the figures of the measured window (warm-up excluded).
     *
     * @throws InterruptedException when interrupted while waiting for the workers
     */
    public static Result run(String label, HttpClient client, URI target, byte[] body, boolean stream,
                             int concurrency, Duration warmup, Duration duration) throws InterruptedException {
        if (concurrency < 1) {
            throw new IllegalArgumentException("concurrency: " + concurrency + " (expected: >= 1)");
        }
        HttpRequest request = HttpRequest.newBuilder(target)
                .header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .build();
        long start = System.nanoTime();
        long measureFrom = start + warmup.toNanos();
        long end = measureFrom + duration.toNanos();
        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch done = new CountDownLatch(concurrency);
        List<Worker> workers = new ArrayList<>();
        for (int i = 0; i < concurrency; i++) {
            Worker w = new Worker(client, request, stream, measureFrom, end, stop, done);
            workers.add(w);
            Thread t = new Thread(w, "loadgen-" + label + "-" + i);
            t.setDaemon(true);
            t.start();
        }
        if (!done.await(warmup.toNanos() + duration.toNanos() + Duration.ofSeconds(70).toNanos(),
                java.util.concurrent.TimeUnit.NANOSECONDS)) {
            stop.set(true);
        }
        Histogram latency = newHistogram();
        Histogram ttfb = newHistogram();
        Histogram firstEvent = newHistogram();
        Histogram gap = newHistogram();
        long requests = 0;
        long errors = 0;
        long events = 0;
        for (Worker w : workers) {
            latency.add(w.latency);
            ttfb.add(w.ttfb);
            firstEvent.add(w.firstEvent);
            gap.add(w.gap);
            requests += w.requests;
            errors += w.errors;
            events += w.events;
        }
        return new Result(label, requests, errors, duration.toNanos() / 1e9, latency, ttfb, firstEvent, gap, events);
    }

    private static Histogram newHistogram() {
        return new Histogram(HIGHEST_MICROS, 3);
    }

    private static final class Worker implements Runnable {
        final HttpClient client;
        final HttpRequest request;
        final boolean stream;
        final long measureFrom;
        final long end;
        final AtomicBoolean stop;
        final CountDownLatch done;
        final Histogram latency = newHistogram();
        final Histogram ttfb = newHistogram();
        final Histogram firstEvent = newHistogram();
        final Histogram gap = newHistogram();
        final byte[] buf = new byte[16 * 1024];
        long requests;
        long errors;
        long events;

        Worker(HttpClient client, HttpRequest request, boolean stream, long measureFrom, long end,
               AtomicBoolean stop, CountDownLatch done) {
            this.client = client;
            this.request = request;
            this.stream = stream;
            this.measureFrom = measureFrom;
            this.end = end;
            this.stop = stop;
            this.done = done;
        }

        @Override
        public void run() {
            try {
                while (!stop.get()) {
                    long t0 = System.nanoTime();
                    if (t0 >= end) {
                        return;
                    }
                    boolean measured = t0 >= measureFrom;
                    try {
                        one(t0, measured);
                    } catch (IOException e) {
                        if (measured) {
                            errors++;
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            } finally {
                done.countDown();
            }
        }

        private void one(long t0, boolean measured) throws IOException, InterruptedException {
            HttpResponse<InputStream> response = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
            long headers = System.nanoTime();
            long first = -1;
            long last = -1;
            long count = 0;
            // Count SSE events by the blank line that ends each one ("\n\n"), as a client would.
            int prev = -1;
            try (InputStream in = response.body()) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    if (!stream) {
                        continue;
                    }
                    long now = System.nanoTime();
                    for (int i = 0; i < n; i++) {
                        int c = buf[i];
                        if (c == '\n' && prev == '\n') {
                            if (first < 0) {
                                first = now;
                            } else if (measured) {
                                gap.recordValue(Math.min(HIGHEST_MICROS, (now - last) / 1000));
                            }
                            last = now;
                            count++;
                        }
                        if (c != '\r') {
                            prev = c;
                        }
                    }
                }
            }
            long t1 = System.nanoTime();
            if (!measured || t1 > end) {
                return;
            }
            if (response.statusCode() / 100 != 2) {
                errors++;
                return;
            }
            requests++;
            events += count;
            latency.recordValue(Math.min(HIGHEST_MICROS, (t1 - t0) / 1000));
            ttfb.recordValue(Math.min(HIGHEST_MICROS, (headers - t0) / 1000));
            if (first > 0) {
                firstEvent.recordValue(Math.min(HIGHEST_MICROS, (first - t0) / 1000));
            }
        }
    }
}
