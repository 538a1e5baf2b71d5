package io.vllmrouter.core;

import io.vllmrouter.api.time.Ticker;

/**
 * The timing of one relayed stream, for the backend's speed estimate: when its first and last
 * chunks arrived and how many there were. Per chunk it reads the clock and writes three fields,
 * whatever the chunk's size: no work per byte, no lock, nothing allocated. When the stream
 * completes it hands its figures to the backend's {@link RelayedSpeed} once.
 *
 * <p>Events are counted as chunks: vLLM flushes each SSE event as it is made (one per engine step
 * and request), so on a router that keeps up each arrives as a chunk of its own. The first event
 * (vLLM's role delta, sent with the first token) marks the first token and the last is
 * {@code [DONE]}: a stream of {@code n} chunks had about {@code n - 1} tokens and {@code n - 2} token
 * gaps between its first chunk and its last. A transport that delivers several events in one
 * chunk makes the answer look shorter and slower; a caller that reads slowly, slower.
 *
 * <p>Threads: {@link #chunk} on the transport's thread delivering the body (one at a time, as the
 * body's subscriber sees them); {@link #completed} on whichever thread ended the body. {@link
 * #chunks} is written last and read first, so the end sees every chunk's figures.
 */
final class StreamTiming {

    private final Ticker ticker;
    private final RelayedSpeed sink;
    private final long sentNanos;
    private final boolean unqueued;
    private final int promptTokens;
    private long firstNanos;
    private long lastNanos;
    private volatile int chunks;

    /**
     * @param sentNanos    when the request was sent ({@link Ticker#nanoTime()})
     * @param unqueued     whether the backend had a free slot for it, so its first-token time is the
     *                     backend's own speed rather than a wait in its queue
     * @param promptTokens the request's estimated prompt tokens
     */
    StreamTiming(Ticker ticker, RelayedSpeed sink, long sentNanos, boolean unqueued, int promptTokens) {
        this.ticker = ticker;
        this.sink = sink;
        this.sentNanos = sentNanos;
        this.unqueued = unqueued;
        this.promptTokens = promptTokens;
    }

    /** The timing of the streamed answer of attempt {@code a}, whose headers just arrived. */
    static StreamTiming of(Attempt a, int promptTokens, Ticker ticker) {
        Backend b = a.backend;
        // The attempt counts itself: it found a slot when at most capacity requests are outstanding.
        boolean unqueued = b.outstanding() <= b.capacity();
        return new StreamTiming(ticker, b.relayedSpeed, a.startNanos, unqueued, promptTokens);
    }

    /** A chunk of the body arrived. */
    void chunk() {
        long now = ticker.nanoTime();
        int n = chunks;
        if (n == 0) {
            firstNanos = now;
        }
        lastNanos = now;
        chunks = n + 1;
    }

    /** Nanoseconds since the last chunk arrived, or since the request was sent when none has. */
    long silentNanos() {
        int n = chunks; // read first: the chunk's time was written before it
        return ticker.nanoTime() - (n == 0 ? sentNanos : lastNanos);
    }

    /** The body reached its end normally: its figures go to the backend's estimate. */
    void completed() {
        int n = chunks;
        if (n == 0) {
            return;
        }
        long first = firstNanos;
        long last = lastNanos;
        sink.stream(unqueued ? Math.max(0, first - sentNanos) : -1, promptTokens, last - first, Math.max(0, n - 2),
                Math.max(1, n - 1));
    }
}
