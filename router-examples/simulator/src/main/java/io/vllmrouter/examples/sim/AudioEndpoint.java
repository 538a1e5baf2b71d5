package io.vllmrouter.examples.sim;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * vLLM's speech-to-text uploads, {@code POST /v1/audio/transcriptions} and
 * {@code POST /v1/audio/translations}: a {@code multipart/form-data} form with the audio as its
 * {@code file} part and text fields ({@code model}, {@code language}, {@code prompt},
 * {@code response_format}, {@code temperature}, {@code stream}). A form naming a model this server
 * does not serve gets vLLM's 404 ({@code The model `...` does not exist.}); without {@code model},
 * the first model answers.
 *
 * <p>The answer is vLLM's {@code {"text": ..., "usage": {"type": "duration", "seconds": n}}}, or with
 * {@code stream=true} its {@code transcription.chunk} / {@code translation.chunk} events and
 * {@code data: [DONE]}. The audio is taken as 16 kHz 16-bit mono (32000 bytes a second), and
 * decoding it costs 50 prompt tokens a second in the engine.
 */
final class AudioEndpoint {

    private static final int BYTES_PER_SECOND = 32_000;
    private static final int TOKENS_PER_SECOND = 50;
    /** The {@code name} parameter of a Content-Disposition header (not {@code filename}). */
    private static final java.util.regex.Pattern FIELD_NAME = java.util.regex.Pattern.compile("[;\\s]name=\"([^\"]*)\"");

    private final SimulatedVllm sim;
    private final AtomicLong ids = new AtomicLong();

    AudioEndpoint(SimulatedVllm sim) {
        this.sim = sim;
    }

    boolean handle(HttpExchange ex, String method, String path) throws IOException {
        boolean transcribe = path.equals("/v1/audio/transcriptions");
        if (!transcribe && !path.equals("/v1/audio/translations")) {
            return false;
        }
        if (SimHttp.requireMethod(ex, method, "POST")) {
            upload(ex, transcribe);
        }
        return true;
    }

    private void upload(HttpExchange ex, boolean transcribe) throws IOException {
        String type = ex.getRequestHeaders().getFirst("Content-Type");
        Map<String, byte[]> form = type == null ? null : parts(ex.getRequestBody().readAllBytes(), type);
        if (form == null || !form.containsKey("file")) {
            SimHttp.sendJson(ex, 400, Json.error("file: missing (expected: a multipart/form-data body with "
                    + "the audio as its 'file' part)", "BadRequestError", "file", 400));
            return;
        }
        String model = form.containsKey("model") ? text(form, "model") : sim.config().models().get(0);
        if (!sim.config().models().contains(model)) {
            SimHttp.modelNotFound(ex, model);
            return;
        }
        int seconds = Math.max(1, (form.get("file").length + BYTES_PER_SECOND - 1) / BYTES_PER_SECOND);
        int promptTokens = Math.max(1, Math.min(sim.config().maxModelLen() / 2, seconds * TOKENS_PER_SECOND));
        String prompt = (transcribe ? "transcribe " : "translate ") + text(form, "language") + " " + text(form, "prompt")
                + " " + java.util.Arrays.hashCode(form.get("file"));
        boolean stream = "true".equalsIgnoreCase(text(form, "stream"));
        if (stream) {
            stream(ex, transcribe, model, prompt, promptTokens);
            return;
        }
        StringBuilder out = new StringBuilder();
        Sequence seq = sim.runner().generate(prompt, promptTokens, 0, 0, out::append, () -> false);
        if (seq.state() == Sequence.FINISHED) {
            SimHttp.sendJson(ex, 200, "{\"text\":" + Json.quote(out.toString().strip())
                    + ",\"usage\":{\"type\":\"duration\",\"seconds\":" + seconds + "}}");
        }
    }

    private void stream(HttpExchange ex, boolean transcribe, String model, String prompt, int promptTokens)
            throws IOException {
        ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        ex.sendResponseHeaders(200, 0);
        OutputStream out = ex.getResponseBody();
        String head = "data: {\"id\":\"" + (transcribe ? "trsc-" : "trsl-") + String.format("%016x", ids.incrementAndGet())
                + "\",\"object\":\"" + (transcribe ? "transcription.chunk" : "translation.chunk") + "\",\"created\":"
                + System.currentTimeMillis() / 1000 + ",\"model\":" + Json.quote(model) + ",\"choices\":[{\"delta\":{\"content\":";
        Sequence seq;
        try {
            seq = sim.runner().generate(prompt, promptTokens, 0, 0, t -> {
                out.write((head + Json.quote(t) + "},\"finish_reason\":null,\"stop_reason\":null}]}\n\n")
                        .getBytes(StandardCharsets.UTF_8));
                out.flush();
            }, () -> false);
        } catch (IOException gone) {
            return;
        }
        if (seq.state() == Sequence.FINISHED) {
            out.write((head + "\"\"},\"finish_reason\":\"" + seq.finishReason() + "\",\"stop_reason\":null}]}\n\n"
                    + "data: [DONE]\n\n").getBytes(StandardCharsets.UTF_8));
        }
        out.close();
    }

    private static String text(Map<String, byte[]> form, String name) {
        byte[] v = form.get(name);
        return v == null ? "" : new String(v, StandardCharsets.UTF_8);
    }

    /**
     * The parts of a {@code multipart/form-data} body by field name (the last of a name wins, as
     * Starlette's form does); null when {@code contentType} has no boundary.
     */
    static Map<String, byte[]> parts(byte[] body, String contentType) {
        int at = contentType.toLowerCase(Locale.ROOT).indexOf("boundary=");
        if (at < 0) {
            return null;
        }
        String boundary = contentType.substring(at + 9).split(";")[0].strip().replace("\"", "");
        byte[] delimiter = ("--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
        Map<String, byte[]> parts = new HashMap<>();
        int p = indexOf(body, delimiter, 0);
        while (p >= 0) {
            int start = p + delimiter.length;
            if (start + 1 < body.length && body[start] == '-' && body[start + 1] == '-') {
                break;
            }
            int headersEnd = indexOf(body, "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1), start);
            int next = headersEnd < 0 ? -1 : indexOf(body, delimiter, headersEnd + 4);
            if (next < 0) {
                break;
            }
            String headers = new String(body, start, headersEnd - start, StandardCharsets.UTF_8);
            int end = next >= 2 && body[next - 2] == '\r' && body[next - 1] == '\n' ? next - 2 : next;
            String name = null;
            for (String h : headers.split("\r\n")) {
                java.util.regex.Matcher m = FIELD_NAME.matcher(h);
                if (h.toLowerCase(Locale.ROOT).startsWith("content-disposition:") && m.find()) {
                    name = m.group(1);
                }
            }
            if (name != null) {
                parts.put(name, java.util.Arrays.copyOfRange(body, headersEnd + 4, Math.max(headersEnd + 4, end)));
            }
            p = next;
        }
        return parts;
    }

    private static int indexOf(byte[] b, byte[] pattern, int from) {
        outer:
        for (int i = from; i <= b.length - pattern.length; i++) {
            for (int j = 0; j < pattern.length; j++) {
                if (b[i + j] != pattern[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
