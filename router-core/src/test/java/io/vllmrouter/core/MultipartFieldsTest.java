package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vllmrouter.api.InvalidRequestException;
import io.vllmrouter.api.RouterRequest;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The {@code model} and {@code stream} fields of vLLM's audio uploads, read without the upload. */
class MultipartFieldsTest {

    private static final String TYPE = "multipart/form-data; boundary=b0undary";

    /** A form as HTTP clients write it: CRLF line ends, each part's headers, a blank line, the value. */
    private static byte[] form(String boundary, String eol, Object... nameValues) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < nameValues.length; i += 2) {
            String name = (String) nameValues[i];
            write(out, "--" + boundary + eol);
            if (name.equals("file")) {
                write(out, "Content-Disposition: form-data; name=\"file\"; filename=\"a.wav\"" + eol
                        + "Content-Type: audio/wav" + eol + eol);
                out.writeBytes((byte[]) nameValues[i + 1]);
            } else {
                write(out, "Content-Disposition: form-data; name=\"" + name + "\"" + eol + eol + nameValues[i + 1]);
            }
            write(out, eol);
        }
        write(out, "--" + boundary + "--" + eol);
        return out.toByteArray();
    }

    private static void write(ByteArrayOutputStream out, String s) {
        out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
    }

    /** Audio-like bytes with line ends, dashes and near-boundaries in them. */
    private static byte[] audio(int size) {
        byte[] b = new byte[size];
        new Random(7).nextBytes(b);
        byte[] tricky = "\r\n--b0undar\r\n--\r\n\r\nname=\"model\"".getBytes(StandardCharsets.ISO_8859_1);
        for (int at = 100; at + tricky.length < size; at += 997) {
            System.arraycopy(tricky, 0, b, at, tricky.length);
        }
        return b;
    }

    @Test
    void fieldsBeforeTheUploadAsOpenAisClientSendsThem() {
        byte[] body = form("b0undary", "\r\n", "model", "openai/whisper-large-v3", "language", "en",
                "stream", "true", "file", audio(50_000));
        MultipartFields.Fields f = MultipartFields.read(body, TYPE);
        assertThat(f.model()).isEqualTo("openai/whisper-large-v3");
        assertThat(f.stream()).isTrue();
    }

    @Test
    void fieldsAfterTheUploadAreFoundPastIt() {
        byte[] body = form("b0undary", "\r\n", "file", audio(50_000), "response_format", "json",
                "model", "whisper-small");
        MultipartFields.Fields f = MultipartFields.read(body, TYPE);
        assertThat(f.model()).isEqualTo("whisper-small");
        assertThat(f.stream()).isFalse();
    }

    @Test
    void readingStopsOnceBothFieldsAreKnown() {
        byte[] body = form("b0undary", "\r\n", "model", "m", "stream", "false", "file", audio(10_000), "model", "later");
        assertThat(MultipartFields.read(body, TYPE)).as("nothing after the two fields is read")
                .isEqualTo(new MultipartFields.Fields("m", false));
        byte[] withoutStream = form("b0undary", "\r\n", "model", "m", "file", audio(10_000), "model", "later");
        assertThat(MultipartFields.read(withoutStream, TYPE).model()).as("read on for stream: the last one counts")
                .isEqualTo("later");
        // An upload cut off after the fields, never closed, does not matter.
        byte[] cut = java.util.Arrays.copyOf(body, body.length - 7_000);
        assertThat(MultipartFields.read(cut, TYPE)).isEqualTo(new MultipartFields.Fields("m", false));
    }

    @Test
    void aFormWithoutAModelRoutesAsAnyModel() {
        MultipartFields.Fields f = MultipartFields.read(form("b0undary", "\r\n", "file", audio(1000)), TYPE);
        assertThat(f).isEqualTo(MultipartFields.Fields.NONE);
        assertThat(MultipartFields.read(form("b0undary", "\r\n", "model", ""), TYPE).model()).isEmpty();
    }

    @Test
    void boundaryParameterForms() {
        byte[] body = form("x-7_Q", "\r\n", "model", "llama");
        assertThat(MultipartFields.read(body, "Multipart/Form-Data; charset=utf-8; BOUNDARY=\"x-7_Q\"").model())
                .isEqualTo("llama");
        assertThat(MultipartFields.read(body, "multipart/form-data;boundary=x-7_Q; foo=bar").model()).isEqualTo("llama");
        assertThat(MultipartFields.boundary("multipart/form-data; xboundary=nope")).isNull();
        assertThat(MultipartFields.boundary("multipart/form-data")).isNull();
        assertThat(MultipartFields.boundary("multipart/form-data; boundary=")).isNull();
        assertThat(MultipartFields.read(body, "multipart/form-data; boundary=other")).isEqualTo(MultipartFields.Fields.NONE);
    }

    @Test
    void bareLineFeedsAndUtf8Names() {
        byte[] body = form("b0undary", "\n", "file", audio(3000), "model", "modèle-ünï");
        assertThat(MultipartFields.read(body, TYPE).model()).isEqualTo("modèle-ünï");
    }

    @ParameterizedTest
    @ValueSource(strings = {"true", "True", "1", "yes", "on", "t", "Y"})
    void streamIsTrueAsPydanticReadsAFormValue(String v) {
        assertThat(MultipartFields.read(form("b0undary", "\r\n", "stream", v, "model", "m"), TYPE).stream()).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"false", "0", "no", "off", ""})
    void streamIsFalseOtherwise(String v) {
        assertThat(MultipartFields.read(form("b0undary", "\r\n", "stream", v, "model", "m"), TYPE).stream()).isFalse();
    }

    @Test
    void aModelFieldTooLongOrNotTextIsRefused() {
        assertThatThrownBy(() -> MultipartFields.read(form("b0undary", "\r\n", "model", "m".repeat(1025)), TYPE))
                .isInstanceOf(InvalidRequestException.class).hasMessage("The 'model' form field is longer than 1024 bytes");
        byte[] latin1 = form("b0undary", "\r\n", "model", "x");
        int at = new String(latin1, StandardCharsets.ISO_8859_1).indexOf("\r\n\r\nx") + 4;
        latin1[at] = (byte) 0xe9;
        assertThatThrownBy(() -> MultipartFields.read(latin1, TYPE))
                .isInstanceOf(InvalidRequestException.class).hasMessage("The 'model' form field is not UTF-8 text");
    }

    @Test
    void damagedFormsGiveWhatWasFoundAndNeverAnotherError() {
        byte[] good = form("b0undary", "\r\n", "language", "en", "model", "whisper", "file", audio(2000));
        Random random = new Random(3);
        for (int i = 0; i < 3000; i++) {
            byte[] b = good.clone();
            int edits = 1 + random.nextInt(6);
            for (int k = 0; k < edits; k++) {
                b[random.nextInt(b.length)] = (byte) "\r\n-b\"=;:x".charAt(random.nextInt(9));
            }
            int len = random.nextInt(4) == 0 ? random.nextInt(b.length) : b.length;
            try {
                MultipartFields.Fields f = MultipartFields.read(java.util.Arrays.copyOf(b, len), TYPE);
                assertThat(f).isNotNull();
            } catch (InvalidRequestException e) {
                assertThat(e.getMessage()).startsWith("The 'model' form field");
            }
        }
    }

    @Test
    void requestInfoRoutesAnUploadByItsModel() {
        byte[] body = form("b0undary", "\r\n", "model", "openai/whisper-large-v3", "stream", "true", "file", audio(4000));
        RequestInfo info = RequestInfo.of(RouterRequest.post("/v1/audio/transcriptions", body)
                .header("Content-Type", TYPE).build());
        assertThat(info.model()).isEqualTo("openai/whisper-large-v3");
        assertThat(info.stream()).isTrue();
        RequestInfo other = RequestInfo.of(RouterRequest.post("/v1/audio/transcriptions", body)
                .header("Content-Type", "application/octet-stream").build());
        assertThat(other.model()).as("other non-JSON bodies still route as any model").isNull();
    }
}
