package io.vllmrouter.core.metrics;

/** A {@code /metrics} page that is not valid Prometheus text format; the message names the line. */
public final class MetricsFormatException extends Exception {

    private static final long serialVersionUID = 1L;

    private final int line;

    public MetricsFormatException(int line, String message) {
        super("line " + line + ": " + message);
        this.line = line;
    }

    /** 1-based line number of the problem. */
    public int line() {
        return line;
    }
}
