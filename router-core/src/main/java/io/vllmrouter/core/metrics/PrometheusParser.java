package io.vllmrouter.core.metrics;

/** CONTRACT STUB: implemented by the metrics work (issue 2, item 5). */
public final class PrometheusParser {

    private PrometheusParser() {
    }

    /**
     * Reads the load figures from Prometheus text format 0.0.4.
     *
     * @throws MetricsFormatException when the text is not valid exposition format
     */
    public static LoadMetrics parseLoad(CharSequence text) throws MetricsFormatException {
        throw new UnsupportedOperationException("not implemented yet");
    }
}
