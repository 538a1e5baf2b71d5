package io.vllmrouter.core;

import io.vllmrouter.api.spi.BackendSpeed;
import io.vllmrouter.core.metrics.LatencyCounters;
import java.util.Arrays;
import java.util.List;

/**
 * One backend's speed as the fleet's owner estimates it, published as an immutable
 * {@link BackendSpeed} that strategies read ({@link Backend#speed()}).
 *
 * <p>Each figure is a ratio of two decayed sums: seconds over token gaps (time per output token),
 * seconds over requests (time to first token without queueing), prefill seconds over prompt tokens,
 * answer tokens over requests. Samples come from two places:
 * <ul>
 *   <li>vLLM's histograms, at each scrape: the growth of a histogram's {@code _sum} over the growth
 *       of its {@code _count} since the previous scrape ({@link LatencyCounters}), summed over
 *       engines. A backend's first scrape (or the first after a restart, when a counter went back)
 *       has no previous one: its counters since start are its lifetime figures, taken as a sample
 *       of at most {@value #FIRST_SCRAPE_GAPS} token gaps and {@value #FIRST_SCRAPE_REQUESTS}
 *       requests, so that a new server starts from what it has been doing;</li>
 *   <li>the streams this router relayed ({@link RelayedSpeed}), at each scrape round, for each
 *       figure the backend's scrapes do not give (or all of them while its scrapes are stale): a
 *       backend's histograms count every request it ran, whoever sent it, and read the same from
 *       every router replica, while the relayed streams are this router's share seen through its
 *       reads; added to the histograms they made replicas that each relay a third of the traffic
 *       disagree by half about the same server.</li>
 * </ul>
 * Before adding samples the sums are multiplied by {@code 0.5^(elapsed / half-life)}, so a figure
 * follows a backend that slows down (thermal throttling, a bigger batch) within a few half-lives.
 *
 * <p>Each figure is kept twice: recent (the half-life, {@code speed_half_life}) and its history
 * ({@value #HISTORY_HALF_LIVES} half-lives). The published value is
 * {@code (recent sum + prior * history) / (recent weight + prior)}, and the history is
 * {@code (history sum + prior * seed) / (history weight + prior)}, where the seed is the median of the
 * fleet's other well-measured backends, else {@link BackendSpeed#DEFAULT}, and the prior counts as a
 * few samples ({@value #PRIOR_GAPS} token gaps, {@value #PRIOR_REQUESTS} requests). So a backend
 * nothing is known of looks like the rest of the fleet; one that got no traffic for a while keeps
 * its own longer history (a slow card the router avoids is not taken for a fast one half a minute
 * later); and one left alone for many minutes drifts back to the fleet's figures and is tried again.
 *
 * <p>Threads: every method but {@link #speed()} runs in the fleet's serial context; {@link #speed()}
 * is one volatile read from anywhere.
 */
final class SpeedEstimate {

    /** Default half-life of a sample's weight. */
    static final long DEFAULT_HALF_LIFE_NANOS = 10_000_000_000L;
    /** Weight of the seed, in token gaps (time per output token). */
    static final double PRIOR_GAPS = 16;
    /** Weight of the seed, in requests (time to first token, answer length). */
    static final double PRIOR_REQUESTS = 2;
    /** Weight of the seed, in prompt tokens (prefill per token). */
    static final double PRIOR_PROMPT_TOKENS = 256;
    /** Most weight a first scrape's lifetime figures carry, in token gaps. */
    static final double FIRST_SCRAPE_GAPS = 256;
    /** Most weight a first scrape's lifetime figures carry, in requests. */
    static final double FIRST_SCRAPE_REQUESTS = 8;
    /** Confidence from which a backend's figures count for the fleet's seed. */
    static final double MEASURED = 0.5;

    /** A decayed ratio: {@code sum / weight}. */
    private static final class Figure {
        double sum;
        double weight;

        void decay(double f) {
            sum *= f;
            weight *= f;
        }

        void add(double s, double w) {
            if (w > 0 && s >= 0 && Double.isFinite(s) && Double.isFinite(w)) {
                sum += s;
                weight += w;
            }
        }

        /** The ratio with {@code seed} counting as {@code prior} samples; NaN when neither says anything. */
        double value(double seed, double prior) {
            if (Double.isNaN(seed)) {
                return weight > 0 ? sum / weight : Double.NaN;
            }
            return (sum + prior * seed) / (weight + prior);
        }
    }

    /** The four figures, decayed at one pace. */
    private static final class Figures {
        final Figure tokenGap = new Figure();
        final Figure firstToken = new Figure();
        final Figure prefillPerToken = new Figure();
        final Figure outputTokens = new Figure();

        void decay(double f) {
            tokenGap.decay(f);
            firstToken.decay(f);
            prefillPerToken.decay(f);
            outputTokens.decay(f);
        }
    }

    /** Half-lives of the history, in half-lives of the recent figures. */
    static final int HISTORY_HALF_LIVES = 20;

    private final Figures recent = new Figures();
    private final Figures history = new Figures();
    private LatencyCounters lastScrape;
    private long halfLifeNanos = DEFAULT_HALF_LIFE_NANOS;
    private long decayedAt;
    private boolean started;
    private BackendSpeed seed = BackendSpeed.DEFAULT;
    private volatile BackendSpeed published = BackendSpeed.DEFAULT;

    /** The published estimate. Any thread. */
    BackendSpeed speed() {
        return published;
    }

    void halfLifeNanos(long nanos) {
        this.halfLifeNanos = Math.max(1, nanos);
    }

    /** Whether the backend's own samples outweigh the prior in its history, so that it may seed others. */
    boolean measured() {
        Figure h = history.tokenGap;
        return h.weight / (h.weight + PRIOR_GAPS) >= MEASURED;
    }

    /**
     * The samples one scrape adds: the growth of each (sum, count) pair since the previous scrape.
     * Seconds over token gaps, prefill seconds over prefills, prefill seconds over prompt tokens,
     * answer tokens over finished requests.
     */
    record Samples(double gapSeconds, double gaps, double prefillSeconds, double prefills, double promptSeconds,
                   double promptTokens, double outputTokens, double answers) {
    }

    /**
     * What {@code now} adds to {@code prev} (null: the backend's first scrape). A pair the page lacks
     * adds nothing. Without a previous figure, or when the count went back (a restart), the counters
     * since start are the sample, scaled down to at most {@value #FIRST_SCRAPE_GAPS} token gaps or
     * {@value #FIRST_SCRAPE_REQUESTS} requests.
     */
    static Samples between(LatencyCounters prev, LatencyCounters now) {
        LatencyCounters p = prev == null ? LatencyCounters.NONE : prev;
        double[] gap = delta(now.tokenGapSeconds(), now.tokenGaps(), p.tokenGapSeconds(), p.tokenGaps(), FIRST_SCRAPE_GAPS);
        double[] prefill = delta(now.prefillSeconds(), now.prefills(), p.prefillSeconds(), p.prefills(),
                FIRST_SCRAPE_REQUESTS);
        double[] prompt = delta(now.prefillSeconds(), now.promptTokens(), p.prefillSeconds(), p.promptTokens(),
                FIRST_SCRAPE_REQUESTS * PRIOR_PROMPT_TOKENS);
        double[] output = delta(now.outputTokens(), now.finished(), p.outputTokens(), p.finished(), FIRST_SCRAPE_REQUESTS);
        return new Samples(gap[0], gap[1], prefill[0], prefill[1], prompt[0], prompt[1], output[0], output[1]);
    }

    /** A scrape's histogram counters at {@code nowNanos}. */
    void scraped(LatencyCounters c, long nowNanos) {
        if (c == null || c == LatencyCounters.NONE) {
            return;
        }
        Samples s = between(lastScrape, c);
        lastScrape = c;
        decayTo(nowNanos);
        for (Figures f : new Figures[] {recent, history}) {
            f.tokenGap.add(s.gapSeconds(), s.gaps());
            f.firstToken.add(s.prefillSeconds(), s.prefills());
            f.prefillPerToken.add(s.promptSeconds(), s.promptTokens());
            f.outputTokens.add(s.outputTokens(), s.answers());
        }
        publish();
    }

    /** The growth of a (sum, count) pair: {sum, count}, zeros when unknown; see {@link #between}. */
    private static double[] delta(double sum, double count, double prevSum, double prevCount, double cap) {
        if (Double.isNaN(sum) || Double.isNaN(count) || count <= 0) {
            return new double[] {0, 0};
        }
        if (Double.isNaN(prevSum) || Double.isNaN(prevCount) || count < prevCount || sum < prevSum) {
            double scale = Math.min(1, cap / count);
            return new double[] {sum * scale, count * scale};
        }
        return new double[] {sum - prevSum, count - prevCount};
    }

    /**
     * What the relayed streams showed since the last round, at {@code nowNanos}: each figure only
     * when the backend's scrapes are stale ({@code !scrapesFresh}) or the last one had no histogram
     * for it (see the class comment).
     */
    void relayed(RelayedSpeed.Delta d, long nowNanos, boolean scrapesFresh) {
        LatencyCounters c = lastScrape == null || !scrapesFresh ? LatencyCounters.NONE : lastScrape;
        boolean gaps = Double.isNaN(c.tokenGaps());
        boolean firstTokens = Double.isNaN(c.prefills());
        boolean answers = Double.isNaN(c.finished());
        if (!gaps && !firstTokens && !answers) {
            return;
        }
        decayTo(nowNanos);
        for (Figures f : new Figures[] {recent, history}) {
            if (gaps) {
                f.tokenGap.add(d.decodeSeconds(), d.tokenGaps());
            }
            if (firstTokens) {
                f.firstToken.add(d.firstTokenSeconds(), d.firstTokens());
            }
            if (answers) {
                f.outputTokens.add(d.outputTokens(), d.streams());
            }
        }
        publish();
    }

    /** The figures a backend without samples of its own takes. */
    void seed(BackendSpeed s) {
        this.seed = s;
        publish();
    }

    private void decayTo(long nowNanos) {
        if (!started) {
            started = true;
            decayedAt = nowNanos;
            return;
        }
        long elapsed = nowNanos - decayedAt;
        if (elapsed <= 0) {
            return;
        }
        decayedAt = nowNanos;
        double halfLives = elapsed / (double) halfLifeNanos;
        recent.decay(Math.pow(0.5, halfLives));
        history.decay(Math.pow(0.5, halfLives / HISTORY_HALF_LIVES));
    }

    private void publish() {
        double tpot = layered(recent.tokenGap, history.tokenGap, seed.timePerOutputToken(), PRIOR_GAPS);
        double ttft = layered(recent.firstToken, history.firstToken, seed.timeToFirstToken(), PRIOR_REQUESTS);
        double answer = layered(recent.outputTokens, history.outputTokens, seed.outputTokens(), PRIOR_REQUESTS);
        // Only a backend that publishes its own prefill rate has one: the others' would not describe it.
        double perToken = history.prefillPerToken.weight > 0
                ? layered(recent.prefillPerToken, history.prefillPerToken, seed.prefillPerToken(), PRIOR_PROMPT_TOKENS)
                : Double.NaN;
        double confidence = recent.tokenGap.weight / (recent.tokenGap.weight + PRIOR_GAPS);
        published = new BackendSpeed(positive(tpot, seed.timePerOutputToken()), positive(ttft, seed.timeToFirstToken()),
                perToken >= 0 ? perToken : Double.NaN, positive(answer, seed.outputTokens()),
                Math.max(0, Math.min(1, confidence)));
    }

    /** The recent figure over the history, the history over the seed, each prior counting {@code prior} samples. */
    private static double layered(Figure recent, Figure history, double seed, double prior) {
        double h = history.value(seed, prior);
        return Double.isNaN(h) ? Double.NaN : recent.value(h, prior);
    }

    private static double positive(double v, double fallback) {
        return v > 0 && Double.isFinite(v) ? v : fallback;
    }

    /**
     * One scrape round: each backend's relayed streams are folded in, then each backend is given the
     * median of each figure over the other well-measured backends ({@link #MEASURED}), or
     * {@link BackendSpeed#DEFAULT}'s where there is none. Fleet context only.
     */
    static void round(List<Backend> backends, long nowNanos) {
        int n = backends.size();
        BackendSpeed[] speeds = new BackendSpeed[n];
        boolean[] measured = new boolean[n];
        for (int i = 0; i < n; i++) {
            Backend b = backends.get(i);
            b.speedEstimate.relayed(b.relayedSpeed.drain(), nowNanos, b.load.fresh());
            speeds[i] = b.speed();
            measured[i] = b.speedEstimate.measured();
        }
        for (int i = 0; i < n; i++) {
            backends.get(i).speedEstimate.seed(seedFor(i, speeds, measured));
        }
    }

    /** The medians over the measured backends but {@code self}; the default figures where none is. */
    private static BackendSpeed seedFor(int self, BackendSpeed[] speeds, boolean[] measured) {
        double[] tpot = new double[speeds.length];
        double[] ttft = new double[speeds.length];
        double[] answer = new double[speeds.length];
        double[] perToken = new double[speeds.length];
        int k = 0;
        int withPerToken = 0;
        for (int j = 0; j < speeds.length; j++) {
            if (j == self || !measured[j]) {
                continue;
            }
            tpot[k] = speeds[j].timePerOutputToken();
            ttft[k] = speeds[j].timeToFirstToken();
            answer[k] = speeds[j].outputTokens();
            k++;
            if (!Double.isNaN(speeds[j].prefillPerToken())) {
                perToken[withPerToken++] = speeds[j].prefillPerToken();
            }
        }
        if (k == 0) {
            return BackendSpeed.DEFAULT;
        }
        return new BackendSpeed(median(tpot, k), median(ttft, k), withPerToken == 0 ? Double.NaN : median(perToken, withPerToken),
                median(answer, k), 0);
    }

    private static double median(double[] values, int n) {
        double[] v = Arrays.copyOf(values, n);
        Arrays.sort(v);
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }
}
