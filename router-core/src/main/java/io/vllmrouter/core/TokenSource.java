package io.vllmrouter.core;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Where a request's prompt tokens come from: each server's {@code POST /tokenize}
 * ({@link BackendTokenizer}) or a local tokenizer ({@link LocalTokenizer}). Called on request
 * threads; never blocks them: the work runs on an HTTP client's or a tokenizer thread.
 */
interface TokenSource extends AutoCloseable {

    /**
     * The prompt's token ids; completes with null when the source cannot say (unknown model, the
     * server failed), never exceptionally.
     *
     * @param candidates the request's candidate backends (a server to ask, for the backend source)
     */
    CompletableFuture<int[]> tokens(PromptRequest prompt, List<Backend> candidates);

    /** Figures by snake_case name, prefixed {@code tokenizer_}. */
    Map<String, Long> stats();

    @Override
    void close();
}
