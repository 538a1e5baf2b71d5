package io.vllmrouter.core;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import io.vllmrouter.api.InvalidRequestException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The top-level fields of a JSON request body that routing reads: {@code model}, {@code stream},
 * {@code user} and the answer's token limits, with the whole body checked to be one JSON object.
 *
 * <p>Two readers give the same answer. {@link #scan} is a strict one-pass check of the common case,
 * written for this one job: it allocates only the strings it returns, and gives up ({@code null})
 * on anything it does not take as certainly valid with the values it reads: an escape in a name or
 * in {@code model} or {@code user}, a field of the wrong type, deep nesting, an unusual number, an
 * invalid or unusual UTF-8 sequence, a BOM, any error. {@link #parse} is Jackson's streaming parser
 * and the authority: it reads whatever {@code scan} left, and words every refusal. (One refusal of
 * Jackson's the scan does not make: a body whose many names collide in Jackson's name table, which
 * it refuses as a suspected attack on its hashing; the scan keeps no table.) On a small chat
 * request, Jackson's fixed cost per parser (its context, buffers and name table) was most of what
 * reading the body cost the router.
 */
final class BodyFields {

    /** Bodies this long go to Jackson, whose limits (20 million characters a string) then decide. */
    private static final int SCAN_LIMIT = 16 << 20;
    /** Containers nested deeper go to Jackson (its own limit is 1,000). */
    private static final int SCAN_DEPTH = 63;
    /** A number this long goes to Jackson (its own limit is 1,000 characters). */
    private static final int SCAN_NUMBER = 100;
    /** A name of more bytes goes to Jackson (its own limit is 50,000 characters). */
    private static final int SCAN_NAME = 10_000;

    private static final byte[] MODEL = bytes("model");
    private static final byte[] STREAM = bytes("stream");
    private static final byte[] USER = bytes("user");
    private static final byte[] MAX_TOKENS = bytes("max_tokens");
    private static final byte[] MAX_COMPLETION_TOKENS = bytes("max_completion_tokens");
    private static final byte[] MAX_OUTPUT_TOKENS = bytes("max_output_tokens");

    String model;
    boolean stream;
    String user;
    /** {@code max_tokens}, or -1 when absent or not a positive int. */
    int maxTokens = -1;
    /** {@code max_completion_tokens} or {@code max_output_tokens} (the last given), or -1. */
    int maxCompletionTokens = -1;

    private BodyFields() {
    }

    /** The answer's token limit: chat's newer name wins over {@code max_tokens}; -1 when neither. */
    int answerTokens() {
        return maxCompletionTokens > 0 ? maxCompletionTokens : maxTokens;
    }

    /** The fields of {@code body}, whichever reader takes it; a body that is not one JSON object with fields of the right types is refused. */
    static BodyFields of(byte[] body) {
        BodyFields fields = scan(body);
        return fields != null ? fields : parse(body);
    }

    // ---- Jackson: the authority -----------------------------------------------------------------

    /** Reads {@code body} with Jackson; throws {@link InvalidRequestException} with its reason. */
    static BodyFields parse(byte[] body) {
        BodyFields f = new BodyFields();
        try (JsonParser p = RouterJson.factory().createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new InvalidRequestException("Request body must be a JSON object", null);
            }
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                switch (name) {
                    case "model" -> {
                        if (v == JsonToken.VALUE_STRING) {
                            f.model = p.getText();
                        } else if (v != JsonToken.VALUE_NULL) {
                            throw new InvalidRequestException("'model' must be a string, got " + v, null);
                        }
                    }
                    case "stream" -> {
                        if (v == JsonToken.VALUE_TRUE || v == JsonToken.VALUE_FALSE) {
                            f.stream = v == JsonToken.VALUE_TRUE;
                        } else if (v != JsonToken.VALUE_NULL) {
                            throw new InvalidRequestException("'stream' must be a boolean, got " + v, null);
                        }
                    }
                    case "user" -> {
                        if (v == JsonToken.VALUE_STRING) {
                            f.user = p.getText();
                        }
                        p.skipChildren();
                    }
                    case "max_tokens" -> f.maxTokens = positiveInt(p, v, f.maxTokens);
                    case "max_completion_tokens", "max_output_tokens" ->
                            f.maxCompletionTokens = positiveInt(p, v, f.maxCompletionTokens);
                    default -> p.skipChildren();
                }
            }
            if (t != JsonToken.END_OBJECT || p.nextToken() != null) {
                throw new InvalidRequestException("Request body is not valid JSON: trailing content", null);
            }
        } catch (JsonProcessingException e) {
            throw new InvalidRequestException("Request body is not valid JSON: " + jsonProblem(e), e);
        } catch (IOException e) {
            throw new InvalidRequestException("Request body could not be read: " + e.getMessage(), e);
        }
        return f;
    }

    /** Jackson's " (start marker at [Source: REDACTED (`...` disabled); line: 1, column: 25])" in a caller's words. */
    private static final java.util.regex.Pattern START_MARKER =
            java.util.regex.Pattern.compile(" \\(start marker at \\[Source: .*?line: (\\d+), column: (\\d+)\\]\\)");

    /** What is wrong with a body, as Jackson says it, without its parser's jargon. */
    private static String jsonProblem(JsonProcessingException e) {
        String why = e.getOriginalMessage();
        java.util.regex.Matcher m = START_MARKER.matcher(why);
        return m.find()
                ? why.substring(0, m.start()) + " (opened at line " + m.group(1) + ", column " + m.group(2) + ")"
                : why;
    }

    /** A positive integer value, else {@code otherwise} (a wrong value is the backend's to refuse). */
    private static int positiveInt(JsonParser p, JsonToken v, int otherwise) throws IOException {
        if (v == JsonToken.VALUE_NUMBER_INT && p.getNumberType() == JsonParser.NumberType.INT && p.getIntValue() > 0) {
            return p.getIntValue();
        }
        p.skipChildren();
        return otherwise;
    }

    // ---- the scan: the common case, or null -----------------------------------------------------

    /** The fields, when {@code body} is certainly one valid JSON object whose fields this reads as {@link #parse} would; else null. */
    static BodyFields scan(byte[] b) {
        int n = b.length;
        if (n > SCAN_LIMIT) {
            return null;
        }
        int i = ws(b, 0);
        if (i >= n || b[i] != '{') {
            return null;
        }
        BodyFields f = new BodyFields();
        i = ws(b, i + 1);
        if (i < n && b[i] == '}') {
            i++;
        } else {
            while (true) {
                if (i >= n || b[i] != '"') {
                    return null;
                }
                int nameEnd = string(b, i + 1, false);
                if (nameEnd < 0 || nameEnd - i > SCAN_NAME) {
                    return null;
                }
                int at = colon(b, nameEnd);
                if (at < 0) {
                    return null;
                }
                i = f.member(b, i + 1, nameEnd - 1, at);
                if (i < 0) {
                    return null;
                }
                i = ws(b, i);
                if (i >= n) {
                    return null;
                }
                if (b[i] == '}') {
                    i++;
                    break;
                }
                if (b[i] != ',') {
                    return null;
                }
                i = ws(b, i + 1);
            }
        }
        return ws(b, i) == n ? f : null;
    }

    /** Reads the value at {@code at} of the top-level name in {@code [s, e)}; its end, or -1. */
    private int member(byte[] b, int s, int e, int at) {
        int len = e - s;
        if (is(b, s, len, MODEL)) {
            if (b[at] == '"') {
                int end = string(b, at + 1, false);
                if (end > 0) {
                    model = new String(b, at + 1, end - at - 2, StandardCharsets.UTF_8);
                }
                return end;
            }
            return literal(b, at, "null");
        }
        if (is(b, s, len, STREAM)) {
            int end = literal(b, at, "true");
            if (end > 0) {
                stream = true;
                return end;
            }
            end = literal(b, at, "false");
            if (end > 0) {
                stream = false;
                return end;
            }
            return literal(b, at, "null");
        }
        if (is(b, s, len, USER) && b[at] == '"') {
            int end = string(b, at + 1, false);
            if (end > 0) {
                user = new String(b, at + 1, end - at - 2, StandardCharsets.UTF_8);
            }
            return end;
        }
        int end = skipValue(b, at);
        if (end > 0) {
            boolean max = is(b, s, len, MAX_TOKENS);
            if (max || is(b, s, len, MAX_COMPLETION_TOKENS) || is(b, s, len, MAX_OUTPUT_TOKENS)) {
                int value = positiveInt(b, at, end);
                if (value == -2) {
                    return -1;
                }
                if (value > 0 && max) {
                    maxTokens = value;
                } else if (value > 0) {
                    maxCompletionTokens = value;
                }
            }
        }
        return end;
    }

    /** The value in {@code [s, e)} as a positive int of at most nine digits; -1 when it is not one; -2 when only Jackson can tell (ten digits or more). */
    private static int positiveInt(byte[] b, int s, int e) {
        int value = 0;
        for (int i = s; i < e; i++) {
            int d = b[i] - '0';
            if (d < 0 || d > 9) {
                return -1;
            }
            value = value * 10 + d;
        }
        if (e - s > 9) {
            return -2;
        }
        return value > 0 ? value : -1;
    }

    private static boolean is(byte[] b, int s, int len, byte[] name) {
        return len == name.length && Arrays.equals(b, s, s + len, name, 0, len);
    }

    /** After a name ending before {@code i}: whitespace, a colon, whitespace; the value's start, or -1. */
    private static int colon(byte[] b, int i) {
        i = ws(b, i);
        if (i >= b.length || b[i] != ':') {
            return -1;
        }
        i = ws(b, i + 1);
        return i < b.length ? i : -1;
    }

    /** The end of the value at {@code i}, nested containers included, or -1. */
    private static int skipValue(byte[] b, int i) {
        int n = b.length;
        long arrays = 0; // one bit per open container, 1 for an array
        int depth = 0;
        while (true) {
            if (i < 0 || i >= n) {
                return -1;
            }
            switch (b[i]) {
                case '"' -> i = string(b, i + 1, true);
                case 't' -> i = literal(b, i, "true");
                case 'f' -> i = literal(b, i, "false");
                case 'n' -> i = literal(b, i, "null");
                case '{', '[' -> {
                    boolean array = b[i] == '[';
                    if (depth == SCAN_DEPTH) {
                        return -1;
                    }
                    i = ws(b, i + 1);
                    if (i < n && b[i] == (array ? ']' : '}')) {
                        i++;
                        break;
                    }
                    arrays = arrays << 1 | (array ? 1 : 0);
                    depth++;
                    if (!array) {
                        i = name(b, i);
                    }
                    continue;
                }
                default -> i = number(b, i);
            }
            // a value ended at i: close what it ends, or go on to the next element
            while (true) {
                if (i < 0 || depth == 0) {
                    return i;
                }
                i = ws(b, i);
                if (i >= n) {
                    return -1;
                }
                boolean array = (arrays & 1) != 0;
                if (b[i] == (array ? ']' : '}')) {
                    i++;
                    arrays >>>= 1;
                    depth--;
                } else if (b[i] == ',') {
                    i = ws(b, i + 1);
                    if (!array) {
                        i = name(b, i);
                    }
                    break;
                } else {
                    return -1;
                }
            }
            if (i < 0) {
                return -1;
            }
        }
    }

    /** A member's name at {@code i}, then its colon; the value's start, or -1. */
    private static int name(byte[] b, int i) {
        if (i >= b.length || b[i] != '"') {
            return -1;
        }
        int end = string(b, i + 1, true);
        return end < 0 || end - i > SCAN_NAME ? -1 : colon(b, end);
    }

    /**
     * The end (past its closing quote) of the string whose characters start at {@code i}, or -1
     * when it is not valid, or has an escape and {@code escapes} is false.
     */
    private static int string(byte[] b, int i, boolean escapes) {
        int n = b.length;
        while (i < n) {
            int c = b[i];
            if (c >= 0x20 && c != '"' && c != '\\') {
                i++;
            } else if (c == '"') {
                return i + 1;
            } else if (c == '\\') {
                if (!escapes) {
                    return -1;
                }
                i = escape(b, i + 1);
            } else if (c < 0) {
                i = utf8(b, i);
            } else {
                return -1; // a control character
            }
            if (i < 0) {
                return -1;
            }
        }
        return -1;
    }

    /**
     * The end of the escape whose letter is at {@code i}, or -1. A character past U+FFFF is escaped
     * as a surrogate pair, two escapes of six characters (as JSON encoders that write ASCII only send
     * an emoji): a pair is taken whole; a lone surrogate goes to Jackson, which refuses one in a name.
     */
    private static int escape(byte[] b, int i) {
        if (i >= b.length) {
            return -1;
        }
        switch (b[i]) {
            case '"', '\\', '/', 'b', 'f', 'n', 'r', 't' -> {
                return i + 1;
            }
            case 'u' -> {
                int code = hex4(b, i + 1);
                if (code < 0xD800 || code > 0xDFFF) {
                    return code < 0 ? -1 : i + 5;
                }
                boolean pair = code <= 0xDBFF && i + 6 < b.length && b[i + 5] == '\\' && b[i + 6] == 'u';
                int low = pair ? hex4(b, i + 7) : -1;
                return low >= 0xDC00 && low <= 0xDFFF ? i + 11 : -1;
            }
            default -> {
                return -1;
            }
        }
    }

    /** The four hex digits from {@code i} as a number, or -1. */
    private static int hex4(byte[] b, int i) {
        if (i + 4 > b.length) {
            return -1;
        }
        int code = 0;
        for (int k = 0; k < 4; k++) {
            int d = Character.digit(b[i + k], 16);
            if (d < 0) {
                return -1;
            }
            code = code << 4 | d;
        }
        return code;
    }

    /** The end of the well-formed UTF-8 sequence of two to four bytes at {@code i} (RFC 3629), or -1. */
    private static int utf8(byte[] b, int i) {
        int lead = b[i] & 0xFF;
        int count;
        int lo = 0x80;
        int hi = 0xBF;
        if (lead >= 0xC2 && lead <= 0xDF) {
            count = 1;
        } else if (lead >= 0xE0 && lead <= 0xEF) {
            count = 2;
            lo = lead == 0xE0 ? 0xA0 : 0x80; // no overlong form
            hi = lead == 0xED ? 0x9F : 0xBF; // no surrogate
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            count = 3;
            lo = lead == 0xF0 ? 0x90 : 0x80;
            hi = lead == 0xF4 ? 0x8F : 0xBF; // nothing past U+10FFFF
        } else {
            return -1;
        }
        if (i + count >= b.length) {
            return -1;
        }
        int second = b[i + 1] & 0xFF;
        if (second < lo || second > hi) {
            return -1;
        }
        for (int k = 2; k <= count; k++) {
            if ((b[i + k] & 0xC0) != 0x80) {
                return -1;
            }
        }
        return i + count + 1;
    }

    /** The end of {@code word} at {@code i}, or -1. */
    private static int literal(byte[] b, int i, String word) {
        int len = word.length();
        if (i + len > b.length) {
            return -1;
        }
        for (int k = 0; k < len; k++) {
            if (b[i + k] != word.charAt(k)) {
                return -1;
            }
        }
        return i + len;
    }

    /** The end of the number at {@code i} in JSON's grammar (no leading zero, no lone dot), or -1. */
    private static int number(byte[] b, int i) {
        int n = b.length;
        int start = i;
        if (i < n && b[i] == '-') {
            i++;
        }
        if (i < n && b[i] == '0') {
            i++;
        } else {
            int d = digits(b, i);
            if (d == i) {
                return -1;
            }
            i = d;
        }
        if (i < n && b[i] == '.') {
            int d = digits(b, i + 1);
            if (d == i + 1) {
                return -1;
            }
            i = d;
        }
        if (i < n && (b[i] == 'e' || b[i] == 'E')) {
            i++;
            if (i < n && (b[i] == '+' || b[i] == '-')) {
                i++;
            }
            int d = digits(b, i);
            if (d == i) {
                return -1;
            }
            i = d;
        }
        return i - start > SCAN_NUMBER ? -1 : i;
    }

    private static int digits(byte[] b, int i) {
        while (i < b.length && b[i] >= '0' && b[i] <= '9') {
            i++;
        }
        return i;
    }

    /** Past JSON's whitespace (space, tab, line feed, carriage return) from {@code i}. */
    private static int ws(byte[] b, int i) {
        while (i < b.length) {
            byte c = b[i];
            if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
                break;
            }
            i++;
        }
        return i;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
