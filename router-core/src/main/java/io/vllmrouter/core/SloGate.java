package io.vllmrouter.core;

import io.vllmrouter.api.BackendsBusyException;
import io.vllmrouter.api.InvalidRequestException;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.spi.ExpectedTime;
import io.vllmrouter.api.spi.RequestSize;
import io.vllmrouter.core.config.TtftSlo;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The time-to-first-token objective ({@link TtftSlo}): which candidates are expected to meet a
 * request's objective, before the strategy picks among them. The expectation is
 * {@link ExpectedTime#firstTokenSeconds}: the wait for a batch slot plus the prefill, from the
 * backends' speed estimates and live load. When no candidate is expected to meet it, the request
 * gets 429 with {@code Retry-After}: the time until the soonest one would, in whole seconds.
 *
 * <p>Stateless; called on request threads; allocates only when some candidate is left out.
 */
final class SloGate {

    /** Longest objective a header may ask for, in milliseconds (one day). */
    static final long MAX_HEADER_MILLIS = 86_400_000L;
    /** A header's value: decimal milliseconds, such as {@code 500} or {@code 250.5}. */
    private static final java.util.regex.Pattern MILLIS = java.util.regex.Pattern.compile("[0-9]{1,12}(\\.[0-9]{1,9})?");

    private SloGate() {
    }

    /**
     * The request's objective in seconds: the client's header (milliseconds) when {@code slo} names
     * one and the request carries it, else its model's configured objective; NaN when it has none.
     *
     * @throws InvalidRequestException when the header is not a number of milliseconds in range
     */
    static double objective(RouterRequest request, String model, TtftSlo slo) {
        if (!slo.header().isEmpty()) {
            String v = request.header(slo.header());
            if (v != null) {
                String text = v.strip();
                double ms = MILLIS.matcher(text).matches() ? Double.parseDouble(text) : Double.NaN;
                if (!(ms > 0 && ms <= MAX_HEADER_MILLIS)) {
                    throw new InvalidRequestException(slo.header() + ": " + (text.length() > 40 ? text.substring(0, 40) + "..." : text)
                            + " (expected: the time-to-first-token objective in milliseconds, a number > 0 and <= "
                            + MAX_HEADER_MILLIS + ")", null);
                }
                return ms / 1000;
            }
        }
        Duration d = slo.forModel(model);
        return d == null ? Double.NaN : d.toNanos() / 1e9;
    }

    /**
     * The candidates expected to give a request of {@code size} its first token within
     * {@code objective} seconds, in their order ({@code candidates} itself when all are).
     *
     * @throws BackendsBusyException (429) when none is
     */
    static List<Backend> meeting(List<Backend> candidates, RequestSize size, double objective, String model,
                                 Snapshot snap) {
        ExpectedTime t = ExpectedTime.of(size, candidates);
        List<Backend> kept = null;
        double soonest = Double.POSITIVE_INFINITY;
        for (int i = 0, n = candidates.size(); i < n; i++) {
            Backend b = candidates.get(i);
            double ttft = t.firstTokenSeconds(b);
            soonest = Math.min(soonest, ttft);
            boolean meets = ttft <= objective;
            if (kept == null && !meets) {
                kept = new ArrayList<>(candidates.subList(0, i));
            } else if (kept != null && meets) {
                kept.add(b);
            }
        }
        if (kept == null) {
            return candidates;
        }
        if (kept.isEmpty()) {
            int retryAfter = (int) Math.max(1, Math.min(3600, Math.ceil(soonest - objective)));
            throw new BackendsBusyException(model, String.format(Locale.ROOT,
                    "none is expected to give the first token within the objective of %.0f ms (the soonest: %.0f ms);",
                    objective * 1000, soonest * 1000), snap.total, snap.healthy, snap.open, retryAfter);
        }
        return kept;
    }
}
