package io.vllmrouter.core;

import java.util.concurrent.atomic.LongAdder;

/**
 * What the streams this router relayed from one backend showed of its speed, summed since the
 * backend joined: the request threads' half of the speed estimate. Each completed stream adds its
 * figures once ({@link StreamTiming}); the fleet's owner takes what was added since its last look
 * at each scrape round ({@link #drain}) and folds it into the backend's {@link SpeedEstimate}.
 *
 * <p>Threads: {@link #stream} on any request thread, lock-free; {@link #drain} in the fleet's context.
 */
final class RelayedSpeed {

    /** Figures added between two drains; times in seconds. */
    record Delta(double firstTokenSeconds, long firstTokens, long promptTokens, double decodeSeconds, long tokenGaps,
                 long outputTokens, long streams) {
    }

    private final LongAdder firstTokenNanos = new LongAdder();
    private final LongAdder firstTokens = new LongAdder();
    private final LongAdder promptTokens = new LongAdder();
    private final LongAdder decodeNanos = new LongAdder();
    private final LongAdder tokenGaps = new LongAdder();
    private final LongAdder outputTokens = new LongAdder();
    private final LongAdder streams = new LongAdder();
    /** The sums at the last drain, in the order of the adders above. Fleet context only. */
    private final long[] drained = new long[7];

    /**
     * One completed stream.
     *
     * @param firstTokenNanos time from sending to the first event, or -1 when the request may have
     *                        waited for a slot (it then says nothing of the backend's own speed)
     * @param promptTokens    the request's estimated prompt tokens, counted with the first-token time
     * @param decodeNanos     time from the first event to the last
     * @param tokenGaps       token gaps in that time (0: too short to tell)
     * @param outputTokens    the answer's estimated length in tokens
     */
    void stream(long firstTokenNanos, int promptTokens, long decodeNanos, int tokenGaps, int outputTokens) {
        if (firstTokenNanos >= 0) {
            this.firstTokenNanos.add(firstTokenNanos);
            this.firstTokens.increment();
            this.promptTokens.add(promptTokens);
        }
        if (tokenGaps > 0 && decodeNanos >= 0) {
            this.decodeNanos.add(decodeNanos);
            this.tokenGaps.add(tokenGaps);
        }
        this.outputTokens.add(outputTokens);
        this.streams.increment();
    }

    /** What was added since the last drain. Fleet context only. */
    Delta drain() {
        long[] now = {firstTokenNanos.sum(), firstTokens.sum(), promptTokens.sum(), decodeNanos.sum(), tokenGaps.sum(),
                outputTokens.sum(), streams.sum()};
        long[] d = new long[now.length];
        for (int i = 0; i < now.length; i++) {
            d[i] = now[i] - drained[i];
            drained[i] = now[i];
        }
        return new Delta(d[0] / 1e9, d[1], d[2], d[3] / 1e9, d[4], d[5], d[6]);
    }
}
