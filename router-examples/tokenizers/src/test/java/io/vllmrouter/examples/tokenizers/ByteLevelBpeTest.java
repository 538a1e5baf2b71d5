package io.vllmrouter.examples.tokenizers;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java byte-level BPE gives the ids the real Hugging Face tokenizers library gives, on random
 * texts in many scripts, for each shape it claims (Llama 3's split, GPT-2's, o200k's inverted
 * split, several splits in a row, NFC, merges as pairs, {@code ignore_merges}, merges competing
 * for the same symbols), and declines the shapes it does not reproduce. The tokenizers are
 * {@code src/test/resources/bytelevel} and variants of it written here.
 */
class ByteLevelBpeTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static ObjectNode fixture() throws IOException, URISyntaxException {
        return (ObjectNode) JSON.readTree(Path.of(ByteLevelBpeTest.class.getResource("/bytelevel/tokenizer.json").toURI())
                .toFile());
    }

    private Path write(String name, JsonNode json) throws IOException {
        Path p = dir.resolve(name + ".json");
        JSON.writeValue(p.toFile(), json);
        return p;
    }

    private static HuggingFaceTokenizer load(Path json) throws IOException {
        return HuggingFaceTokenizer.newInstance(json, Map.of("addSpecialTokens", "false", "truncation", "false",
                "padding", "false"));
    }

    private static final int[][] SCRIPTS = {{0x20, 0x7e}, {0x20, 0x7e}, {0x20, 0x7e}, {0x9, 0xd}, {0xa0, 0x24f},
        {0x300, 0x36f}, {0x370, 0x3ff}, {0x400, 0x4ff}, {0x590, 0x6ff}, {0x900, 0x97f}, {0xe00, 0xe7f},
        {0x2000, 0x206f}, {0x2070, 0x22ff}, {0x3000, 0x30ff}, {0x4e00, 0x4fff}, {0xac00, 0xad00}, {0xff00, 0xffef},
        {0x1f300, 0x1f6ff}, {0x1d400, 0x1d7ff}, {0x0, 0x1f}, {0x85, 0x85}, {0x1680, 0x1680}, {0x17f, 0x17f},
        {0x212a, 0x212b}};
    private static final String[] WORDS = {"'s", "'S", "'t", "'re", "'VE", "'m", "'ll", "'D", "'ſ", " the", "The",
        "  ", "\n\n", " \n", "\r\n", "123", "12345", "٣٤٥", "²", "Ⅻ", "e\u0301", "A\u030a", "aaaa", "abab", " ab",
        "ba ", "in", "er", "\t\t"};

    /** Text of words, spaces and characters from many scripts. */
    static String randomText(Random random) {
        StringBuilder b = new StringBuilder();
        int n = 1 + random.nextInt(40);
        for (int k = 0; k < n; k++) {
            if (random.nextInt(3) == 0) {
                b.append(WORDS[random.nextInt(WORDS.length)]);
                continue;
            }
            int[] range = SCRIPTS[random.nextInt(SCRIPTS.length)];
            int cp = range[0] + random.nextInt(range[1] - range[0] + 1);
            if (Character.isDefined(cp)) {
                b.appendCodePoint(cp);
            }
        }
        return b.toString();
    }

    /** {@code json} read by this class gives the library's ids on 2,000 random texts. */
    private void assertSameIds(String name, JsonNode json) throws IOException {
        Path path = write(name, json);
        List<String> why = new ArrayList<>();
        ByteLevelBpe bpe = ByteLevelBpe.from(json, why::add);
        assertThat(why).as("reasons to decline %s", name).isEmpty();
        assertThat(bpe).isNotNull();
        try (HuggingFaceTokenizer tokenizer = load(path)) {
            Random random = new Random(name.hashCode());
            int compared = 0;
            for (int i = 0; i < 2000; i++) {
                String text = randomText(random);
                if (!bpe.covers(text)) {
                    continue;
                }
                compared++;
                assertThat(bpe.encode(text)).as("%s on %s", name, escaped(text))
                        .containsExactly(TokenIds.of(tokenizer, text, false));
                assertThat(bpe.encode(text)).as("%s again (from its cache) on %s", name, escaped(text))
                        .containsExactly(TokenIds.of(tokenizer, text, false));
            }
            assertThat(compared).isGreaterThan(1900);
        }
    }

    private static String escaped(String text) {
        StringBuilder b = new StringBuilder();
        text.codePoints().forEach(c -> b.append(c >= 0x20 && c < 0x7f ? String.valueOf((char) c)
                : String.format("\\u{%x}", c)));
        return b.toString();
    }

    /** Adds symbol {@code left + right} to the vocabulary and its merge, last in rank. */
    private static void merge(ObjectNode json, String left, String right) {
        ObjectNode vocab = (ObjectNode) json.path("model").path("vocab");
        int next = vocab.size() + json.path("added_tokens").size() + 100;
        if (!vocab.has(left + right)) {
            vocab.put(left + right, next);
        }
        ((ArrayNode) json.path("model").path("merges")).add(left + " " + right);
    }

    /** Merges that compete for the same symbols ("aba" by two routes, "abab", "aaa" and "aa"), so their order counts. */
    private static ObjectNode competing() throws IOException, URISyntaxException {
        ObjectNode json = fixture();
        merge(json, "b", "a");
        merge(json, "a", "b");
        merge(json, "a", "a");
        merge(json, "ab", "a");
        merge(json, "a", "ba");
        merge(json, "ab", "ab");
        merge(json, "aa", "a");
        merge(json, "Ġ", "ab");
        merge(json, "Ġab", "ab");
        return json;
    }

    @Test
    void llama3sSplitGivesTheLibrarysIds() throws Exception {
        assertSameIds("llama3-split", fixture());
        assertSameIds("competing-merges", competing());
    }

    @Test
    void mergesWrittenAsPairsReadAsMergesWrittenAsStrings() throws Exception {
        ObjectNode json = competing();
        ArrayNode pairs = JSON.createArrayNode();
        for (JsonNode m : json.path("model").path("merges")) {
            String[] two = m.asText().split(" ", 2);
            pairs.add(JSON.createArrayNode().add(two[0]).add(two[1]));
        }
        ((ObjectNode) json.path("model")).set("merges", pairs);
        assertSameIds("merge-pairs", json);
    }

    @Test
    void gpt2sByteLevelRegexGivesTheLibrarysIds() throws Exception {
        ObjectNode json = competing();
        json.set("pre_tokenizer", JSON.readTree("{\"type\":\"ByteLevel\",\"add_prefix_space\":false,"
                + "\"trim_offsets\":true,\"use_regex\":true}"));
        assertSameIds("gpt2", json);
    }

    @Test
    void anInvertedSplitAndSplitsInARowGiveTheLibrarysIds() throws Exception {
        ObjectNode json = competing();
        ArrayNode steps = (ArrayNode) json.path("pre_tokenizer").path("pretokenizers");
        ((ObjectNode) steps.get(0)).put("behavior", "Removed").put("invert", true);     // o200k's way
        assertSameIds("inverted", json);
        steps.insert(0, JSON.readTree("{\"type\":\"Split\",\"pattern\":{\"Regex\":\"\\\\p{N}{1,3}\"},"
                + "\"behavior\":\"Isolated\",\"invert\":false}"));                        // DeepSeek's way
        steps.insert(1, JSON.readTree("{\"type\":\"Split\",\"pattern\":{\"Regex\":\"[\\u4e00-\\u9fa5\\u3040-\\u30ff]+\"},"
                + "\"behavior\":\"Isolated\",\"invert\":false}"));
        assertSameIds("splits-in-a-row", json);
    }

    @Test
    void nfcAndIgnoreMergesGiveTheLibrarysIds() throws Exception {
        ObjectNode json = competing();
        json.set("normalizer", JSON.readTree("{\"type\":\"NFC\"}"));
        assertSameIds("nfc", json);
        json.set("normalizer", JSON.readTree("{\"type\":\"Sequence\",\"normalizers\":[]}"));
        assertSameIds("no-normalizers", json);
        ObjectNode ignore = competing();
        ((ObjectNode) ignore.path("model")).put("ignore_merges", true);
        // whole in the vocabulary, unreachable by merges: one token only when merges are ignored
        ((ObjectNode) ignore.path("model").path("vocab")).put("Ġbaab", 900).put("aab", 901);
        assertSameIds("ignore-merges", ignore);
        Path path = write("ignore-merges-check", ignore);
        try (HuggingFaceTokenizer tokenizer = load(path)) {
            assertThat(TokenIds.of(tokenizer, "aab baab", false)).as("the library").containsExactly(901, 900);
            assertThat(ByteLevelBpe.from(ignore, w -> { }).encode("aab baab")).containsExactly(901, 900);
        }
    }

    @Test
    void declinesWhatItDoesNotReproduceAndSaysWhy() throws Exception {
        assertDeclined(fixture().set("normalizer", JSON.readTree("{\"type\":\"Lowercase\"}")), "normalizer is Lowercase");
        ObjectNode dropout = fixture();
        ((ObjectNode) dropout.path("model")).put("dropout", 0.1);
        assertDeclined(dropout, "dropout");
        ObjectNode prefix = fixture();
        ((ObjectNode) prefix.path("model")).put("continuing_subword_prefix", "##");
        assertDeclined(prefix, "prefix or suffix");
        ObjectNode metaspace = fixture();
        metaspace.set("pre_tokenizer", JSON.readTree("{\"type\":\"Metaspace\",\"replacement\":\"▁\","
                + "\"prepend_scheme\":\"first\",\"split\":true}"));
        assertDeclined(metaspace, "pre-tokenizer");
        ObjectNode contiguous = fixture();
        ((ObjectNode) contiguous.path("pre_tokenizer").path("pretokenizers").get(0)).put("behavior", "MergedWithNext");
        assertDeclined(contiguous, "pre-tokenizer");
        ObjectNode noByte = fixture();
        ((ObjectNode) noByte.path("model").path("vocab")).remove("Ā");
        assertDeclined(noByte, "byte 0");
        ObjectNode wordLevel = fixture();
        ((ObjectNode) wordLevel.path("model")).put("type", "WordLevel");
        assertDeclined(wordLevel, "WordLevel");
    }

    private static void assertDeclined(JsonNode json, String reason) {
        List<String> why = new ArrayList<>();
        Consumer<String> sink = why::add;
        assertThat(ByteLevelBpe.from(json, sink)).isNull();
        assertThat(why).singleElement().asString().contains(reason);
    }

    @Test
    void leavesToTheLibraryTextWithAnAddedTokenALoneSurrogateOrACharacterThisJdkDoesNotKnow() throws Exception {
        ByteLevelBpe bpe = ByteLevelBpe.from(fixture(), w -> { });
        assertThat(bpe.covers("plain text, é, 日本, 🙂")).isTrue();
        assertThat(bpe.covers("a <|eot_id|> b")).as("an added token").isFalse();
        assertThat(bpe.covers("a <|eot b")).as("the start of one only").isTrue();
        assertThat(bpe.covers("a \ud83d b")).as("a lone high surrogate").isFalse();
        assertThat(bpe.covers("a \ude42 b")).as("a lone low surrogate").isFalse();
        assertThat(bpe.covers("a \u0378 b")).as("unassigned in every Unicode version so far").isFalse();
    }

    @Test
    @EnabledIfSystemProperty(named = "llama3.dir", matches = ".+")
    void llama3sOwnFilesGiveTheLibrarysIds() throws Exception {
        Path path = Path.of(System.getProperty("llama3.dir"), "tokenizer.json");
        JsonNode json = JSON.readTree(path.toFile());
        ByteLevelBpe bpe = ByteLevelBpe.from(json, w -> { });
        try (HuggingFaceTokenizer tokenizer = load(path)) {
            Random random = new Random(11);
            for (int i = 0; i < 5000; i++) {
                String text = randomText(random);
                if (bpe.covers(text)) {
                    assertThat(bpe.encode(text)).as(escaped(text)).containsExactly(TokenIds.of(tokenizer, text, false));
                }
            }
            for (Path doc : Files.newDirectoryStream(Path.of("../../docs"), "*.md")) {
                String text = Files.readString(doc);
                assertThat(bpe.encode(text)).as(doc.toString()).containsExactly(TokenIds.of(tokenizer, text, false));
            }
        }
    }
}
