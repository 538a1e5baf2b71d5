package io.vllmrouter.examples.server.exchange;

import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.vllmrouter.examples.server.ProxyContext;


/**
 * One request and its answer, as it goes down the front door's pipeline: the head's checks
 * ({@link RequestHead}), where it goes ({@link Routes}), who may send it ({@link AccessGuard}), its
 * body ({@link BodyAggregator}), and the answer ({@link Dispatch}). Each handler adds what it
 * decided; the first {@link Refusal} stands, and the answer comes once the body has been read.
 *
 * <p>It holds resources until {@link #end()}: its share of the body-memory budget and its key's
 * concurrency slot, and it counts as in flight for a stop's drain. Touched only on its channel's
 * event loop.
 */
public final class ProxyExchange {

    /** Why the request is refused: the proxy's own answer instead of forwarding. */
    record Refusal(int status, String type, String code, String message, int retryAfterSeconds, String allow,
                   boolean challenge, boolean close) {

        Refusal(int status, String type, String code, String message) {
            this(status, type, code, message, -1, null, false, false);
        }

        Refusal closing() {
            return new Refusal(status, type, code, message, retryAfterSeconds, allow, challenge, true);
        }

        FullHttpResponse response() {
            FullHttpResponse r = Responses.error(status, type, code, message, retryAfterSeconds);
            if (allow != null) {
                r.headers().set(HttpHeaderNames.ALLOW, allow);
            }
            if (challenge) {
                r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer");
            }
            return close ? Responses.closing(r) : r;
        }
    }

    private static final byte[] EMPTY = new byte[0];

    final ProxyContext context;
    final HttpRequest head;
    final String method;
    /** The path as received (still percent-encoded): what is forwarded. */
    final String rawPath;
    /** The path as a backend decodes it: what every rule compares. Null when the path was refused. */
    final String path;
    /** The query after {@code ?}, or null. */
    final String query;

    Routes.Route route;
    /** The route is known and takes the request's method: looked up once, read by several steps. */
    boolean methodAllowed;
    Refusal refusal;
    /** The client key's digest when one was presented and matched. */
    String keyId;
    boolean holdsKeySlot;

    /** The body as read so far ({@link #length} bytes of it), for a forwarded request. */
    byte[] body = EMPTY;
    int length;
    long reserved;
    /** All of the body arrived (or was dropped). */
    boolean complete;

    /** Undoes what the answer has started (a routing in flight, a relay): called when the client leaves. */
    Runnable onAbort;
    private boolean ended;

    ProxyExchange(ProxyContext context, HttpRequest head, String rawPath, String path, String query) {
        this.context = context;
        this.head = head;
        HttpMethod m = head.method();
        // As sent: methods are case-sensitive (RFC 9110), and the codec frames an answer by the exact
        // name ("head" is not HEAD to it, so it must not be to the routes either).
        this.method = m == HttpMethod.POST ? "POST" : m == HttpMethod.GET ? "GET" : m.name();
        this.rawPath = rawPath;
        this.path = path;
        this.query = query;
        context.exchangeStarted();
    }

    /** Refuses unless refused already: the first refusal stands. */
    void refuse(Refusal r) {
        if (refusal == null) {
            refusal = r;
        }
    }

    boolean forwarded() {
        return refusal == null && route != null && route.forward();
    }

    boolean ended() {
        return ended;
    }

    /** The answer was handed to the connection (or cannot be): resources go back, once. */
    void end() {
        if (ended) {
            return;
        }
        ended = true;
        releaseBody();
        if (holdsKeySlot) {
            holdsKeySlot = false;
            context.keyLimits().release(keyId);
        }
        context.exchangeEnded();
    }

    /** The client left before the answer ended. */
    void abort() {
        Runnable r = onAbort;
        onAbort = null;
        if (r != null) {
            r.run();
        }
        end();
    }

    void releaseBody() {
        body = EMPTY;
        if (reserved > 0) {
            context.releaseBody(reserved);
            reserved = 0;
        }
    }

    @Override
    public String toString() {
        return method + " " + rawPath;
    }
}
