package io.vllmrouter.examples.tokenizers;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Token ids of rendered chat prompts that reuse the work of earlier prompts: the text is cut at its
 * special tokens, and the ids of each stretch of text between two of them are kept, so a system
 * prompt, or a conversation's history, is tokenized once and then looked up.
 *
 * <pre>{@code
 * SegmentCache cache = SegmentCache.create(tokenizer, tokenizerJson, 8 << 20);   // null: no safe boundary
 * int[] ids = cache.encode(renderedPrompt);
 * }</pre>
 *
 * <p>Why it is exact. Hugging Face's tokenizers first split the input at its added tokens
 * ({@code AddedVocabulary::extract_and_normalize}), then normalize, pre-tokenize and run the model
 * on each piece between them on its own: BPE never merges across a special token. So the ids of a
 * text are the ids of its pieces and of its special tokens, in order, and a piece's ids do not
 * depend on what is around it. That holds at a special token that takes no whitespace from its
 * neighbours ({@code lstrip}, {@code rstrip} false), matches the raw text ({@code normalized}
 * false) and stands alone ({@code single_word} false); only those cut the text here. A
 * pre-tokenizer that treats the input's first piece differently (Metaspace's
 * {@code prepend_scheme: "first"}) breaks it: {@link #create} checks the property on probe texts
 * with the tokenizer itself and returns null when it does not hold, and the caller then tokenizes
 * every text in one pass. A text with no special token is one piece, kept whole.
 *
 * <p>A piece never seen is tokenized in Java ({@link ByteLevelBpe}) when the tokenizer is a
 * byte-level BPE it reproduces and agrees with the native tokenizer on probe texts (a prose, code,
 * digits, white space and scripts from many languages); the native tokenizer then checks the first
 * {@value #CHECKED_FIRST} pieces and one in {@value #CHECK_EVERY} after, and a single disagreement
 * hands every later piece back to it (logged once). Otherwise pieces go to the native tokenizer.
 *
 * <p>Memory: pieces are kept in least-recently-used order up to {@code maxChars} characters of
 * text (a piece costs about 2 bytes per character and 4 per token id); a piece longer than a quarter
 * of that is tokenized and not kept. Thread-safe: the map is guarded by this object's lock, held
 * for lookups and insertions, never while the native tokenizer runs.
 */
final class SegmentCache {

    private static final Logger LOG = LoggerFactory.getLogger(SegmentCache.class);

    /** Pieces tokenized in Java that the native tokenizer checks: the first ones, then one in so many. */
    static final int CHECKED_FIRST = 16;
    static final int CHECK_EVERY = 64;

    /** Texts both tokenizers must agree on before pieces are tokenized in Java. */
    static final List<String> PROBES = List.of(
            "The router keeps an exact index of the blocks each server holds. I'LL say it's done; you'RE sure? "
                    + "They've gone, we'd known, she'll stay, I'm here, DON'T, Won't.",
            "def f(x):\n    return x**2  # comment\n\tif (a && b) { y = \"q\"; } else {{ z[0] += 1; }}\r\n",
            "1234567 3.14159 2026-12-06 +44 20 7946 0958 0x7fffffff 1e-9 100% $5.00 #42 v1.2.3",
            "a  b   \n\n  c \t\t d\r\n\r\ne    \n \n\n\n   f\u00a0g\u3000h\u2009i\u202f\u205fj   ",
            "naïve café Ünïcödé straße ſt ǅ ﬁ e\u0301 A\u030a 日本語のテキスト 한국어 العربية Ελληνικά русский हिन्दी ไทย",
            "🙂👍🏽 🚀🚀 ☕️ ← → ∑ ≤ ≥ © ® ™ € £ ¥ ½ ² ③ Ⅻ ٣ 𝔘𝔫𝔦 \u0000\u0007\u007f\u0085\u200b\ufeff",
            "x86_64 https://example.com/a?b=c&d=e#f <tag attr='v'>text</tag> ...!!! ??? --- *** ``` '' \"\" '\n'",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
                    + "abababababababababababababababababab ".repeat(3) + " ".repeat(40) + "end");

    private final HuggingFaceTokenizer tokenizer;
    /** Pieces in Java, or null: not a tokenizer it reproduces, or it disagreed with the native one. */
    private volatile ByteLevelBpe fast;
    private final AtomicLong fastPieces = new AtomicLong();
    private final AtomicLong checkedPieces = new AtomicLong();
    /** Special tokens that cut the text, by their first character; longest first. */
    private final Map<Character, List<Special>> specials;
    /** Their first characters, to pass over the others without a map lookup. */
    private final java.util.BitSet firstChars = new java.util.BitSet();
    private final long maxChars;
    private final LinkedHashMap<String, int[]> pieces = new LinkedHashMap<>(256, 0.75f, true);
    private long chars;
    private long hits;
    private long misses;

    private record Special(String text, int id) {
    }

    private SegmentCache(HuggingFaceTokenizer tokenizer, Map<Character, List<Special>> specials, long maxChars,
                         ByteLevelBpe fast) {
        this.tokenizer = tokenizer;
        this.fast = fast;
        this.specials = specials;
        this.maxChars = maxChars;
        specials.keySet().forEach(c -> firstChars.set(c));
    }

    /**
     * A cache for {@code tokenizer}, whose {@code tokenizer.json} is {@code json}, or null when the
     * tokenizer has no special token that cuts text safely (see the class comment).
     */
    static SegmentCache create(HuggingFaceTokenizer tokenizer, JsonNode json, long maxChars) {
        return create(tokenizer, json, maxChars, agreeing(tokenizer, json));
    }

    /** As {@link #create(HuggingFaceTokenizer, JsonNode, long)}, with the Java tokenizer given (null: none). */
    static SegmentCache create(HuggingFaceTokenizer tokenizer, JsonNode json, long maxChars, ByteLevelBpe fast) {
        Map<Character, List<Special>> byFirst = new HashMap<>();
        List<Special> all = new ArrayList<>();
        for (JsonNode t : json.path("added_tokens")) {
            String content = t.path("content").asText("");
            if (content.isEmpty() || !t.path("special").asBoolean(false) || t.path("lstrip").asBoolean(false)
                    || t.path("rstrip").asBoolean(false) || t.path("normalized").asBoolean(false)
                    || t.path("single_word").asBoolean(false) || !t.path("id").canConvertToInt()) {
                continue;
            }
            Special s = new Special(content, t.path("id").asInt());
            all.add(s);
            byFirst.computeIfAbsent(content.charAt(0), c -> new ArrayList<>()).add(s);
        }
        if (all.isEmpty()) {
            return null;
        }
        for (List<Special> l : byFirst.values()) {
            l.sort((a, b) -> b.text().length() - a.text().length());   // leftmost-longest, as the tokenizer matches
        }
        SegmentCache cache = new SegmentCache(tokenizer, byFirst, maxChars, fast);
        return cache.holdsOn(all) ? cache : null;
    }

    /**
     * The Java tokenizer for {@code json}, when it reproduces that shape and gives the native
     * tokenizer's ids on every {@link #PROBES probe}; else null.
     */
    static ByteLevelBpe agreeing(HuggingFaceTokenizer tokenizer, JsonNode json) {
        ByteLevelBpe bpe = ByteLevelBpe.from(json, why -> LOG.debug("prompts go to the native tokenizer: {}", why));
        if (bpe == null) {
            return null;
        }
        for (int i = 0; i < PROBES.size(); i++) {
            String probe = PROBES.get(i);
            if (bpe.covers(probe) && !Arrays.equals(bpe.encode(probe), TokenIds.of(tokenizer, probe, false))) {
                LOG.info("prompts go to the native tokenizer: tokenizing in Java gave other ids on probe text {}", i + 1);
                return null;
            }
        }
        return bpe;
    }

    /** Pieces tokenized in Java, and how many of them the native tokenizer checked. */
    long[] fastFigures() {
        return new long[] {fastPieces.get(), checkedPieces.get()};
    }

    /** Whether pieces are tokenized in Java. */
    boolean fast() {
        return fast != null;
    }

    /**
     * Whether tokenizing piece by piece gives what one pass gives, on texts where special tokens
     * meet words, spaces and line breaks on both sides.
     */
    private boolean holdsOn(List<Special> all) {
        StringBuilder probe = new StringBuilder("Hello, world!");
        String[] around = {" Hello world\n\n", "\n\nx y ", "  two spaces", "tail", " ", "\t9.5%", "éé ", ""};
        for (int i = 0; i < Math.min(all.size(), 16); i++) {
            probe.append(all.get(i).text()).append(around[i % around.length]);
        }
        probe.append(all.get(0).text()).append(all.get(all.size() - 1).text()).append(" end");
        String text = probe.toString();
        int[] whole = TokenIds.of(tokenizer, text, false);
        return Arrays.equals(whole, encode(text)) && Arrays.equals(whole, encode(text));
    }

    /** The ids of {@code text}, with {@code add_special_tokens} false (a rendered chat prompt writes its own). */
    int[] encode(String text) {
        List<Object> parts = split(text);
        List<String> missing = null;
        synchronized (this) {
            for (int i = 0; i < parts.size(); i++) {
                if (parts.get(i) instanceof String piece) {
                    int[] ids = pieces.get(piece);
                    if (ids != null) {
                        parts.set(i, ids);
                        hits++;
                    } else {
                        (missing == null ? missing = new ArrayList<>() : missing).add(piece);
                        misses++;
                    }
                }
            }
        }
        if (missing != null) {
            int[][] encoded = idsOf(missing);
            Map<String, int[]> fresh = new HashMap<>();
            for (int i = 0; i < encoded.length; i++) {
                fresh.put(missing.get(i), encoded[i]);
            }
            for (int i = 0; i < parts.size(); i++) {
                if (parts.get(i) instanceof String piece) {
                    parts.set(i, fresh.get(piece));
                }
            }
            keep(fresh);
        }
        int n = 0;
        for (Object p : parts) {
            n += p instanceof int[] a ? a.length : 1;
        }
        int[] out = new int[n];
        int at = 0;
        for (Object p : parts) {
            if (p instanceof int[] a) {
                System.arraycopy(a, 0, out, at, a.length);
                at += a.length;
            } else {
                out[at++] = (Integer) p;
            }
        }
        return out;
    }

    /** The ids of each piece: in Java when it can, else (and for a check) by the native tokenizer. */
    private int[][] idsOf(List<String> texts) {
        ByteLevelBpe bpe = fast;
        if (bpe == null) {
            return TokenIds.of(tokenizer, texts, false);
        }
        int[][] out = new int[texts.size()][];
        List<String> rest = null;
        for (int i = 0; i < out.length; i++) {
            String t = texts.get(i);
            if (bpe.covers(t)) {
                out[i] = checked(t, bpe.encode(t));
            } else {
                (rest == null ? rest = new ArrayList<>() : rest).add(t);
            }
        }
        if (rest != null) {
            int[][] natives = TokenIds.of(tokenizer, rest, false);
            for (int i = 0, k = 0; i < out.length; i++) {
                if (out[i] == null) {
                    out[i] = natives[k++];
                }
            }
        }
        return out;
    }

    /** {@code ids} of {@code text} from Java, or the native tokenizer's when this one is checked and differs. */
    private int[] checked(String text, int[] ids) {
        long n = fastPieces.getAndIncrement();
        if (n >= CHECKED_FIRST && n % CHECK_EVERY != 0) {
            return ids;
        }
        checkedPieces.incrementAndGet();
        int[] expected = TokenIds.of(tokenizer, text, false);
        if (!Arrays.equals(ids, expected)) {
            switchOff(text.length());
            return expected;
        }
        return ids;
    }

    /** Hands every later piece to the native tokenizer, saying so once (two checks may fail at once). */
    private synchronized void switchOff(int chars) {
        if (fast != null) {
            fast = null;
            LOG.warn("tokenizing in Java gave other ids than the native tokenizer on a prompt of {} characters; "
                    + "prompts go to the native tokenizer from now on", chars);
        }
    }

    /** Pieces kept, their characters, lookups that found a piece and lookups that did not. */
    synchronized long[] figures() {
        return new long[] {pieces.size(), chars, hits, misses};
    }

    private synchronized void keep(Map<String, int[]> fresh) {
        for (Map.Entry<String, int[]> e : fresh.entrySet()) {
            String piece = e.getKey();
            if (piece.length() > maxChars / 4 || pieces.containsKey(piece)) {
                continue;
            }
            pieces.put(piece, e.getValue());
            chars += piece.length();
        }
        var it = pieces.entrySet().iterator();
        while (chars > maxChars && it.hasNext()) {
            chars -= it.next().getKey().length();
            it.remove();
        }
    }

    /** {@code text} as its pieces (String) and special tokens' ids (Integer), in order; no empty piece. */
    private List<Object> split(String text) {
        List<Object> parts = new ArrayList<>();
        int from = 0;
        for (int i = 0, n = text.length(); i < n; i++) {
            char c = text.charAt(i);
            if (!firstChars.get(c)) {
                continue;
            }
            List<Special> candidates = specials.get(c);
            for (Special s : candidates) {
                if (text.startsWith(s.text(), i)) {
                    if (i > from) {
                        parts.add(text.substring(from, i));
                    }
                    parts.add(s.id());
                    i += s.text().length() - 1;
                    from = i + 1;
                    break;
                }
            }
        }
        if (from < text.length()) {
            parts.add(text.substring(from));
        }
        return parts;
    }
}
