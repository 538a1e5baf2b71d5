package io.vllmrouter.examples.tokenizers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.vllmrouter.api.spi.PromptTokenizer;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ServiceLoader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The local tokenizer with a small model of our own ({@code src/test/resources/chatml}: a word-level
 * tokenizer.json with ChatML's special tokens, and a ChatML template as Qwen's models have), through
 * the real Hugging Face tokenizers library and Jinjava.
 */
class LocalPromptTokenizerTest {

    static LocalPromptTokenizer tokenizer;

    static Path model() throws URISyntaxException {
        return Path.of(LocalPromptTokenizerTest.class.getResource("/chatml/tokenizer.json").toURI()).getParent();
    }

    @BeforeAll
    static void load() throws URISyntaxException {
        tokenizer = LocalPromptTokenizer.load(model());
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    static byte[] body(String json) {
        return json.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void rendersTheChatTemplateWithTheGenerationPromptAndTokenizesIt() throws Exception {
        String chat = "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"you are helpful .\"},"
                + "{\"role\":\"user\",\"content\":\"what is a cache ?\"}]}";
        assertThat(tokenizer.chatText(new ObjectMapper().readTree(chat))).isEqualTo(
                "<|im_start|>system\nyou are helpful .<|im_end|>\n<|im_start|>user\nwhat is a cache ?<|im_end|>\n"
                        + "<|im_start|>assistant\n");
        assertThat(tokenizer.tokenize("m", body(chat))).containsExactly(1, 3, 8, 9, 10, 16, 2, 1, 4, 14, 13, 11, 12, 15, 2, 1, 5);
        String without = chat.replace("\"messages\"", "\"add_generation_prompt\":false,\"messages\"");
        assertThat(tokenizer.tokenize("m", body(without))).containsExactly(1, 3, 8, 9, 10, 16, 2, 1, 4, 14, 13, 11, 12, 15, 2);
    }

    @Test
    void continuesTheFinalMessageWhenAsked() {
        String chat = "{\"messages\":[{\"role\":\"user\",\"content\":\"hello\"},{\"role\":\"assistant\",\"content\":\"hello world\"}],"
                + "\"continue_final_message\":true}";
        assertThat(tokenizer.tokenize("m", body(chat))).containsExactly(1, 4, 6, 2, 1, 5, 6, 7);
    }

    @Test
    void tokenizesACompletionsPrompt() {
        assertThat(tokenizer.tokenize("m", body("{\"prompt\":\"hello world !\"}"))).containsExactly(6, 7, 17);
        assertThat(tokenizer.tokenize("m", body("{\"prompt\":[\"hello\",\"world\"]}"))).containsExactly(6);
        assertThat(tokenizer.tokenize("m", body("{\"input\":\"hello\"}"))).isNull();
        assertThat(tokenizer.tokenize("m", body("not json"))).isNull();
    }

    @Test
    void aTemplateThatRefusesItsInputSaysWhy() {
        assertThatThrownBy(() -> tokenizer.tokenize("m", body("{\"messages\":[{\"role\":\"assistant\",\"content\":\"hi\"}]}")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Conversations must start with a user or system message");
    }

    @Test
    void theProviderIsFoundAndNamesAPathItCannotLoad() throws Exception {
        LocalTokenizerProvider provider = null;
        for (io.vllmrouter.api.spi.PromptTokenizerProvider p : ServiceLoader.load(io.vllmrouter.api.spi.PromptTokenizerProvider.class)) {
            if (p instanceof LocalTokenizerProvider l) {
                provider = l;
            }
        }
        assertThat(provider).isNotNull();
        assertThat(provider.accepts("backend")).isFalse();
        assertThat(provider.accepts(model().toString())).isTrue();
        try (PromptTokenizer t = provider.create(model().toString())) {
            assertThat(t.tokenize("m", body("{\"prompt\":\"hello\"}"))).containsExactly(6);
        }
        LocalTokenizerProvider found = provider;
        assertThatThrownBy(() -> found.create("/no/such/model"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("tokenizer: /no/such/model (expected: a directory holding tokenizer.json and "
                        + "tokenizer_config.json, or a tokenizer.json file)");
    }

    @Test
    void aConversationsLaterTurnReusesTheTokensOfItsHistory() throws URISyntaxException {
        LocalPromptTokenizer fresh = LocalPromptTokenizer.load(model());
        try {
            String first = "{\"messages\":[{\"role\":\"system\",\"content\":\"you are helpful .\"},"
                    + "{\"role\":\"user\",\"content\":\"what is a cache ?\"}]}";
            String next = first.replace("]}", ",{\"role\":\"assistant\",\"content\":\"a cache\"},"
                    + "{\"role\":\"user\",\"content\":\"hello world !\"}]}");
            fresh.tokenize("m", body(first));
            long[] before = fresh.cacheFigures();
            assertThat(fresh.tokenize("m", body(next))).containsExactly(1, 3, 8, 9, 10, 16, 2, 1, 4, 14, 13, 11, 12, 15, 2,
                    1, 5, 11, 12, 2, 1, 4, 6, 7, 17, 2, 1, 5);
            long[] after = fresh.cacheFigures();
            assertThat(after[2] - before[2]).as("pieces found: the system prompt and the first question").isGreaterThanOrEqualTo(2);
            assertThat(fresh.promptText(body(next))).startsWith("<|im_start|>system\nyou are helpful .<|im_end|>");
            assertThat(fresh.promptText(body("{\"prompt\":[\"hello\"]}"))).isEqualTo("hello");
            assertThat(fresh.promptText(body("[1]"))).isNull();
        } finally {
            fresh.close();
        }
    }
}
