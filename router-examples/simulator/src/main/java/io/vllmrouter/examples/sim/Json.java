package io.vllmrouter.examples.sim;

/** Small helpers for the JSON the simulator writes by hand (no tree per event). */
final class Json {

    private Json() {
    }

    /** {@code s} as a JSON string literal, quotes included. */
    static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2);
        appendQuoted(b, s);
        return b.toString();
    }

    static void appendQuoted(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                case '\r': b.append("\\r"); break;
                case '\t': b.append("\\t"); break;
                default:
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
            }
        }
        b.append('"');
    }

    /** OpenAI's error shape as vLLM prints it. */
    static String error(String message, String type, String param, int code) {
        StringBuilder b = new StringBuilder(128);
        b.append("{\"error\":{\"message\":");
        appendQuoted(b, message);
        b.append(",\"type\":");
        appendQuoted(b, type);
        b.append(",\"param\":");
        if (param == null) {
            b.append("null");
        } else {
            appendQuoted(b, param);
        }
        b.append(",\"code\":").append(code).append("}}");
        return b.toString();
    }
}
