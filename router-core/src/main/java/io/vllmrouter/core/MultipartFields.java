package io.vllmrouter.core;

import io.vllmrouter.api.InvalidRequestException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The form fields routing needs from a {@code multipart/form-data} body (vLLM's
 * {@code /v1/audio/transcriptions} and {@code /v1/audio/translations} uploads): {@code model} and
 * {@code stream}.
 *
 * <pre>{@code
 * MultipartFields.Fields f = MultipartFields.read(body, "multipart/form-data; boundary=x7");
 * f.model();   // "openai/whisper-large-v3", or null when the form has no model field
 * }</pre>
 *
 * <p>Only part headers and those two small parts are read; the upload is skipped by searching for
 * the next boundary in place (Horspool), never copied. Reading stops as soon as both fields are
 * found; clients send form fields before files, so the upload is usually not scanned at all. The
 * body is already bounded by the router's body limit. A body that is not well-formed multipart
 * gives what was found before the damage (often nothing, meaning "any model"): the server that gets
 * it answers the malformed form itself.
 *
 * <p>Stateless, thread-safe.
 */
final class MultipartFields {

    /** Longest {@code model} value taken; a longer one is refused (400). */
    static final int MAX_MODEL_BYTES = 1024;
    /** Longest part header block read; a longer one ends the reading. */
    private static final int MAX_HEADER_BYTES = 8192;

    /** What was found: the {@code model} field (null when absent) and whether {@code stream} is true. */
    record Fields(String model, boolean stream) {
        static final Fields NONE = new Fields(null, false);
    }

    private MultipartFields() {
    }

    /** Whether {@code contentType} is {@code multipart/form-data}. */
    static boolean isForm(String contentType) {
        return contentType != null && contentType.regionMatches(true, 0, "multipart/form-data", 0, 19);
    }

    /**
     * Reads the fields from {@code body}.
     *
     * @throws InvalidRequestException when the {@code model} field is longer than {@value #MAX_MODEL_BYTES}
     *                                 bytes or not UTF-8 text
     */
    static Fields read(byte[] body, String contentType) {
        String boundary = boundary(contentType);
        if (boundary == null) {
            return Fields.NONE;
        }
        // Every boundary after the first is preceded by a line end; "\n--" + boundary also finds CRLF ones.
        byte[] delimiter = ("\n--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
        int[] skip = skipTable(delimiter);
        int at = startsWith(body, 0, delimiter, 1) ? 0 : indexOf(body, 0, delimiter, skip);
        String model = null;
        Boolean stream = null;
        while (at >= 0 && (model == null || stream == null)) {
            int p = at + (at == 0 && body.length > 0 && body[0] == '-' ? delimiter.length - 1 : delimiter.length);
            if (p + 1 < body.length && body[p] == '-' && body[p + 1] == '-') {
                break;                                    // the closing boundary
            }
            int headersStart = lineAfter(body, p);
            int headersEnd = headersStart < 0 ? -1 : blankLine(body, headersStart);
            if (headersEnd < 0) {
                break;
            }
            String name = fieldName(body, headersStart, headersEnd);
            int contentStart = lineAfter(body, headersEnd);
            int next = contentStart < 0 ? -1 : indexOf(body, contentStart, delimiter, skip);
            if (next < 0) {
                break;
            }
            int contentEnd = next > contentStart && body[next - 1] == '\r' ? next - 1 : next;
            if ("model".equals(name)) {
                model = model(body, contentStart, contentEnd);
            } else if ("stream".equals(name)) {
                stream = isTrue(new String(body, contentStart, Math.min(contentEnd - contentStart, 8),
                        StandardCharsets.ISO_8859_1));
            }
            at = next;
        }
        return new Fields(model, stream != null && stream);
    }

    /** The {@code boundary} parameter of the Content-Type, unquoted; null when absent or empty. */
    static String boundary(String contentType) {
        String lower = contentType.toLowerCase(Locale.ROOT);
        int i = lower.indexOf("boundary=");
        while (i > 0 && !(lower.charAt(i - 1) == ';' || lower.charAt(i - 1) == ' ' || lower.charAt(i - 1) == '\t')) {
            i = lower.indexOf("boundary=", i + 1);
        }
        if (i < 0) {
            return null;
        }
        String v = contentType.substring(i + 9).strip();
        if (v.startsWith("\"")) {
            int close = v.indexOf('"', 1);
            v = close < 0 ? v.substring(1) : v.substring(1, close);
        } else {
            int end = v.indexOf(';');
            v = (end < 0 ? v : v.substring(0, end)).strip();
        }
        return v.isEmpty() || v.length() > 200 ? null : v;
    }

    private static String model(byte[] body, int start, int end) {
        if (end - start > MAX_MODEL_BYTES) {
            throw new InvalidRequestException("The 'model' form field is longer than " + MAX_MODEL_BYTES + " bytes", null);
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .decode(java.nio.ByteBuffer.wrap(body, start, end - start)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new InvalidRequestException("The 'model' form field is not UTF-8 text", e);
        }
    }

    /** A form's true as pydantic reads it: true, 1, yes, on, t, y in any case. */
    private static boolean isTrue(String v) {
        String s = v.strip().toLowerCase(Locale.ROOT);
        return s.equals("true") || s.equals("1") || s.equals("yes") || s.equals("on") || s.equals("t") || s.equals("y");
    }

    /**
     * The {@code name} parameter of the part's {@code Content-Disposition: form-data} header, or
     * null. Header names are matched without case; the value may be quoted.
     */
    private static String fieldName(byte[] body, int start, int end) {
        String headers = new String(body, start, end - start, StandardCharsets.UTF_8);
        for (String line : headers.split("\r?\n")) {
            int colon = line.indexOf(':');
            if (colon < 0 || !line.substring(0, colon).strip().equalsIgnoreCase("content-disposition")) {
                continue;
            }
            for (String param : line.substring(colon + 1).split(";")) {
                String p = param.strip();
                if (p.regionMatches(true, 0, "name=", 0, 5)) {
                    String v = p.substring(5).strip();
                    return v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"") ? v.substring(1, v.length() - 1) : v;
                }
            }
        }
        return null;
    }

    /** The index after the line end that follows {@code from}, or -1. */
    private static int lineAfter(byte[] b, int from) {
        for (int i = from; i < b.length && i - from <= MAX_HEADER_BYTES; i++) {
            if (b[i] == '\n') {
                return i + 1;
            }
        }
        return -1;
    }

    /** The index of the empty line that ends the part headers starting at {@code from}, or -1. */
    private static int blankLine(byte[] b, int from) {
        int i = from;
        while (i < b.length && i - from <= MAX_HEADER_BYTES) {
            if (b[i] == '\n' || (b[i] == '\r' && i + 1 < b.length && b[i + 1] == '\n')) {
                return i;                                   // the headers end before this empty line
            }
            int next = lineAfter(b, i);
            if (next < 0) {
                return -1;
            }
            i = next;
        }
        return -1;
    }

    private static boolean startsWith(byte[] b, int at, byte[] pattern, int patternFrom) {
        if (b.length - at < pattern.length - patternFrom) {
            return false;
        }
        for (int i = patternFrom; i < pattern.length; i++) {
            if (b[at + i - patternFrom] != pattern[i]) {
                return false;
            }
        }
        return true;
    }

    private static int[] skipTable(byte[] pattern) {
        int[] skip = new int[256];
        java.util.Arrays.fill(skip, pattern.length);
        for (int i = 0; i < pattern.length - 1; i++) {
            skip[pattern[i] & 0xff] = pattern.length - 1 - i;
        }
        return skip;
    }

    /** Horspool search for {@code pattern} in {@code b} from {@code from}; -1 when absent. */
    private static int indexOf(byte[] b, int from, byte[] pattern, int[] skip) {
        int last = pattern.length - 1;
        int i = Math.max(0, from);
        while (i + last < b.length) {
            int j = last;
            while (j >= 0 && b[i + j] == pattern[j]) {
                j--;
            }
            if (j < 0) {
                return i;
            }
            i += skip[b[i + last] & 0xff];
        }
        return -1;
    }
}
