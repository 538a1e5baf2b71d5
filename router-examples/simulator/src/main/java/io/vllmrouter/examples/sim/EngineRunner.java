package io.vllmrouter.examples.sim;

import java.io.IOException;
import java.util.Arrays;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * The simulator's {@link BatchEngine} on a thread of its own, in simulated time (wall time times
 * {@link SimConfig#timeScale()}). Handler threads submit sequences ({@link #submit}) and wait for
 * their progress ({@link #awaitChange}, {@link #progress}); the engine thread takes them in, steps
 * the batch, publishes the step's KV-cache events, and wakes whoever waits on the simulator's state.
 *
 * <pre>{@code
 * EngineRunner runner = new EngineRunner(config, kvEvents, histograms, sim::stateChanged);
 * runner.start();
 * Sequence seq = runner.submit(promptTokens, promptIds, text, 16, "length");   // on the handler thread
 * runner.awaitChange(seq, 0);
 * EngineRunner.Progress p = runner.progress(seq);
 * }</pre>
 *
 * <p>Threads: the engine thread alone touches the {@link BatchEngine}'s batch; it parks when idle and
 * is woken by a submit. A sequence wakes the handler thread that submitted it at each step that
 * produced for it. The prefix cache is reset on the engine thread, which owns it.
 */
final class EngineRunner {

    private static final System.Logger LOG = System.getLogger(EngineRunner.class.getName());
    private static final AtomicInteger INSTANCES = new AtomicInteger();
    /** How long a waiting handler sleeps at most between looks, should a wake-up be missed. */
    private static final long PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private final SimConfig config;
    private final BatchEngine engine;
    private final SimKvEvents kvEvents;
    private final Runnable stepped;
    private final ConcurrentLinkedQueue<Sequence> inbox = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean resetPrefixCache = new AtomicBoolean();
    private final Thread thread;
    private final long startNanos = System.nanoTime();
    private final long tickNanos;
    private volatile boolean stopped;

    /**
     * @param kvEvents   hears the prefix cache's blocks, published after each step; makes the prompts' block hashes
     * @param histograms the latency histograms the engine fills, for {@code /metrics}
     * @param stepped    called on the engine thread after each step: the simulator's state may have changed
     */
    EngineRunner(SimConfig config, SimKvEvents kvEvents, LatencyHistograms histograms, Runnable stepped) {
        this.config = config;
        this.kvEvents = kvEvents;
        this.stepped = stepped;
        this.engine = new BatchEngine(config.serviceModel(), config.maxNumSeqs(), config.kvCacheBlocks(),
                config.prefixCache() ? config.prefixCacheBlocks() : 0, config.stepMs(), config.sharedPrefill());
        engine.cacheListener(kvEvents);
        engine.histograms(histograms);
        engine.drift(config.drift(), 0);
        double wallStepMs = config.stepMs() / config.timeScale();
        this.tickNanos = (long) (Math.max(0.2, Math.min(20, wallStepMs)) * 1_000_000);
        this.thread = new Thread(this::loop, "sim-vllm-engine-" + INSTANCES.incrementAndGet());
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** The engine, for its figures; only the engine thread may change it. */
    BatchEngine engine() {
        return engine;
    }

    /** Simulated milliseconds since start. */
    double nowMs() {
        return (System.nanoTime() - startNanos) / 1e6 * config.timeScale();
    }

    /** Whether {@link #stop} has run: no sequence will progress any more. */
    boolean stopped() {
        return stopped;
    }

    /** Empties the prefix cache at the engine's next step (vLLM's {@code POST /reset_prefix_cache}). */
    void resetPrefixCache() {
        resetPrefixCache.set(true);
        LockSupport.unpark(thread);
    }

    /**
     * Submits a request arriving now, on the handler thread that will wait for it: {@code output}
     * tokens after the prompt {@code promptIds} ({@code promptTokens} long), ending with {@code reason}.
     * With the prefix cache on, its blocks are those of the prompt followed by the answer {@code text}
     * is about to write: the cache caches an answer's blocks as they fill, as vLLM does.
     */
    Sequence submit(int promptTokens, int[] promptIds, TokenText text, int output, String reason) {
        int[] tokens = config.prefixCache() ? withAnswer(promptIds, text, output) : promptIds;
        long[] prefix = config.prefixCache() ? kvEvents.hashes(tokens) : null;
        Sequence seq = new HandlerSequence(promptTokens, output, prefix, tokens, nowMs(), reason);
        inbox.add(seq);
        LockSupport.unpark(thread);
        return seq;
    }

    private static int[] withAnswer(int[] prompt, TokenText text, int outputTokens) {
        int[] answer = text.ids(outputTokens);
        int[] all = Arrays.copyOf(prompt, prompt.length + answer.length);
        System.arraycopy(answer, 0, all, prompt.length, answer.length);
        return all;
    }

    /** Waits, on the thread that submitted {@code s}, until it has produced more than {@code seen} tokens or ended. */
    void awaitChange(Sequence s, int seen) {
        while (s.produced() <= seen && !s.done() && !stopped) {
            LockSupport.parkNanos(s, PARK_NANOS);
        }
    }

    /** Where {@code s} stands now, as a writer must read it. */
    Progress progress(Sequence s) {
        return Progress.of(s, stopped);
    }

    /**
     * A writer's view of its sequence: the tokens produced, whether none will follow them (the
     * sequence is done or the simulator closing), and whether it completed.
     *
     * <p>The engine stores a sequence's count before the state that ends it, so {@link #of} reads
     * the state first: a sequence seen done then has its final count. Read the other way round,
     * the engine can finish between the two reads and the writer ends the stream, {@code [DONE]}
     * and all, with tokens unwritten.
     */
    record Progress(int produced, boolean ended, boolean finished) {
        static Progress of(Sequence s, boolean closed) {
            int state = s.state();
            return new Progress(s.produced(), state >= Sequence.FINISHED || closed, state == Sequence.FINISHED);
        }
    }

    /** What a generation run for an endpoint hears, token by token. */
    interface TokenSink {
        /** The text of the next token; an IOException (the client went away) aborts the sequence. */
        void token(String text) throws IOException;
    }

    /**
     * Runs one generation on the calling handler thread, for endpoints that write their own answers
     * (the Responses API, audio uploads): {@code maxTokens} (or the default output length when 0)
     * after a prompt of {@code promptTokens}, each token's text handed to {@code sink} as the engine
     * produces it. Returns the sequence, finished, or aborted when the simulator closed or
     * {@code abort} was set.
     */
    Sequence generate(String prompt, int promptTokens, int maxTokens, long seed, TokenSink sink, BooleanSupplier abort)
            throws IOException {
        int room = Math.max(1, config.maxModelLen() - promptTokens);
        int output = maxTokens > 0 ? Math.min(maxTokens, room) : Math.min(config.defaultOutputTokens(), room);
        String reason = maxTokens > 0 || output < config.defaultOutputTokens() ? "length" : "stop";
        TokenText text = new TokenText(config.seed(), prompt, seed);
        Sequence seq = submit(promptTokens, SimTokenizer.encode(prompt), text, output, reason);
        int written = 0;
        try {
            while (true) {
                awaitChange(seq, written);
                Progress progress = progress(seq);
                for (; written < progress.produced(); written++) {
                    sink.token(text.next());
                }
                if (abort.getAsBoolean() && !progress.ended()) {
                    seq.requestAbort();
                }
                if (progress.ended()) {
                    return seq;
                }
            }
        } catch (IOException e) {
            seq.requestAbort();
            throw e;
        }
    }

    /** Stops stepping: sequences still in the batch or the inbox are aborted by the engine thread as it ends. */
    void stop() {
        stopped = true;
        LockSupport.unpark(thread);
    }

    /** Waits for the engine thread to end, at most {@code millis}. */
    void join(long millis) {
        try {
            thread.join(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void loop() {
        try {
            while (!stopped) {
                Sequence s;
                while ((s = inbox.poll()) != null) {
                    engine.submit(s);
                }
                if (resetPrefixCache.getAndSet(false)) {
                    engine.resetPrefixCache();
                }
                engine.advanceTo(nowMs());
                kvEvents.flush();
                stepped.run();
                if (engine.idle() && inbox.isEmpty()) {
                    LockSupport.park(this);
                } else {
                    LockSupport.parkNanos(this, tickNanos);
                }
            }
        } catch (RuntimeException | Error e) {
            LOG.log(System.Logger.Level.ERROR, "simulator engine failed", e);
        } finally {
            Sequence s;
            while ((s = inbox.poll()) != null) {
                engine.submit(s);
            }
            engine.abortAll();
        }
    }

    /** A sequence whose progress wakes the handler thread that made it (and writes its answer). */
    private static final class HandlerSequence extends Sequence {
        private final Thread writer = Thread.currentThread();

        HandlerSequence(int prompt, int output, long[] prefix, int[] ids, double arrival, String reason) {
            super(prompt, output, prefix, ids, arrival, reason);
        }

        @Override
        protected void onProgress() {
            LockSupport.unpark(writer);
        }
    }
}
