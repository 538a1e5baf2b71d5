package io.vllmrouter.examples.tokenizers;

import io.vllmrouter.api.spi.PromptTokenizer;
import io.vllmrouter.api.spi.PromptTokenizerProvider;
import java.nio.file.Path;

/**
 * Makes {@link LocalPromptTokenizer} the router's tokenizer for a {@code tokenizer} setting that is a
 * path (not {@code "backend"}): {@code tokenizer = "/models/Qwen3-0.6B"}. Found by
 * {@link java.util.ServiceLoader}.
 */
public final class LocalTokenizerProvider implements PromptTokenizerProvider {

    /** Does nothing; loading happens in {@link #create}. */
    public LocalTokenizerProvider() {
    }

    @Override
    public boolean accepts(String spec) {
        return spec != null && !spec.isBlank() && !spec.equals("backend");
    }

    @Override
    public PromptTokenizer create(String spec) {
        return LocalPromptTokenizer.load(Path.of(spec.strip()));
    }
}
