package io.vllmrouter.api.spi;

/**
 * Turns a request body into the token ids its model server computes for the prompt: for a chat
 * request ({@code messages}) the model's chat template applied with the generation prompt, as
 * vLLM's {@code /v1/chat/completions} and {@code /tokenize} do; for a completions request its
 * {@code prompt}. Made by a {@link PromptTokenizerProvider} from a {@code tokenizer} setting.
 *
 * <p>Threads: the router calls {@link #tokenize} on a tokenizer thread of its own, never on a
 * request's event loop, and waits for it no longer than its time budget. Thread-safe.
 */
public interface PromptTokenizer extends AutoCloseable {

    /**
     * The prompt's token ids, or null when this tokenizer does not know {@code model} or the body has
     * no prompt it can render.
     *
     * @param model the request's {@code model}, or null
     * @param body  the request's JSON body
     * @throws IllegalArgumentException when the body cannot be rendered (a bad template input)
     */
    int[] tokenize(String model, byte[] body);

    /** Frees what the tokenizer holds (native memory). The default does nothing. */
    @Override
    default void close() {
    }
}
