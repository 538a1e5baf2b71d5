package io.vllmrouter.examples.tokenizers;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vllmrouter.api.spi.PromptTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Prompt tokens computed locally as vLLM computes them, from a model's files: {@code tokenizer.json}
 * (Hugging Face's tokenizers library through DJL's binding) and the chat template of
 * {@code tokenizer_config.json} (or {@code chat_template.jinja} beside it).
 *
 * <pre>{@code
 * try (LocalPromptTokenizer t = LocalPromptTokenizer.load(Path.of("/models/Qwen3-0.6B"))) {
 *     int[] ids = t.tokenize("Qwen/Qwen3-0.6B", body);
 * }
 * }</pre>
 *
 * <p>As vLLM's OpenAI server: a chat request's {@code messages} are rendered with the template
 * (with {@code add_generation_prompt}, default true; {@code continue_final_message};
 * {@code tools}; {@code chat_template_kwargs}) and tokenized with {@code add_special_tokens} false
 * (the template writes them); a completions {@code prompt} is tokenized with {@code add_special_tokens}
 * true. A chat prompt is tokenized piece by piece between its special tokens, each piece's ids kept
 * for the next prompt that holds it ({@link SegmentCache}: a conversation's later turns and a shared
 * system prompt cost a lookup), unless the tokenizer cannot be cut there, when it is tokenized in one
 * pass. A piece never seen is tokenized in Java when the tokenizer is a byte-level BPE it reproduces
 * ({@link ByteLevelBpe}, checked against the native tokenizer). Thread-safe: the native tokenizer may
 * be called from several threads.
 */
public final class LocalPromptTokenizer implements PromptTokenizer {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Characters of text whose token ids are kept for reuse ({@link SegmentCache}): 8 Mi, about 16 MiB. */
    static final long CACHED_CHARS = 8L << 20;

    private final HuggingFaceTokenizer tokenizer;
    private final ChatTemplate template;
    /** Null when the tokenizer cannot be cut at its special tokens: every prompt in one pass. */
    private final SegmentCache segments;
    private final String source;

    private LocalPromptTokenizer(HuggingFaceTokenizer tokenizer, ChatTemplate template, SegmentCache segments,
                                 String source) {
        this.tokenizer = tokenizer;
        this.template = template;
        this.segments = segments;
        this.source = source;
    }

    /**
     * Loads {@code path}: a directory holding {@code tokenizer.json} (and {@code tokenizer_config.json}
     * with a {@code chat_template}, or {@code chat_template.jinja}), or the {@code tokenizer.json} file.
     *
     * @throws IllegalArgumentException {@code "tokenizer: path (expected: ...)"} when it cannot be loaded
     */
    public static LocalPromptTokenizer load(Path path) {
        Path dir = Files.isDirectory(path) ? path : path.getParent();
        Path json = Files.isDirectory(path) ? path.resolve("tokenizer.json") : path;
        if (dir == null || !Files.isRegularFile(json)) {
            throw new IllegalArgumentException("tokenizer: " + path
                    + " (expected: a directory holding tokenizer.json and tokenizer_config.json, or a tokenizer.json file)");
        }
        try {
            Map<String, Object> special = new HashMap<>();
            String chatTemplate = null;
            Path config = dir.resolve("tokenizer_config.json");
            if (Files.isRegularFile(config)) {
                JsonNode c = JSON.readTree(config.toFile());
                for (String k : List.of("bos_token", "eos_token", "unk_token", "pad_token")) {
                    JsonNode v = c.get(k);
                    if (v != null && v.isTextual()) {
                        special.put(k, v.asText());
                    } else if (v != null && v.has("content")) {
                        special.put(k, v.get("content").asText());
                    }
                }
                JsonNode t = c.get("chat_template");
                if (t != null && t.isTextual()) {
                    chatTemplate = t.asText();
                } else if (t != null && t.isArray()) {
                    for (JsonNode named : t) {      // [{"name": "default", "template": ...}, ...]
                        if ("default".equals(named.path("name").asText())) {
                            chatTemplate = named.path("template").asText();
                        }
                    }
                }
            }
            Path jinja = dir.resolve("chat_template.jinja");
            if (Files.isRegularFile(jinja)) {
                chatTemplate = Files.readString(jinja);
            }
            HuggingFaceTokenizer tok = HuggingFaceTokenizer.newInstance(json, Map.of("addSpecialTokens", "false",
                    "truncation", "false", "padding", "false"));
            SegmentCache segments = SegmentCache.create(tok, JSON.readTree(json.toFile()), CACHED_CHARS);
            return new LocalPromptTokenizer(tok, chatTemplate == null ? null : new ChatTemplate(chatTemplate, special),
                    segments, path.toString());
        } catch (IOException | RuntimeException e) {
            if (e instanceof IllegalArgumentException iae && String.valueOf(iae.getMessage()).startsWith("tokenizer: ")) {
                throw iae;
            }
            throw new IllegalArgumentException("tokenizer: " + path + " (expected: a readable tokenizer.json; "
                    + e.getMessage() + ")", e);
        }
    }

    /** Pieces kept, their characters, piece lookups that hit and that missed; null when prompts are tokenized whole. */
    long[] cacheFigures() {
        return segments == null ? null : segments.figures();
    }

    /** Whether chat requests can be rendered (the model has a chat template). */
    public boolean hasChatTemplate() {
        return template != null;
    }

    @Override
    public int[] tokenize(String model, byte[] body) {
        JsonNode b = object(body);
        String text = b == null ? null : text(b);
        if (text == null) {
            return null;
        }
        if (isChat(b)) {
            return segments != null ? segments.encode(text) : encode(text, false);
        }
        return encode(text, b.path("add_special_tokens").asBoolean(true));
    }

    /**
     * The text a request's tokens come from: a chat request's messages rendered by the chat
     * template, or a completions request's prompt; null when the body is neither (or the model has
     * no chat template).
     */
    public String promptText(byte[] body) {
        JsonNode b = object(body);
        return b == null ? null : text(b);
    }

    private static boolean isChat(JsonNode b) {
        JsonNode messages = b.get("messages");
        return messages != null && messages.isArray();
    }

    /** See {@link #promptText}. */
    private String text(JsonNode b) {
        if (isChat(b)) {
            return template == null ? null : chatText(b);
        }
        JsonNode prompt = b.get("prompt");
        if (prompt != null && prompt.isArray() && !prompt.isEmpty()) {
            prompt = prompt.get(0);       // the first of a list
        }
        return prompt != null && prompt.isTextual() ? prompt.asText() : null;
    }

    /** The body as a JSON object, or null. */
    private static JsonNode object(byte[] body) {
        try {
            JsonNode b = JSON.readTree(body);
            return b != null && b.isObject() ? b : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** A chat request's prompt text, as vLLM renders it. */
    String chatText(JsonNode body) {
        Object messages = JSON.convertValue(body.get("messages"), Object.class);
        Object tools = body.hasNonNull("tools") ? JSON.convertValue(body.get("tools"), Object.class) : null;
        Map<String, Object> kwargs = body.hasNonNull("chat_template_kwargs")
                ? JSON.convertValue(body.get("chat_template_kwargs"), new TypeReference<Map<String, Object>>() { })
                : null;
        boolean continueFinal = body.path("continue_final_message").asBoolean(false);
        boolean generationPrompt = body.path("add_generation_prompt").asBoolean(!continueFinal);
        String text = template.render(messages, tools, generationPrompt, kwargs);
        if (continueFinal) {
            // vLLM (transformers): cut the rendering after the final message's content.
            JsonNode msgs = body.get("messages");
            String last = msgs.get(msgs.size() - 1).path("content").asText("");
            int at = last.isEmpty() ? -1 : text.lastIndexOf(last.strip());
            if (at >= 0) {
                text = text.substring(0, at + last.strip().length());
            }
        }
        return text;
    }

    private int[] encode(String text, boolean addSpecialTokens) {
        return TokenIds.of(tokenizer, text, addSpecialTokens);
    }

    @Override
    public void close() {
        tokenizer.close();
    }

    @Override
    public String toString() {
        return "LocalPromptTokenizer[" + source + "]";
    }
}
