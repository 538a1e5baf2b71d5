package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vllmrouter.api.InvalidRequestException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The scan reads what Jackson reads, or leaves the body to Jackson: on bodies written to be
 * awkward, and on tens of thousands of generated bodies, valid and then broken byte by byte, the
 * scan never takes a body Jackson refuses, and whenever it takes one its fields are Jackson's.
 */
@Timeout(60)
class BodyFieldsTest {

    /** What one reader made of a body: its fields, or that it refused it. */
    private record Reading(String model, boolean stream, String user, int maxTokens, int maxCompletionTokens) {
        static Reading of(BodyFields f) {
            return new Reading(f.model, f.stream, f.user, f.maxTokens, f.maxCompletionTokens);
        }
    }

    private static Reading jackson(byte[] body) {
        try {
            return Reading.of(BodyFields.parse(body));
        } catch (InvalidRequestException refused) {
            return null;
        }
    }

    /** Asserts the scan agrees with Jackson; true when the scan took the body. */
    private static boolean agrees(byte[] body) {
        BodyFields scanned = BodyFields.scan(body);
        if (scanned == null) {
            return false;
        }
        Reading expected = jackson(body);
        assertThat(expected).as("Jackson refuses what the scan took: %s", show(body)).isNotNull();
        assertThat(Reading.of(scanned)).as("fields of %s", show(body)).isEqualTo(expected);
        return true;
    }

    private static String show(byte[] body) {
        return new String(body, StandardCharsets.UTF_8) + " (hex " + HexFormat.of().formatHex(body) + ")";
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void everydayRequestsAreScannedWithTheirFields() {
        BodyFields chat = BodyFields.scan(utf8("{\"model\":\"llama-3\",\"messages\":[{\"role\":\"system\",\"content\":"
                + "\"Tu es un assistant. Réponds en français 🇫🇷\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\","
                + "\"text\":\"Line one\\nline \\\"two\\\" \\u00e9\"}]}],\"stream\":true,\"max_tokens\":256,"
                + "\"temperature\":0.7,\"top_p\":1e-1,\"stop\":null,\"logprobs\":false,\"user\":\"u-42\","
                + "\"stream_options\":{\"include_usage\":true}}"));
        assertThat(chat).isNotNull();
        assertThat(Reading.of(chat)).isEqualTo(new Reading("llama-3", true, "u-42", 256, -1));

        BodyFields responses = BodyFields.scan(utf8(" {\n\t\"model\" : \"qwen/Qwen2.5-7B\" ,\r\n \"input\": \"hi\","
                + " \"max_output_tokens\": 64, \"max_tokens\": 10 }\n"));
        assertThat(responses).isNotNull();
        assertThat(Reading.of(responses)).isEqualTo(new Reading("qwen/Qwen2.5-7B", false, null, 10, 64));
        assertThat(responses.answerTokens()).isEqualTo(64);

        // an emoji as an ASCII-only encoder writes it (Python's json.dumps): a surrogate pair of escapes
        BodyFields emoji = BodyFields.scan(utf8("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
                + "\"caf\\u00e9 \\ud83d\\ude00!\"}],\"max_tokens\":8}"));
        assertThat(emoji).isNotNull();
        assertThat(Reading.of(emoji)).isEqualTo(new Reading("m", false, null, 8, -1));

        assertThat(Reading.of(BodyFields.scan(utf8("{}")))).isEqualTo(new Reading(null, false, null, -1, -1));
        assertThat(Reading.of(BodyFields.scan(utf8("{\"model\":\"模型-ü\"}")))).isEqualTo(new Reading("模型-ü", false, null, -1, -1));
    }

    /** Bodies at the edges of the grammar and of the scan: taken or refused, the result is Jackson's. */
    @ParameterizedTest
    @ValueSource(strings = {
        "{\"mod\\u0065l\":\"x\"}", "{\"model\":\"a\\\"b\"}", "{\"user\":\"a\\nb\"}", "{\"model\":5}",
        "{\"stream\":\"yes\"}", "{\"max_tokens\":2147483647}", "{\"max_tokens\":12345678901}",
        "{\"max_tokens\":4294967297}", "{\"max_completion_tokens\":999999999}", "{\"a\":\"\\ud800\"}", "{\"a\":{\"\\ud800x\":1}}",
        "{\"a\":\"\\ud83dx\"}", "{\"a\":\"\\ude00\\ud83d\"}", "{\"a\":\"\\ud83d\\u0041\"}", "{\"a\":\"\\ud83d\\ude0\"}",
        "{\"a\":{\"\\ud83d\\ude00\":1}}", "{\"a\":{\"\\ud83d\":1}}", "{\"a\":\"\\ud83d\\", "[]", "\"x\"",
        "{\"a\":\"\\ud83d\\ude00\"}", "{\"model\":\"x\"", "{\"model\":\"x\",}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}",
        "{\"a\":-}", "{\"a\":+1}", "{\"a\":tru}", "{\"a\":nul}", "{\"a\":[1,]}", "{\"a\":{\"b\":1,}}", "{\"a\":'x'}",
        "{a:1}", "{\"a\":1}x", "{\"a\":1}{}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12g4\"}", "{\"a\":NaN}", "{\"a\":1 2}",
        "{\"a\" 1}", "{\"a\":[}", "{\"a\":{]}", "{\"a\":\"tab\there\"}", "", " ", "{", "}", "{\"\":1}",
    })
    void awkwardBodiesGetJacksonsAnswer(String text) {
        byte[] body = utf8(text);
        agrees(body);
        if (jackson(body) == null) {
            assertThatThrownBy(() -> BodyFields.of(body)).isInstanceOf(InvalidRequestException.class);
        } else {
            assertThat(Reading.of(BodyFields.of(body))).isEqualTo(jackson(body));
        }
    }

    @Test
    void badUtf8AndControlBytesAreNeverTakenOnTheScansWord() {
        String[] hex = {"c0af", "c1bf", "e080af", "eda080", "f08080af", "f4908080", "f5808080", "ff", "80", "c3", "e282",
            "00", "1f"};
        for (String h : hex) {
            byte[] bad = HexFormat.of().parseHex(h);
            for (String frame : new String[] {"{\"a\":\"%s\"}", "{\"model\":\"%s\"}", "{\"%s\":1}", "%s{\"a\":1}"}) {
                int at = frame.indexOf("%s");
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                out.writeBytes(utf8(frame.substring(0, at)));
                out.writeBytes(bad);
                out.writeBytes(utf8(frame.substring(at + 2)));
                assertThat(BodyFields.scan(out.toByteArray())).as("%s in %s", h, frame).isNull();
            }
        }
        // a byte-order mark is Jackson's to read (it also tells UTF-16 and UTF-32 apart by their first bytes)
        assertThat(BodyFields.scan(HexFormat.of().parseHex("efbbbf7b7d"))).isNull();
        // and the well-formed neighbours of those bytes are taken
        assertThat(agrees(HexFormat.of().parseHex("7b2261223a22c2a0e0a080ed9fbff0908080f48fbfbf227d"))).isTrue();
    }

    @Test
    void nestingBeyondTheScansDepthGoesToJackson() {
        String deep = "{\"a\":" + "[".repeat(63) + "]".repeat(63) + ",\"model\":\"m\"}";
        assertThat(agrees(utf8(deep))).isTrue();
        String deeper = "{\"a\":" + "[".repeat(64) + "]".repeat(64) + ",\"model\":\"m\"}";
        assertThat(BodyFields.scan(utf8(deeper))).isNull();
        assertThat(BodyFields.of(utf8(deeper)).model).isEqualTo("m");
    }

    /**
     * Generated bodies, then the same bodies broken: cut short, a byte changed, inserted or removed.
     * The scan must take most valid ones (or it would be no faster), and agree with Jackson on all.
     */
    @Test
    void generatedBodiesValidAndBrokenAgreeWithJackson() {
        Random random = new Random(20261207);
        int valid = 0;
        int scanned = 0;
        int brokenScanned = 0;
        for (int n = 0; n < 20_000; n++) {
            byte[] body = utf8(new Generator(random).body());
            valid++;
            if (agrees(body)) {
                scanned++;
            }
            for (int k = 0; k < 3; k++) {
                byte[] broken = break_(body, random);
                if (agrees(broken)) {
                    brokenScanned++;
                }
            }
        }
        assertThat(scanned).as("valid bodies the scan took, of %d", valid).isGreaterThan(valid / 2);
        assertThat(brokenScanned).as("broken bodies the scan took (still valid JSON)").isPositive();
    }

    private static final byte[] NASTY = utf8("{}[]\",:\\0-+.eE tnf\t\n");

    private static byte[] break_(byte[] body, Random random) {
        if (body.length == 0) {
            return body;
        }
        int at = random.nextInt(body.length);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        switch (random.nextInt(4)) {
            case 0 -> out.write(body, 0, at); // cut short
            case 1 -> { // a byte changed
                out.write(body, 0, at);
                out.write(random.nextBoolean() ? NASTY[random.nextInt(NASTY.length)] : random.nextInt(256));
                out.write(body, at + 1, body.length - at - 1);
            }
            case 2 -> { // a byte inserted
                out.write(body, 0, at);
                out.write(random.nextBoolean() ? NASTY[random.nextInt(NASTY.length)] : random.nextInt(256));
                out.write(body, at, body.length - at);
            }
            default -> { // a byte removed
                out.write(body, 0, at);
                out.write(body, at + 1, body.length - at - 1);
            }
        }
        return out.toByteArray();
    }

    /** Random JSON objects whose top level holds the fields routing reads, of every type, among others. */
    private static final class Generator {
        private static final String[] NAMES = {"model", "stream", "user", "max_tokens", "max_completion_tokens",
            "max_output_tokens", "messages", "prompt", "temperature", "mod\\u0065l", "Model", "", "n"};
        private final Random random;
        private final StringBuilder out = new StringBuilder();

        Generator(Random random) {
            this.random = random;
        }

        String body() {
            ws();
            object(0, true);
            ws();
            return out.toString();
        }

        private void object(int depth, boolean top) {
            out.append('{');
            int fields = random.nextInt(top ? 7 : 4);
            for (int i = 0; i < fields; i++) {
                if (i > 0) {
                    out.append(',');
                }
                ws();
                if (top || random.nextInt(4) == 0) {
                    out.append('"').append(NAMES[random.nextInt(NAMES.length)]).append('"');
                } else {
                    string();
                }
                ws();
                out.append(':');
                ws();
                value(depth + 1);
                ws();
            }
            out.append('}');
        }

        private void value(int depth) {
            switch (random.nextInt(depth > 6 ? 6 : 8)) {
                case 0 -> out.append(random.nextBoolean() ? "true" : "false");
                case 1 -> out.append("null");
                case 2, 3 -> string();
                case 4, 5 -> number();
                case 6 -> object(depth, false);
                default -> {
                    out.append('[');
                    int items = random.nextInt(4);
                    for (int i = 0; i < items; i++) {
                        if (i > 0) {
                            out.append(',');
                        }
                        ws();
                        value(depth + 1);
                        ws();
                    }
                    out.append(']');
                }
            }
        }

        private void number() {
            switch (random.nextInt(6)) {
                case 0 -> out.append(random.nextInt(300));
                case 1 -> out.append(-random.nextInt(50));
                case 2 -> out.append(random.nextInt(1000)).append('.').append(random.nextInt(100));
                case 3 -> out.append(random.nextInt(9) + 1).append(random.nextBoolean() ? 'e' : 'E')
                        .append(random.nextBoolean() ? "-" : "+").append(random.nextInt(30));
                case 4 -> out.append(1L + random.nextInt(Integer.MAX_VALUE) + random.nextInt(3) * (long) Integer.MAX_VALUE);
                default -> out.append(random.nextInt(9) + 1).append("0".repeat(random.nextInt(12)));
            }
        }

        private void string() {
            out.append('"');
            int length = random.nextInt(12);
            for (int i = 0; i < length; i++) {
                switch (random.nextInt(10)) {
                    case 0 -> out.append("\\\"\\\\\\/\\b\\f\\n\\r\\t".substring(random.nextInt(8) * 2).substring(0, 2));
                    case 1 -> out.append(random.nextBoolean() ? String.format("\\u%04x", random.nextInt(0x10000))
                            : String.format("\\u%04x\\u%04x", 0xD800 + random.nextInt(0x400), 0xDC00 + random.nextInt(0x400)));
                    case 2 -> out.appendCodePoint(0x80 + random.nextInt(0x800 - 0x80));
                    case 3 -> {
                        int cp = 0x800 + random.nextInt(0x10000 - 0x800);
                        out.appendCodePoint(cp >= 0xD800 && cp <= 0xDFFF ? 0xFFFD : cp);
                    }
                    case 4 -> out.appendCodePoint(0x10000 + random.nextInt(0x110000 - 0x10000));
                    default -> {
                        char c = (char) (0x20 + random.nextInt(0x5F)); // printable ASCII
                        out.append(c == '"' || c == '\\' ? 'x' : c);
                    }
                }
            }
            out.append('"');
        }

        private void ws() {
            int n = random.nextInt(5) == 0 ? random.nextInt(3) : 0;
            for (int i = 0; i < n; i++) {
                out.append(" \t\n\r".charAt(random.nextInt(4)));
            }
        }
    }
}
