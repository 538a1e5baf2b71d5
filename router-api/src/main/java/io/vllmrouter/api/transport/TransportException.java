package io.vllmrouter.api.transport;

import java.io.IOException;
import java.util.Objects;

/**
 * Why a {@link Transport} could not deliver a response. The router decides on the {@link #kind()}
 * alone, so transports over different libraries behave the same:
 *
 * <ul>
 *   <li>{@link Kind#CONNECT}, {@link Kind#RESET}, {@link Kind#PROTOCOL}: a failure held against the
 *       backend; the request is tried on another backend (nothing reached the caller yet);
 *   <li>{@link Kind#TIMEOUT}: no headers in time. Before the request's deadline (the
 *       {@code first_byte_timeout} passed) the call is given up and tried on another backend; at
 *       the deadline the caller gets 504.
 * </ul>
 */
public final class TransportException extends IOException {

    private static final long serialVersionUID = 1L;

    /** What went wrong, and how far the request got. */
    public enum Kind {
        /** No connection (refused, unreachable, connect timeout, TLS handshake failed): nothing was sent. */
        CONNECT,
        /** The connection closed or was reset after the request was (perhaps partly) sent, before the headers. */
        RESET,
        /** No response in time (the router's timeout, or a transport's own connect timeout). */
        TIMEOUT,
        /** The backend's answer was not valid HTTP. */
        PROTOCOL
    }

    private final Kind kind;

    public TransportException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = Objects.requireNonNull(kind, "kind");
    }

    public Kind kind() {
        return kind;
    }

    /** Whether the backend cannot have seen the request, so any method is safe to send again. */
    public boolean nothingSent() {
        return kind == Kind.CONNECT;
    }

    @Override
    public String getMessage() {
        return kind + ": " + super.getMessage();
    }

    /**
     * A failure in words for people (health reasons in {@code /load-stats}, retry reasons, error
     * messages): what happened and the detail the JDK gave, never an exception class name, e.g.
     * {@code "connection refused"}, {@code "unknown host: gpu-7"}, {@code "timed out"}.
     */
    public static String describe(Throwable t) {
        if (t instanceof TransportException) {
            return t.getMessage();
        }
        String what;
        if (t instanceof java.net.http.HttpConnectTimeoutException) {
            what = "connect timed out";
        } else if (t instanceof java.net.http.HttpTimeoutException || t instanceof java.net.SocketTimeoutException
                || t instanceof java.util.concurrent.TimeoutException) {
            what = "timed out";
        } else if (t instanceof java.net.ConnectException) {
            what = "connection refused";
        } else if (t instanceof java.net.UnknownHostException) {
            what = "unknown host";
        } else if (t instanceof java.net.NoRouteToHostException) {
            what = "no route to host";
        } else if (t instanceof javax.net.ssl.SSLException) {
            what = "TLS failed";
        } else if (t instanceof java.io.EOFException || t instanceof java.nio.channels.ClosedChannelException) {
            what = "connection closed";
        } else if (t instanceof java.util.concurrent.CancellationException) {
            what = "cancelled";
        } else if (t instanceof IOException) {
            what = "I/O error";
        } else {
            what = "unexpected failure";
        }
        String m = t.getMessage();
        if (m == null || m.isBlank()) {
            return what;
        }
        return m.toLowerCase(java.util.Locale.ROOT).contains(what) ? m : what + ": " + m;
    }
}
