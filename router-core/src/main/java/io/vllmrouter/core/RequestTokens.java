package io.vllmrouter.core;

import io.vllmrouter.api.spi.PromptTokens;
import io.vllmrouter.api.time.Scheduler;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One request's prompt tokens, for a strategy that asked for them ({@link
 * io.vllmrouter.api.spi.PickInputs}): fetched once before the first pick, waited for no longer than
 * {@code tokenize_timeout}, and kept for the retries. Past the timeout the request is routed without
 * them ({@link #tokens()} null); their late arrival still fills the tokenizer's cache.
 *
 * <p>Threads: {@link #ready} is called on the request's thread before a pick; the tokenizer's
 * completion and the timer race on other threads, and exactly one of them resolves the tokens and
 * runs the continuation.
 */
final class RequestTokens {

    static final RequestTokens NONE = new RequestTokens(null, null);

    private static final int NEW = 0;
    private static final int PENDING = 1;
    private static final int DONE = 2;

    private final byte[] body;
    private final String model;
    private final AtomicInteger state = new AtomicInteger(NEW);
    private volatile PromptTokens tokens;

    RequestTokens(byte[] body, String model) {
        this.body = body;
        this.model = model;
    }

    /** The tokens, or null (not asked for, none, or late). */
    PromptTokens tokens() {
        return tokens;
    }

    /**
     * Whether the request may be picked now: true when no tokens are wanted or they are resolved;
     * false when they are being fetched, and then {@code continuation} runs once they are resolved
     * (with tokens or without) on the thread that resolved them.
     */
    boolean ready(PromptServices.Active services, List<Backend> candidates, Scheduler scheduler, Runnable continuation) {
        TokenSource source = services.tokenizer();
        if (source == null || body == null) {
            return true;
        }
        int s = state.get();
        if (s == DONE) {
            return true;
        }
        if (s == PENDING || !state.compareAndSet(NEW, PENDING)) {
            return state.get() == DONE;
        }
        PromptRequest prompt = PromptRequest.read(model, body);
        if (prompt == null) {
            state.set(DONE);
            return true;
        }
        if (prompt.promptIds() != null) {
            tokens = PromptTokens.of(model, prompt.promptIds(), prompt.cacheSalt());
            state.set(DONE);
            return true;
        }
        CompletableFuture<int[]> f = source.tokens(prompt, candidates);
        if (f.isDone()) {
            resolve(f.getNow(null), prompt);
            return true;
        }
        if (services.inputs().tokenizeTimeout().isZero()) {
            // No wait at all: routed without them now (the fetch goes on and warms the tokenizer's cache).
            state.set(DONE);
            services.tokenizeTimedOut();
            return true;
        }
        Scheduler.Cancellable timer = scheduler.schedule(() -> {
            if (state.compareAndSet(PENDING, DONE)) {
                services.tokenizeTimedOut();
                continuation.run();
            }
        }, services.inputs().tokenizeTimeout());
        f.whenComplete((ids, e) -> {
            if (state.compareAndSet(PENDING, DONE)) {
                timer.cancel();
                tokens = ids == null || ids.length == 0 ? null : PromptTokens.of(model, ids, prompt.cacheSalt());
                continuation.run();
            }
        });
        return false;
    }

    private void resolve(int[] ids, PromptRequest prompt) {
        tokens = ids == null || ids.length == 0 ? null : PromptTokens.of(model, ids, prompt.cacheSalt());
        state.set(DONE);
    }
}
