package io.vllmrouter.core;

import io.vllmrouter.api.spi.PromptTokenizer;
import java.lang.System.Logger.Level;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * Prompt tokens from a local {@link PromptTokenizer} (a model's {@code tokenizer.json} and chat
 * template), on a tokenizer thread of its own so that a request's thread (an event loop) never runs
 * it: no round trip, a millisecond or less of CPU for a long prompt.
 */
final class LocalTokenizer implements TokenSource {

    private static final System.Logger LOG = System.getLogger(LocalTokenizer.class.getName());

    private final PromptTokenizer tokenizer;
    private final String spec;
    private final ExecutorService executor;
    private final AtomicBoolean failing = new AtomicBoolean();
    private final LongAdder calls = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private final LongAdder micros = new LongAdder();

    LocalTokenizer(PromptTokenizer tokenizer, String spec) {
        this.tokenizer = tokenizer;
        this.spec = spec;
        this.executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "vllm-router-tokenizer");
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public CompletableFuture<int[]> tokens(PromptRequest prompt, List<Backend> candidates) {
        CompletableFuture<int[]> f = new CompletableFuture<>();
        try {
            executor.execute(() -> {
                long start = System.nanoTime();
                calls.increment();
                try {
                    int[] ids = tokenizer.tokenize(prompt.model(), prompt.body());
                    micros.add((System.nanoTime() - start) / 1000);
                    failing.set(false);
                    f.complete(ids);
                } catch (RuntimeException e) {
                    failures.increment();
                    if (failing.compareAndSet(false, true)) {
                        LOG.log(Level.WARNING, "tokenizer {0} failed on a request ({1}); such requests route without tokens",
                                spec, e.getMessage());
                    }
                    f.complete(null);
                }
            });
        } catch (RejectedExecutionException e) {
            f.complete(null);
        }
        return f;
    }

    @Override
    public Map<String, Long> stats() {
        Map<String, Long> m = new LinkedHashMap<>();
        long n = calls.sum();
        m.put("tokenizer_calls", n);
        m.put("tokenizer_failures", failures.sum());
        m.put("tokenizer_call_micros_mean", n == 0 ? 0 : micros.sum() / n);
        return m;
    }

    @Override
    public void close() {
        executor.shutdownNow();
        tokenizer.close();
    }
}
