package io.vllmrouter.api.spi;

import java.util.List;

/**
 * How long one request would take on each candidate, from the backends' {@link BackendSpeed
 * speed} and load and the request's {@link RequestSize size}: the arithmetic that
 * {@code latency-aware} ranks by, that {@code cache-aware}'s load margin compares, and that the
 * router's time-to-first-token objective checks. One instance per pick.
 *
 * <pre>{@code
 * ExpectedTime t = ExpectedTime.of(context.size(), candidates);
 * double seconds = t.completionSeconds(backend);   // wait for a slot + its own service time
 * }</pre>
 *
 * <p>For a backend {@code b} with {@code c} slots ({@link BackendView#capacity()}), {@code n}
 * requests outstanding ({@link BackendView#outstanding()}, running and waiting), and a typical
 * request keeping a slot {@code typical} seconds there ({@link BackendSpeed#typicalServiceSeconds()}):
 * <ul>
 *   <li><b>service</b>: this request's own time on a slot, {@code prefill + out * tpot}, where
 *       prefill is {@code promptTokens * prefillPerToken} when the backend publishes its prefill rate
 *       and the size is known, else its time to first token, and {@code out} is {@link #outputTokens()};</li>
 *   <li><b>queue wait</b>: the time until a slot frees: 0 while {@code n < c}, else
 *       {@code (n - c + 1) * typical / c} (slots free one every {@code typical / c} seconds);</li>
 *   <li><b>completion</b> = queue wait + service; <b>first token</b> = queue wait + prefill;</li>
 *   <li><b>work ahead</b>: {@code n * typical / c}, the outstanding requests' work in that backend's
 *       own time shared by its slots. Unlike the queue wait it grows with every request, running or
 *       not, so on equally fast backends it ranks as {@code least-loaded}.</li>
 *   <li><b>cost</b>: {@code service + queueWeight * queue wait + loadWeight * work ahead}, what the
 *       strategies minimize ({@link #QUEUE_WEIGHT} 3 and {@link #LOAD_WEIGHT} 0.25 by default). The
 *       wait counts several times because a request that joins a queue also delays every request
 *       that arrives there after it: ranking by each request's own completion alone fills the
 *       fastest backend's queue until it is as slow as the next one, which later requests then pay.
 *       The work-ahead term makes a fuller batch count as busier.</li>
 * </ul>
 *
 * <p>Stateless apart from the request's figures; no I/O, no lock; reads each backend's live figures.
 */
public final class ExpectedTime {

    /** Default weight of a second of queue wait against a second of service, in {@link #cost}. */
    public static final double QUEUE_WEIGHT = 3;
    /** Default weight of the work ahead, in {@link #cost}. */
    public static final double LOAD_WEIGHT = 0.25;

    private final RequestSize size;
    private final double outputTokens;
    private final List<? extends BackendView> candidates;
    /**
     * The shortest service time of this request, and of a typical request, among the candidates;
     * NaN until {@link #relativeLoad} first needs them (a {@code latency-aware} pick never does).
     */
    private double shortestService = Double.NaN;
    private double shortestTypical = Double.NaN;

    private ExpectedTime(RequestSize size, double outputTokens, List<? extends BackendView> candidates) {
        this.size = size;
        this.outputTokens = outputTokens;
        this.candidates = candidates;
    }

    private void references() {
        double service = Double.POSITIVE_INFINITY;
        double typical = Double.POSITIVE_INFINITY;
        for (int i = 0, n = candidates.size(); i < n; i++) {
            BackendView b = candidates.get(i);
            service = Math.min(service, serviceSeconds(b));
            typical = Math.min(typical, b.speed().typicalServiceSeconds());
        }
        shortestService = service < Double.POSITIVE_INFINITY ? service : 0;
        shortestTypical = typical > 0 && typical < Double.POSITIVE_INFINITY ? typical : 1.0;
    }

    /**
     * The figures of a request of {@code size} among {@code candidates}: the answer length to expect
     * is the candidates' typical one ({@link BackendSpeed#outputTokens()}, weighted by confidence),
     * capped by the request's own limit ({@link RequestSize#expectedOutputTokens}).
     */
    public static ExpectedTime of(RequestSize size, List<? extends BackendView> candidates) {
        RequestSize s = size == null ? RequestSize.UNKNOWN : size;
        return new ExpectedTime(s, s.expectedOutputTokens(typicalOutputTokens(candidates)), candidates);
    }

    /** The candidates' typical answer length, each weighted by its confidence (equally when none has any). */
    public static double typicalOutputTokens(List<? extends BackendView> candidates) {
        double sum = 0;
        double weight = 0;
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0, n = candidates.size(); i < n; i++) {
            BackendSpeed s = candidates.get(i).speed();
            double w = Math.max(s.confidence(), 1e-3);
            sum += w * s.outputTokens();
            weight += w;
            min = Math.min(min, s.outputTokens());
            max = Math.max(max, s.outputTokens());
        }
        if (min == max) {
            return min;  // exactly, so that equal backends keep exactly equal figures
        }
        return weight > 0 ? sum / weight : BackendSpeed.DEFAULT.outputTokens();
    }

    /** The answer length this request is expected to have, in tokens. */
    public double outputTokens() {
        return outputTokens;
    }

    /** Seconds from a free slot to this request's first token on {@code b}. */
    public double prefillSeconds(BackendView b) {
        return prefill(b.speed());
    }

    private double prefill(BackendSpeed s) {
        double perToken = s.prefillPerToken();
        if (size.promptTokens() > 0 && perToken > 0) {
            return size.promptTokens() * perToken;
        }
        return s.timeToFirstToken();
    }

    /** Seconds this request holds a slot on {@code b}: prefill, then its answer at {@code b}'s speed. */
    public double serviceSeconds(BackendView b) {
        BackendSpeed s = b.speed();
        return prefill(s) + outputTokens * s.timePerOutputToken();
    }

    /** Seconds to this request's last token on {@code b}: {@link #queueSeconds} + {@link #serviceSeconds}. */
    public double completionSeconds(BackendView b) {
        return queueSeconds(b) + serviceSeconds(b);
    }

    /** Seconds to this request's first token on {@code b}: {@link #queueSeconds} + {@link #prefillSeconds}. */
    public double firstTokenSeconds(BackendView b) {
        return queueSeconds(b) + prefillSeconds(b);
    }

    /**
     * What sending this request to {@code b} costs, in seconds:
     * {@code service + queueWeight * queue wait + loadWeight * work ahead}.
     */
    public double cost(BackendView b, double queueWeight, double loadWeight) {
        // The three terms of one read of the backend's figures (a pick computes this per candidate).
        BackendSpeed s = b.speed();
        double n = Math.max(0, b.outstanding());
        int c = b.capacity();
        double perSlot = s.typicalServiceSeconds() / c;
        double ahead = n - c + 1;
        return prefill(s) + outputTokens * s.timePerOutputToken() + queueWeight * (ahead <= 0 ? 0 : ahead * perSlot)
                + loadWeight * n * perSlot;
    }

    /**
     * {@link #cost} with the default weights beyond the least it could be, in units of the work
     * ahead: {@code (n / c) * typical / ref + (QUEUE_WEIGHT * queue wait + service - shortest service)
     * / (LOAD_WEIGHT * ref)}, where {@code ref} is the shortest typical service among the candidates.
     * On equally fast backends with free slots it is exactly {@code least-loaded}'s
     * {@code outstanding / capacity}, whatever the request; a queue, or a slower backend, adds what
     * it costs. {@code cache-aware}'s load margins compare it.
     */
    public double relativeLoad(BackendView b) {
        if (Double.isNaN(shortestTypical)) {
            references();
        }
        double l = b.outstanding() / b.capacity() * (b.speed().typicalServiceSeconds() / shortestTypical)
                + (QUEUE_WEIGHT * queueSeconds(b) + serviceSeconds(b) - shortestService) / (LOAD_WEIGHT * shortestTypical);
        return Double.isNaN(l) ? Double.POSITIVE_INFINITY : l;
    }

    /** The outstanding requests' work on {@code b} shared by its slots: {@code n * typical / c} seconds. */
    public static double workAheadSeconds(BackendView b) {
        return Math.max(0, b.outstanding()) * b.speed().typicalServiceSeconds() / b.capacity();
    }

    /** Seconds until {@code b} has a free slot: 0 below capacity, else {@code (n - c + 1) * typical / c}. */
    public static double queueSeconds(BackendView b) {
        double ahead = b.outstanding() - b.capacity() + 1;
        return ahead <= 0 ? 0 : ahead * b.speed().typicalServiceSeconds() / b.capacity();
    }
}
