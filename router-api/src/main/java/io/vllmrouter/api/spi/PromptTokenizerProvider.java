package io.vllmrouter.api.spi;

/**
 * Makes a local {@link PromptTokenizer} available, found with {@link java.util.ServiceLoader}
 * (register in {@code META-INF/services/io.vllmrouter.api.spi.PromptTokenizerProvider}). The router
 * asks each provider in turn whether it {@link #accepts} a strategy's {@code tokenizer} setting
 * (anything but {@code "backend"}, which the router serves itself with each server's
 * {@code POST /tokenize}). A provider has a cheap public no-argument constructor that never throws.
 */
public interface PromptTokenizerProvider {

    /** Whether {@code spec} (the {@code tokenizer} setting) names a tokenizer of this provider. */
    boolean accepts(String spec);

    /**
     * A tokenizer for {@code spec}, loaded now (files read, templates compiled).
     *
     * @throws IllegalArgumentException {@code "tokenizer: spec (expected: what)"} when it cannot be loaded
     */
    PromptTokenizer create(String spec);
}
