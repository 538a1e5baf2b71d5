package io.vllmrouter.examples.sim;

/**
 * One request inside a {@link BatchEngine}. The engine thread advances it; any thread may read its
 * volatile progress and ask for an abort. Subclasses hear of progress through {@link #onProgress()}
 * (the HTTP simulator wakes the handler thread that writes the events; the benchmark records times).
 */
public class Sequence {

    public static final int WAITING = 0;
    public static final int RUNNING = 1;
    public static final int FINISHED = 2;
    public static final int ABORTED = 3;

    private final int promptTokens;
    private final int outputTokens;
    private final long[] prefixBlocks;
    private final int[] tokenIds;
    private final double arrivalMs;
    private final String finishReason;

    // Written by the engine thread only.
    double prefillLeftMs;
    double decodeCarryMs;
    int cachedTokens;
    /** Blocks of its chain cached (hit or stored: vLLM's num_cached_block), and reported so far ({@link PrefixCache}). */
    int cachedBlocks;
    int reportedBlocks;
    /** Prompt tokens scheduled for prefill so far (chunk by chunk), and the prefill's length when admitted. */
    int scheduledTokens;
    double prefillTotalMs;
    /** Simulated time the engine admitted it to the batch. */
    double admittedMs = Double.NaN;
    private volatile int produced;
    private volatile int state = WAITING;
    private volatile double firstTokenMs = Double.NaN;
    private volatile double finishMs = Double.NaN;
    private volatile boolean abortRequested;

    /**
     * @param promptTokens  prompt length in tokens, {@code >= 1}
     * @param outputTokens  tokens to generate, {@code >= 1}
     * @param prefixBlocks  chained hashes of the prompt's whole blocks for the prefix cache, or null; past
     *                      the prompt, of the blocks its answer will fill (cached as they fill), when known
     * @param arrivalMs     simulated time the request arrived
     * @param finishReason  what the request ends with when it completes: "stop" or "length"
     */
    public Sequence(int promptTokens, int outputTokens, long[] prefixBlocks, double arrivalMs, String finishReason) {
        this(promptTokens, outputTokens, prefixBlocks, null, arrivalMs, finishReason);
    }

    /**
     * @param tokenIds the prompt's token ids, then those of its answer when known (for the KV-cache events
     *                 of its blocks), or null
     * @see #Sequence(int, int, long[], double, String)
     */
    public Sequence(int promptTokens, int outputTokens, long[] prefixBlocks, int[] tokenIds, double arrivalMs,
                    String finishReason) {
        if (promptTokens < 1) {
            throw new IllegalArgumentException("promptTokens: " + promptTokens + " (expected: >= 1)");
        }
        if (outputTokens < 1) {
            throw new IllegalArgumentException("outputTokens: " + outputTokens + " (expected: >= 1)");
        }
        this.promptTokens = promptTokens;
        this.outputTokens = outputTokens;
        this.prefixBlocks = prefixBlocks;
        this.tokenIds = tokenIds;
        this.arrivalMs = arrivalMs;
        this.finishReason = finishReason;
    }

    /** Called on the engine thread after tokens were produced or the state changed. Keep it short. */
    protected void onProgress() {
    }

    /** Asks the engine to drop this sequence (client went away); takes effect at its next step. */
    public void requestAbort() {
        abortRequested = true;
    }

    public int promptTokens() { return promptTokens; }
    public int outputTokens() { return outputTokens; }
    long[] prefixBlocks() { return prefixBlocks; }
    /** The prompt's token ids (then its answer's, when known), or null when not given. */
    int[] tokenIds() { return tokenIds; }
    public double arrivalMs() { return arrivalMs; }
    public String finishReason() { return finishReason; }
    /** Prompt tokens found in the prefix cache at admission. */
    public int cachedTokens() { return cachedTokens; }
    /** Tokens generated so far. */
    public int produced() { return produced; }
    public int state() { return state; }
    /** Whether the sequence finished or was aborted. */
    public boolean done() { return state >= FINISHED; }
    public boolean abortRequested() { return abortRequested; }
    /** Simulated time of the first token, NaN before it. */
    public double firstTokenMs() { return firstTokenMs; }
    /** Simulated time of the last token (or of the abort), NaN before it. */
    public double finishMs() { return finishMs; }

    void setProduced(int n) { produced = n; }
    void setState(int s) { state = s; }
    void setFirstTokenMs(double t) { firstTokenMs = t; }
    void setFinishMs(double t) { finishMs = t; }
}
