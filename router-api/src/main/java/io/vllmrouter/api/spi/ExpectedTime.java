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
 * double seconds = t.completionSeconds(backend);   // work ahead of it + its own service time
 * }</pre>
 *
 * <p>For a backend {@code b} with {@code c} slots ({@link BackendView#capacity()}) and {@code n}
 * requests outstanding ({@link BackendView#outstanding()}, running and waiting):
 * <ul>
 *   <li><b>service</b>: this request's own time there, {@code prefill + out * tpot}, where prefill is
 *       {@code promptTokens * prefillPerToken} when the backend publishes its prefill rate and the
 *       size is known, else its time to first token, and {@code out} is {@link #outputTokens()};</li>
 *   <li><b>work ahead</b>: {@code n * typical / c}, the outstanding requests' work in that backend's
 *       own time ({@link BackendSpeed#typicalServiceSeconds()} each) shared by its slots. It counts
 *       a running request as a whole one, so a half-full batch already weighs: among equally fast
 *       backends the ranking is {@code least-loaded}'s;</li>
 *   <li><b>completion</b> = work ahead + service;</li>
 *   <li><b>queue wait</b>: the time until a slot frees, 0 while {@code n < c}, else
 *       {@code (n - c + 1) * typical / c}; <b>first token</b> = queue wait + prefill.</li>
 * </ul>
 * The work-ahead term is deliberately not the queue wait: ranking by each request's own earliest
 * finish fills the fastest backend's queue until it is as slow as the next one, which every later
 * request then pays; counting the work already there keeps queues short and sends the overflow
 * where it finishes soonest.
 *
 * <p>Stateless apart from the request's figures; no I/O, no lock; reads each backend's live figures.
 */
public final class ExpectedTime {

    private final RequestSize size;
    private final double outputTokens;
    private final double reference;

    private ExpectedTime(RequestSize size, double outputTokens, List<? extends BackendView> candidates) {
        this.size = size;
        this.outputTokens = outputTokens;
        double ref = Double.POSITIVE_INFINITY;
        for (int i = 0, n = candidates.size(); i < n; i++) {
            ref = Math.min(ref, serviceSeconds(candidates.get(i)));
        }
        this.reference = ref > 0 && ref < Double.POSITIVE_INFINITY ? ref : 1.0;
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
        BackendSpeed s = b.speed();
        double perToken = s.prefillPerToken();
        if (size.promptTokens() > 0 && perToken > 0) {
            return size.promptTokens() * perToken;
        }
        return s.timeToFirstToken();
    }

    /** Seconds this request holds a slot on {@code b}: prefill, then its answer at {@code b}'s speed. */
    public double serviceSeconds(BackendView b) {
        return prefillSeconds(b) + outputTokens * b.speed().timePerOutputToken();
    }

    /** Seconds to this request's last token on {@code b}: {@link #workAheadSeconds} + {@link #serviceSeconds}. */
    public double completionSeconds(BackendView b) {
        return workAheadSeconds(b) + serviceSeconds(b);
    }

    /** Seconds to this request's first token on {@code b}: {@link #queueSeconds} + {@link #prefillSeconds}. */
    public double firstTokenSeconds(BackendView b) {
        return queueSeconds(b) + prefillSeconds(b);
    }

    /**
     * {@link #completionSeconds} beyond the shortest service time among the candidates, in units of
     * that service time: {@code (n / c) * typical / ref + (service - ref) / ref}. On equally fast
     * backends it is exactly {@code least-loaded}'s {@code outstanding / capacity}; a slower backend
     * adds what its slowness costs this request.
     */
    public double relativeLoad(BackendView b) {
        double l = b.outstanding() / b.capacity() * (b.speed().typicalServiceSeconds() / reference)
                + (serviceSeconds(b) - reference) / reference;
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
