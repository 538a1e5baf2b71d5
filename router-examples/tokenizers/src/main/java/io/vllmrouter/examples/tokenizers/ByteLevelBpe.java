package io.vllmrouter.examples.tokenizers;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Hugging Face's byte-level BPE (the GPT-2 family; checked on the files of GPT-2, Llama 3, Qwen 2.5,
 * GPT-4o's o200k and DeepSeek V3) in Java, for text with no added token in it: what
 * {@code SegmentCache} asks of the tokenizer for the text between special tokens. Through JNI the
 * native tokenizer spends about 1.5 µs per token of a long prompt; this spends about a tenth of
 * that on prose whose words it has met before, and half of it on words never met.
 *
 * <pre>{@code
 * ByteLevelBpe bpe = ByteLevelBpe.from(tokenizerJson, why -> log.debug(why));   // null: a shape it does not reproduce
 * int[] ids = bpe.covers(piece) ? bpe.encode(piece) : nativeIds(piece);
 * }</pre>
 *
 * <p>What it reproduces, step for step with the library ({@code tokenizers/src}): the normalizer
 * (none, or NFC); the pre-tokenizer: {@code Split}s on a regex, each splitting the pieces of the one
 * before, with behaviour {@code Isolated} (the text between matches is a piece too) or
 * {@code Removed} and inverted (the matches alone), then {@code ByteLevel}, whose own regex is
 * GPT-2's when {@code use_regex}; each piece's UTF-8 bytes mapped to the byte alphabet
 * ({@code bytes_to_unicode}); the BPE model, its {@code ignore_merges} (a piece found whole in the
 * vocabulary is one token) and its merges applied lowest rank first, leftmost first among equals
 * ({@code Word::merge_all}). {@link #from} returns null for anything else: another normalizer or
 * pre-tokenizer, dropout, subword prefixes or suffixes, a byte missing from the vocabulary, a
 * pattern Java cannot compile. The regexes run on {@link java.util.regex.Pattern} with Unicode
 * classes ({@code \s}, {@code \p{L}}, case folding), as Oniguruma runs them for the library; text
 * where the two could differ is left to the library ({@link #covers}). Exactness is checked, not
 * assumed: the caller compares this with the native tokenizer on probe texts before use and on a
 * sample of prompts after.
 *
 * <p>Thread-safe: the tables are read-only, the cache of words' ids is concurrent.
 */
final class ByteLevelBpe {

    /** The split pattern {@code ByteLevel} uses with {@code use_regex} true (GPT-2's). */
    static final String GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    /** Words whose ids are kept (the library keeps 10,000 per thread), and the longest kept. */
    private static final int CACHED_WORDS = 50_000;
    private static final int CACHED_WORD_CHARS = 64;

    /** The pre-tokenizer's regex splits, in order, each splitting the pieces of the one before. */
    private final Pattern[] splits;
    /** Per split: whether the text between matches is a piece too (Isolated), or dropped (Removed, inverted). */
    private final boolean[] keepGaps;
    private final boolean nfc;
    private final boolean ignoreMerges;
    /** The vocabulary, keyed by byte-alphabet text. */
    private final Map<String, Integer> vocab;
    /** (left id << 32 | right id) → (rank << 32 | merged id). */
    private final LongLongMap merges;
    /** The id of each byte's symbol, and the byte alphabet's character for each byte. */
    private final int[] byteIds;
    private final char[] byteChars;
    /** Added tokens' contents, by first character: a piece holding one is not ours to tokenize. */
    private final Map<Character, String[]> added;
    private final java.util.BitSet addedFirst = new java.util.BitSet();
    private final ConcurrentHashMap<String, int[]> words = new ConcurrentHashMap<>();

    private ByteLevelBpe(Pattern[] splits, boolean[] keepGaps, boolean nfc, boolean ignoreMerges,
                         Map<String, Integer> vocab, LongLongMap merges, int[] byteIds, char[] byteChars,
                         Map<Character, String[]> added) {
        this.splits = splits;
        this.keepGaps = keepGaps;
        this.nfc = nfc;
        this.ignoreMerges = ignoreMerges;
        this.vocab = vocab;
        this.merges = merges;
        this.byteIds = byteIds;
        this.byteChars = byteChars;
        this.added = added;
        added.keySet().forEach(c -> addedFirst.set(c));
    }

    /** The byte alphabet of byte-level BPE: printable Latin-1 bytes stand for themselves, the others for 256 + n. */
    static char[] byteAlphabet() {
        char[] chars = new char[256];
        boolean[] printable = new boolean[256];
        for (int b = 0; b < 256; b++) {
            printable[b] = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        }
        int n = 0;
        for (int b = 0; b < 256; b++) {
            chars[b] = printable[b] ? (char) b : (char) (256 + n++);
        }
        return chars;
    }

    /**
     * The tokenizer described by {@code json} (a {@code tokenizer.json}), or null when it is not a
     * shape this class reproduces; {@code why} hears the reason.
     */
    static ByteLevelBpe from(JsonNode json, java.util.function.Consumer<String> why) {
        JsonNode model = json.path("model");
        if (!"BPE".equals(model.path("type").asText())) {
            why.accept("its model is " + model.path("type").asText("missing") + ", not BPE");
            return null;
        }
        if (model.path("dropout").isNumber() && model.path("dropout").asDouble() > 0) {
            why.accept("its BPE has dropout");
            return null;
        }
        if (!model.path("continuing_subword_prefix").asText("").isEmpty()
                || !model.path("end_of_word_suffix").asText("").isEmpty()) {
            why.accept("its BPE marks subwords with a prefix or suffix");
            return null;
        }
        JsonNode normalizer = json.path("normalizer");
        List<String> normalizers = new ArrayList<>();
        if ("Sequence".equals(normalizer.path("type").asText())) {
            normalizer.path("normalizers").forEach(n -> normalizers.add(n.path("type").asText("?")));
        } else if (!normalizer.isNull() && !normalizer.isMissingNode()) {
            normalizers.add(normalizer.path("type").asText("?"));
        }
        if (!(normalizers.isEmpty() || normalizers.equals(List.of("NFC")))) {
            why.accept("its normalizer is " + String.join(", ", normalizers) + " (expected none or NFC)");
            return null;
        }
        boolean nfc = !normalizers.isEmpty();
        List<String> patterns = new ArrayList<>();
        List<Boolean> gaps = new ArrayList<>();
        if (!splits(json.path("pre_tokenizer"), patterns, gaps)) {
            why.accept("its pre-tokenizer is not regex splits followed by ByteLevel");
            return null;
        }
        Pattern[] splits = new Pattern[patterns.size()];
        boolean[] keepGaps = new boolean[splits.length];
        for (int i = 0; i < splits.length; i++) {
            try {
                splits[i] = Pattern.compile(patterns.get(i), Pattern.UNICODE_CHARACTER_CLASS);
            } catch (PatternSyntaxException e) {
                why.accept("its split pattern does not compile in Java (" + e.getDescription() + ")");
                return null;
            }
            keepGaps[i] = gaps.get(i);
        }
        Map<String, Integer> vocab = new HashMap<>(model.path("vocab").size() * 2);
        model.path("vocab").fields().forEachRemaining(e -> vocab.put(e.getKey(), e.getValue().asInt()));
        char[] byteChars = byteAlphabet();
        int[] byteIds = new int[256];
        for (int b = 0; b < 256; b++) {
            Integer id = vocab.get(String.valueOf(byteChars[b]));
            if (id == null) {
                why.accept("its vocabulary lacks the symbol of byte " + b);
                return null;
            }
            byteIds[b] = id;
        }
        JsonNode list = model.path("merges");
        LongLongMap merges = new LongLongMap(list.size());
        int rank = 0;
        for (JsonNode m : list) {
            String left;
            String right;
            if (m.isArray() && m.size() == 2) {
                left = m.get(0).asText();
                right = m.get(1).asText();
            } else {
                String s = m.asText();
                int space = s.indexOf(' ', 1);
                if (space < 0) {
                    why.accept("its merge \"" + s + "\" is not two symbols");
                    return null;
                }
                left = s.substring(0, space);
                right = s.substring(space + 1);
            }
            Integer l = vocab.get(left);
            Integer r = vocab.get(right);
            Integer merged = vocab.get(left + right);
            if (l == null || r == null || merged == null) {
                why.accept("its merge \"" + left + " " + right + "\" names a symbol missing from the vocabulary");
                return null;
            }
            long key = pair(l, r);
            if (!merges.contains(key)) {      // the library keeps the first rank of a pair listed twice
                merges.put(key, ((long) rank << 32) | merged);
            }
            rank++;
        }
        Map<Character, java.util.List<String>> byFirst = new HashMap<>();
        for (JsonNode t : json.path("added_tokens")) {
            String content = t.path("content").asText("");
            if (!content.isEmpty()) {
                byFirst.computeIfAbsent(content.charAt(0), c -> new java.util.ArrayList<>()).add(content);
            }
        }
        Map<Character, String[]> added = new HashMap<>();
        byFirst.forEach((c, l) -> added.put(c, l.toArray(new String[0])));
        return new ByteLevelBpe(splits, keepGaps, nfc, model.path("ignore_merges").asBoolean(false), vocab, merges,
                byteIds, byteChars, added);
    }

    /**
     * Reads the pre-tokenizer into {@code patterns} (and whether each keeps the text between its
     * matches): {@code Split}s on a regex, Isolated (or Removed and inverted: the matches alone),
     * then {@code ByteLevel}, whose own regex (GPT-2's, when {@code use_regex}) comes last. False
     * for any other shape.
     */
    private static boolean splits(JsonNode pre, List<String> patterns, List<Boolean> gaps) {
        List<JsonNode> steps = new ArrayList<>();
        if ("Sequence".equals(pre.path("type").asText())) {
            pre.path("pretokenizers").forEach(steps::add);
        } else {
            steps.add(pre);
        }
        if (steps.isEmpty()) {
            return false;
        }
        for (int i = 0; i < steps.size() - 1; i++) {
            JsonNode s = steps.get(i);
            String behavior = s.path("behavior").asText();
            boolean invert = s.path("invert").asBoolean(false);
            if (!"Split".equals(s.path("type").asText()) || !s.path("pattern").path("Regex").isTextual()) {
                return false;
            }
            if (behavior.equals("Isolated") && !invert) {
                gaps.add(true);
            } else if (behavior.equals("Removed") && invert) {
                gaps.add(false);
            } else {
                return false;
            }
            patterns.add(s.path("pattern").path("Regex").asText());
        }
        JsonNode b = steps.get(steps.size() - 1);
        if (!"ByteLevel".equals(b.path("type").asText()) || b.path("add_prefix_space").asBoolean(false)) {
            return false;
        }
        if (b.path("use_regex").asBoolean(true)) {
            patterns.add(GPT2_PATTERN);
            gaps.add(true);
        }
        return !patterns.isEmpty();
    }

    /**
     * Whether {@code text} is ours to tokenize: it holds no added token (which the library would cut
     * out first), no lone surrogate (which Java and Rust encode differently), and no character this
     * JDK's Unicode tables leave unassigned (a newer one, which the library's regex engine may class
     * otherwise).
     */
    boolean covers(String text) {
        for (int i = 0, n = text.length(); i < n; i++) {
            char c = text.charAt(i);
            int at = i;
            if (c >= 0x80) {
                int cp = c;
                if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(text.charAt(i + 1))) {
                    cp = Character.toCodePoint(c, text.charAt(++i));
                } else if (Character.isSurrogate(c)) {
                    return false;
                }
                if (Character.getType(cp) == Character.UNASSIGNED) {
                    return false;
                }
            }
            if (addedFirst.get(c)) {
                for (String a : added.get(c)) {
                    if (text.startsWith(a, at)) {
                        return false;
                    }
                }
            }
        }
        return true;
    }

    /** The ids of {@code text}, which {@link #covers} (no special tokens added). */
    int[] encode(String text) {
        String t = nfc ? Normalizer.normalize(text, Normalizer.Form.NFC) : text;
        Ids out = new Ids(Math.max(16, t.length() / 3));
        split(t, 0, out);
        return out.toArray();
    }

    /** Splits {@code t} by split {@code level} and the ones after it; each final piece through BPE. */
    private void split(String t, int level, Ids out) {
        if (level == splits.length) {
            word(t, out);
            return;
        }
        Matcher m = splits[level].matcher(t);
        boolean gaps = keepGaps[level];
        int from = 0;
        while (m.find()) {
            if (m.start() == m.end()) {
                continue;
            }
            if (gaps && m.start() > from) {
                split(t.substring(from, m.start()), level + 1, out);
            }
            split(m.start() == 0 && m.end() == t.length() ? t : t.substring(m.start(), m.end()), level + 1, out);
            from = m.end();
        }
        if (gaps && from < t.length()) {
            split(from == 0 ? t : t.substring(from), level + 1, out);
        }
    }

    /** Appends the ids of one piece of the split. */
    private void word(String w, Ids out) {
        int[] ids = words.get(w);
        if (ids == null) {
            ids = merge(w);
            if (w.length() <= CACHED_WORD_CHARS && words.size() < CACHED_WORDS) {
                words.putIfAbsent(w, ids);
            }
        }
        out.add(ids);
    }

    /** One piece through the byte alphabet and the BPE model. */
    private int[] merge(String w) {
        byte[] bytes = w.getBytes(StandardCharsets.UTF_8);
        int n = bytes.length;
        if (ignoreMerges) {
            char[] mapped = new char[n];
            for (int i = 0; i < n; i++) {
                mapped[i] = byteChars[bytes[i] & 0xff];
            }
            Integer id = vocab.get(new String(mapped));
            if (id != null) {
                return new int[] {id};
            }
        }
        int[] ids = new int[n];
        int[] next = new int[n];
        int[] prev = new int[n];
        boolean[] gone = new boolean[n];
        for (int i = 0; i < n; i++) {
            ids[i] = byteIds[bytes[i] & 0xff];
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        LongHeap queue = new LongHeap(n);
        for (int i = 0; i + 1 < n; i++) {
            long m = merges.get(pair(ids[i], ids[i + 1]));
            if (m >= 0) {
                queue.push((m >>> 32) << 32 | i);
            }
        }
        int left = n;
        while (!queue.isEmpty()) {
            long top = queue.pop();
            int pos = (int) top;
            long rank = top >>> 32;
            if (gone[pos] || next[pos] < 0) {
                continue;
            }
            int right = next[pos];
            long m = merges.get(pair(ids[pos], ids[right]));
            if (m < 0 || (m >>> 32) != rank) {
                continue;                  // an entry for a pair that has changed since
            }
            ids[pos] = (int) m;
            gone[right] = true;
            left--;
            next[pos] = next[right];
            if (next[pos] >= 0) {
                prev[next[pos]] = pos;
            }
            if (prev[pos] >= 0) {
                long p = merges.get(pair(ids[prev[pos]], ids[pos]));
                if (p >= 0) {
                    queue.push((p >>> 32) << 32 | prev[pos]);
                }
            }
            if (next[pos] >= 0) {
                long q = merges.get(pair(ids[pos], ids[next[pos]]));
                if (q >= 0) {
                    queue.push((q >>> 32) << 32 | pos);
                }
            }
        }
        int[] out = new int[left];
        for (int i = 0, k = 0; i >= 0 && i < n; i = next[i]) {
            out[k++] = ids[i];
        }
        return out;
    }

    private static long pair(int left, int right) {
        return ((long) left << 32) | (right & 0xffffffffL);
    }

    /** A growable int list. */
    private static final class Ids {
        private int[] a;
        private int size;

        Ids(int capacity) {
            a = new int[capacity];
        }

        void add(int[] ids) {
            if (size + ids.length > a.length) {
                a = java.util.Arrays.copyOf(a, Math.max(a.length * 2, size + ids.length));
            }
            System.arraycopy(ids, 0, a, size, ids.length);
            size += ids.length;
        }

        int[] toArray() {
            return java.util.Arrays.copyOf(a, size);
        }
    }

    /** A min-heap of longs. */
    private static final class LongHeap {
        private long[] a;
        private int size;

        LongHeap(int capacity) {
            a = new long[Math.max(4, capacity)];
        }

        boolean isEmpty() {
            return size == 0;
        }

        void push(long v) {
            if (size == a.length) {
                a = java.util.Arrays.copyOf(a, size * 2);
            }
            int i = size++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (a[parent] <= v) {
                    break;
                }
                a[i] = a[parent];
                i = parent;
            }
            a[i] = v;
        }

        long pop() {
            long top = a[0];
            long last = a[--size];
            int i = 0;
            while (true) {
                int child = 2 * i + 1;
                if (child >= size) {
                    break;
                }
                if (child + 1 < size && a[child + 1] < a[child]) {
                    child++;
                }
                if (a[child] >= last) {
                    break;
                }
                a[i] = a[child];
                i = child;
            }
            if (size > 0) {
                a[i] = last;
            }
            return top;
        }
    }

    /**
     * An open-addressing map from long keys to non-negative long values, -1 for a missing key; each
     * key beside its value, so a lookup touches one cache line.
     */
    static final class LongLongMap {
        private static final long EMPTY = Long.MIN_VALUE;
        private final long[] slots;      // key, value, key, value...
        private final int mask;

        LongLongMap(int expected) {
            int capacity = Integer.highestOneBit(Math.max(16, expected + expected / 2) * 2 - 1);   // at most 2/3 full
            slots = new long[capacity * 2];
            mask = capacity - 1;
            for (int i = 0; i < slots.length; i += 2) {
                slots[i] = EMPTY;
            }
        }

        private int slot(long key) {
            long h = key * 0x9E3779B97F4A7C15L;
            return (int) (h ^ (h >>> 32)) & mask;
        }

        void put(long key, long value) {
            int i = slot(key);
            while (slots[2 * i] != EMPTY && slots[2 * i] != key) {
                i = (i + 1) & mask;
            }
            slots[2 * i] = key;
            slots[2 * i + 1] = value;
        }

        boolean contains(long key) {
            return get(key) >= 0;
        }

        long get(long key) {
            int i = slot(key);
            while (true) {
                long k = slots[2 * i];
                if (k == key) {
                    return slots[2 * i + 1];
                }
                if (k == EMPTY) {
                    return -1;
                }
                i = (i + 1) & mask;
            }
        }
    }
}
