package io.vllmrouter.core.transport;

import java.util.concurrent.CompletableFuture;

/**
 * Moves one request's bytes to a backend and the response back: the only part of forwarding that
 * knows a network library. Everything else — picking, retries, breakers, deadlines, accounting,
 * listener events, error shapes — lives in the router, once, for every transport.
 *
 * <pre>{@code
 * Transport transport = JdkHttpTransport.create(Duration.ofSeconds(5));
 * VllmRouter router = VllmRouters.builder().config(config).transport(transport).build();
 * }</pre>
 *
 * <p>Contract:
 * <ul>
 *   <li>{@link #send} never blocks and never throws; it may be called from any thread, many at once.
 *   <li>The future completes when the status and headers arrived, on a thread of the transport's
 *       choosing (dependants must not block), or fails with a {@link TransportException} whose
 *       {@link TransportException.Kind kind} says what happened before the headers: the router
 *       retries on its kind alone.
 *   <li>{@code request.responseTimeout()} bounds the time until the headers: when it passes, the
 *       future fails with {@link TransportException.Kind#TIMEOUT} and the request is aborted.
 *   <li>Cancelling the future before it completes aborts the request.
 *   <li>The response body is subscribed at most once; bytes flow only as the subscriber asks
 *       ({@code request(n)}), and {@code cancel()} aborts the upstream request (the backend stops
 *       generating).
 * </ul>
 */
public interface Transport extends AutoCloseable {

    /** Sends {@code request}; see the class contract. */
    CompletableFuture<UpstreamResponse> send(UpstreamRequest request);

    /** Releases what the transport owns (connections, threads). Idempotent; never throws. */
    @Override
    void close();
}
