package io.vllmrouter.examples.tokenizers;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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
 * <p>Memory: pieces are kept in least-recently-used order up to {@code maxChars} characters of
 * text (a piece costs about 2 bytes per character and 4 per token id); a piece longer than a quarter
 * of that is tokenized and not kept. Thread-safe: the map is guarded by this object's lock, held
 * for lookups and insertions, never while the native tokenizer runs.
 */
final class SegmentCache {

    private final HuggingFaceTokenizer tokenizer;
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

    private SegmentCache(HuggingFaceTokenizer tokenizer, Map<Character, List<Special>> specials, long maxChars) {
        this.tokenizer = tokenizer;
        this.specials = specials;
        this.maxChars = maxChars;
        specials.keySet().forEach(c -> firstChars.set(c));
    }

    /**
     * A cache for {@code tokenizer}, whose {@code tokenizer.json} is {@code json}, or null when the
     * tokenizer has no special token that cuts text safely (see the class comment).
     */
    static SegmentCache create(HuggingFaceTokenizer tokenizer, JsonNode json, long maxChars) {
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
        SegmentCache cache = new SegmentCache(tokenizer, byFirst, maxChars);
        return cache.holdsOn(all) ? cache : null;
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
            int[][] encoded = TokenIds.of(tokenizer, missing, false);
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
