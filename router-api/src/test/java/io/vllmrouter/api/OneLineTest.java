package io.vllmrouter.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

class OneLineTest {

    @Test
    void textWithNothingToEscapeIsReturnedAsItIs() {
        String s = "POST /v1/chat/completions \"quoted\" é 🙂";
        assertThat(OneLine.escape(s)).isSameAs(s);
        assertThat(OneLine.escape(null)).isNull();
        assertThat(OneLine.escape("")).isEmpty();
    }

    @Test
    void lineBreaksControlsAndSeparatorsBecomeEscapes() {
        assertThat(OneLine.escape("GET /a\r\nX-Forged: 1")).isEqualTo("GET /a\\r\\nX-Forged: 1");
        assertThat(OneLine.escape("a\tb\\c")).isEqualTo("a\\tb\\\\c");
        assertThat(OneLine.escape("\u0000\u001b[31m\u007f")).isEqualTo("\\u0000\\u001b[31m\\u007f");
        assertThat(OneLine.escape("x\u0085y\u2028z\u2029")).isEqualTo("x\\u0085y\\u2028z\\u2029");
        assertThat(OneLine.escape("\u009f\u00a0")).isEqualTo("\\u009f\u00a0");
    }

    @Test
    void quotedWritesABasicStringWithItsQuotesEscaped() {
        assertThat(OneLine.quoted("a \"b\"")).isEqualTo("\"a \\\"b\\\"\"");
        assertThat(OneLine.quoted("line\nnext\\")).isEqualTo("\"line\\nnext\\\\\"");
        assertThat(OneLine.quoted("")).isEqualTo("\"\"");
        assertThat(OneLine.quoted(null)).isEqualTo("null");
        assertThat(OneLine.escape("a \"b\"")).isEqualTo("a \"b\"");
    }

    @Test
    void anyTextComesOutOnOneLineAndReadsBack() {
        Random random = new Random(7);
        String alphabet = "ab \"\\\n\r\t\u0000\u0001\u001f\u007f\u0085\u009f\u00a0é\u2028\u2029\ud83d\ude42";
        for (int n = 0; n < 2_000; n++) {
            StringBuilder b = new StringBuilder();
            for (int len = random.nextInt(12); len > 0; len--) {
                b.append(alphabet.charAt(random.nextInt(alphabet.length())));
            }
            String s = b.toString();
            for (String out : new String[] {OneLine.escape(s), OneLine.quoted(s)}) {
                assertThat(out.chars()).noneMatch(c -> c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029);
            }
            assertThat(unescape(OneLine.escape(s))).isEqualTo(s);
            String q = OneLine.quoted(s);
            assertThat(q).startsWith("\"").endsWith("\"");
            assertThat(unescape(q.substring(1, q.length() - 1))).isEqualTo(s);
        }
    }

    /** The reading back of an escaped text, as a TOML or JSON reader does it. */
    private static String unescape(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '\\') {
                b.append(c);
                continue;
            }
            char e = s.charAt(++i);
            switch (e) {
                case 'n' -> b.append('\n');
                case 'r' -> b.append('\r');
                case 't' -> b.append('\t');
                case '\\' -> b.append('\\');
                case '"' -> b.append('"');
                case 'u' -> {
                    b.append((char) Integer.parseInt(s.substring(i + 1, i + 5), 16));
                    i += 4;
                }
                default -> throw new AssertionError("unknown escape \\" + e + " in " + s);
            }
        }
        return b.toString();
    }
}
