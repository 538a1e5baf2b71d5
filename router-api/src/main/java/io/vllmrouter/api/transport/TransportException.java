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
     * {@code "connection refused"}, {@code "unknown host: gpu-7"}, {@code "connect timed out"},
     * {@code "TLS handshake failed: ..."}. The causes are searched too: the JDK's client reports an
     * unknown host as a {@code ConnectException} caused by an unresolved address, which must not
     * read as "connection refused".
     */
    public static String describe(Throwable t) {
        if (t instanceof TransportException) {
            return t.getMessage();
        }
        String what = null;
        Throwable detail = t;
        for (Throwable c = t; c != null && what == null; c = c.getCause() == c ? null : c.getCause()) {
            what = specific(c);
            detail = c;
        }
        if (what == null) {
            what = general(t);
            detail = t;
        }
        if (what.equals(RESET)) {
            return what;          // the system's words for it (and a native call's name) add nothing
        }
        String m = detail.getMessage();
        if (m == null || m.isBlank() || m.contains("Exception") || m.contains("java.")) {
            m = detail == t ? null : t.getMessage();
        }
        if (m == null || m.isBlank() || m.contains("Exception") || m.contains("java.")) {
            return what;
        }
        return m.toLowerCase(java.util.Locale.ROOT).contains(what) ? m : what + ": " + m;
    }

    private static final String RESET = "connection reset by the server";

    /** A failure that names its cause plainly wherever it is in the chain, or null. */
    private static String specific(Throwable t) {
        if (t instanceof java.net.UnknownHostException || t instanceof java.nio.channels.UnresolvedAddressException) {
            return "unknown host";
        }
        if (t instanceof javax.net.ssl.SSLException) {
            return "TLS handshake failed";
        }
        if (t instanceof java.net.http.HttpConnectTimeoutException
                || (t instanceof java.net.ConnectException && t.getClass().getSimpleName().contains("Timeout"))) {
            return "connect timed out";   // Netty's ConnectTimeoutException is a ConnectException
        }
        if (t instanceof java.net.NoRouteToHostException) {
            return "no route to host";
        }
        if (t instanceof IOException && t.getMessage() != null
                && t.getMessage().toLowerCase(java.util.Locale.ROOT).contains("connection reset")) {
            return RESET;         // the JDK's "Connection reset", Netty's "recvAddress(..) failed with error(-104): ..."
        }
        return null;
    }

    private static String general(Throwable t) {
        if (t instanceof java.net.http.HttpTimeoutException || t instanceof java.net.SocketTimeoutException
                || t instanceof java.util.concurrent.TimeoutException) {
            return "timed out";
        }
        if (t instanceof java.net.ConnectException) {
            return "connection refused";
        }
        if (t instanceof java.io.EOFException || t instanceof java.nio.channels.ClosedChannelException) {
            return "connection closed";
        }
        if (t instanceof java.util.concurrent.CancellationException) {
            return "cancelled";
        }
        return t instanceof IOException ? "I/O error" : "unexpected failure";
    }
}
