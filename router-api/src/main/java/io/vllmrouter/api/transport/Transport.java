package io.vllmrouter.api.transport;

import java.util.concurrent.CompletableFuture;

/**
 * Moves one request's bytes to a backend and the response back: the only part of forwarding that
 * knows a network library. Everything else — picking, retries, breakers, deadlines, accounting,
 * listener events, error shapes — lives in the router, once, for every transport.
 *
 * <p>The router ships one over {@code java.net.http} ({@code JdkHttpTransport} in router-core); the
 * standalone proxy brings one on Netty. A host plugs its own in with the router's builder, depending
 * on this API alone:
 *
 * <pre>{@code
 * VllmRouter router = VllmRouters.builder().config(config).transport(myTransport).build();
 * }</pre>
 *
 * <p>Contract:
 * <ul>
 *   <li>{@link #send} never blocks and never throws; it may be called from any thread, many at once.
 *   <li>The future completes when the status and headers arrived, on a thread of the transport's
 *       choosing (dependants must not block), or fails with a {@link TransportException} whose
 *       {@link TransportException.Kind kind} says what happened before the headers: the router
 *       retries on its kind alone.
 *   <li>A transport keeps no timer of its own on the response (the router's timers decide when to
 *       give up, and cancel the future); a connect timeout is the transport's.
 *   <li>Cancelling the future before it completes aborts the request.
 *   <li>A transport never sends a request a second time on its own, except when it provably never
 *       reached the backend (a pooled connection found closed before any byte of the request was
 *       written): every other resend is the router's, under its retry policy.
 *   <li>The response body is subscribed at most once; bytes flow only as the subscriber asks
 *       ({@code request(n)}), each {@link io.vllmrouter.api.BodyChunk} becoming the subscriber's, and
 *       {@code cancel()} aborts the upstream request (the backend stops generating).
 * </ul>
 */
public interface Transport extends AutoCloseable {

    /** Sends {@code request}; see the class contract. */
    CompletableFuture<UpstreamResponse> send(UpstreamRequest request);

    /** Releases what the transport owns (connections, threads). Idempotent; never throws. */
    @Override
    void close();
}
