package io.vllmrouter.examples.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The Responses API as vLLM's {@code serving_responses.py} serves it, with a store of this server's
 * own: {@code POST /v1/responses} (plain, {@code stream}, {@code background}),
 * {@code GET /v1/responses/{id}}, {@code POST /v1/responses/{id}/cancel}, and
 * {@code previous_response_id}. A response is kept only by the server that made it, in memory, as
 * vLLM keeps it (with {@code VLLM_ENABLE_RESPONSES_API_STORE=1}; {@link SimConfig#responsesStore()});
 * any other server answers 404 {@code Response with id '...' not found.}. {@code "store": false}
 * keeps nothing. Cancelling is for background responses only; a finished one answers 400
 * {@code Cannot cancel a synchronous response.}.
 *
 * <p>Beyond vLLM, for routers that forward OpenAI's whole API: {@code GET
 * /v1/responses/{id}/input_items} lists the stored input (vLLM has no such route). {@code DELETE} is
 * answered 405, as vLLM's FastAPI answers it.
 *
 * <p>Generation runs through the simulator's engine, so it takes time and load like completions.
 */
final class ResponsesEndpoint {

    private static final String PATH = "/v1/responses";

    /** One stored response. */
    private static final class Stored {
        final String id;
        final String model;
        final long createdAt;
        final String instructions;
        final String previous;
        final int maxOutputTokens;
        final boolean background;
        /** The conversation up to this response's input: {role, text} pairs. */
        final List<String[]> messages;
        final int inputCount;
        final AtomicBoolean cancel = new AtomicBoolean();
        volatile String status;
        volatile String text = "";
        volatile int promptTokens;
        volatile int outputTokens;

        Stored(String id, String model, String instructions, String previous, int maxOutputTokens, boolean background,
               List<String[]> messages, int inputCount, String status) {
            this.id = id;
            this.model = model;
            this.createdAt = System.currentTimeMillis() / 1000;
            this.instructions = instructions;
            this.previous = previous;
            this.maxOutputTokens = maxOutputTokens;
            this.background = background;
            this.messages = messages;
            this.inputCount = inputCount;
            this.status = status;
        }
    }

    private final SimulatedVllm sim;
    private final Map<String, Stored> store = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();

    ResponsesEndpoint(SimulatedVllm sim) {
        this.sim = sim;
    }

    boolean handle(HttpExchange ex, String method, String path) throws IOException {
        if (path.equals(PATH)) {
            if (SimHttp.requireMethod(ex, method, "POST")) {
                create(ex);
            }
            return true;
        }
        if (!path.startsWith(PATH + "/")) {
            return false;
        }
        String[] parts = path.substring(PATH.length() + 1).split("/", -1);
        String id = parts[0];
        if (parts.length == 1 && !id.isEmpty()) {
            if (SimHttp.requireMethod(ex, method, "GET")) {
                Stored r = found(ex, id);
                if (r != null) {
                    SimHttp.sendJson(ex, 200, json(r));
                }
            }
        } else if (parts.length == 2 && parts[1].equals("cancel")) {
            if (SimHttp.requireMethod(ex, method, "POST")) {
                cancel(ex, id);
            }
        } else if (parts.length == 2 && parts[1].equals("input_items")) {
            if (SimHttp.requireMethod(ex, method, "GET")) {
                Stored r = found(ex, id);
                if (r != null) {
                    SimHttp.sendJson(ex, 200, inputItems(r));
                }
            }
        } else {
            SimHttp.sendJson(ex, 404, "{\"detail\":\"Not Found\"}");
        }
        return true;
    }

    /** The stored response, or null after answering vLLM's 404. */
    private Stored found(HttpExchange ex, String id) throws IOException {
        Stored r = store.get(id);
        if (r == null) {
            SimHttp.sendJson(ex, 404, Json.error("Response with id '" + id + "' not found.",
                    "invalid_request_error", null, 404));
        }
        return r;
    }

    private void cancel(HttpExchange ex, String id) throws IOException {
        Stored r = found(ex, id);
        if (r == null) {
            return;
        }
        if (!r.status.equals("queued") && !r.status.equals("in_progress")) {
            SimHttp.sendJson(ex, 400, Json.error("Cannot cancel a synchronous response.", "invalid_request_error", null, 400));
            return;
        }
        r.status = "cancelled";
        r.cancel.set(true);
        SimHttp.sendJson(ex, 200, json(r));
    }

    private void create(HttpExchange ex) throws IOException {
        JsonNode body = SimHttp.jsonBody(ex);
        if (body == null) {
            return;
        }
        String model = body.path("model").asText(sim.config().models().get(0));
        if (!sim.config().models().contains(model)) {
            SimHttp.modelNotFound(ex, model);
            return;
        }
        boolean keep = body.path("store").asBoolean(true) && sim.config().responsesStore();
        boolean background = body.path("background").asBoolean(false);
        if (background && !keep) {
            SimHttp.sendJson(ex, 400, Json.error("This vLLM engine does not support `store=True` and therefore "
                    + "does not support the background mode. To enable these features, set the environment variable "
                    + "`VLLM_ENABLE_RESPONSES_API_STORE=1` when launching the vLLM server.", "invalid_request_error", null, 400));
            return;
        }
        String previousId = body.path("previous_response_id").asText(null);
        Stored previous = previousId == null ? null : store.get(previousId);
        if (previousId != null && previous == null) {
            found(ex, previousId);
            return;
        }
        List<String[]> messages = new ArrayList<>();
        String instructions = body.path("instructions").asText(null);
        if (instructions != null) {
            messages.add(new String[] {"system", instructions});
        }
        if (previous != null) {                 // vLLM: the previous input messages, then its output
            messages.addAll(previous.messages);
            messages.add(new String[] {"assistant", previous.text});
        }
        int before = messages.size();
        JsonNode input = body.path("input");
        if (input.isTextual()) {
            messages.add(new String[] {"user", input.asText()});
        } else if (input.isArray()) {
            for (JsonNode item : input) {
                messages.add(new String[] {item.path("role").asText("user"), text(item.path("content"))});
            }
        }
        String id = body.hasNonNull("request_id") ? body.get("request_id").asText()
                : String.format("resp_%016x%016x", sim.config().seed(), ids.incrementAndGet());
        Stored r = new Stored(id, model, instructions, previousId, body.path("max_output_tokens").asInt(0), background,
                messages, messages.size() - before, background ? "queued" : "in_progress");
        StringBuilder prompt = new StringBuilder();
        for (String[] m : messages) {
            prompt.append(m[0]).append(": ").append(m[1]).append('\n');
        }
        r.promptTokens = TokenText.countTokens(prompt.toString());
        long seed = body.path("seed").asLong(0);
        if (keep) {
            store.put(id, r);
        }
        if (body.path("stream").asBoolean(false)) {
            stream(ex, r, prompt.toString(), seed);
        } else if (background) {
            SimHttp.sendJson(ex, 200, json(r));
            sim.background(() -> {
                try {
                    run(r, prompt.toString(), seed, t -> { });
                } catch (IOException never) {
                    r.status = "failed";
                }
            });
        } else {
            run(r, prompt.toString(), seed, t -> { });
            if (!sim.isClosed()) {
                SimHttp.sendJson(ex, 200, json(r));
            }
        }
    }

    private static String text(JsonNode content) {
        if (content.isArray()) {
            StringBuilder b = new StringBuilder();
            for (JsonNode part : content) {
                b.append(part.path("text").asText(""));
            }
            return b.toString();
        }
        return content.asText("");
    }

    private void run(Stored r, String prompt, long seed, EngineRunner.TokenSink sink) throws IOException {
        r.status = r.status.equals("cancelled") ? "cancelled" : "in_progress";
        StringBuilder out = new StringBuilder();
        Sequence seq = sim.runner().generate(prompt, r.promptTokens, r.maxOutputTokens, seed, t -> {
            out.append(t);
            r.text = out.toString();
            sink.token(t);
        }, r.cancel::get);
        r.outputTokens = seq.produced();
        if (r.cancel.get()) {
            r.status = "cancelled";
        } else if (seq.state() == Sequence.FINISHED) {
            r.status = seq.finishReason().equals("length") && r.maxOutputTokens > 0 ? "incomplete" : "completed";
        }
    }

    /** vLLM's event sequence for a streamed response, each as {@code event: type} and {@code data: json}. */
    private void stream(HttpExchange ex, Stored r, String prompt, long seed) throws IOException {
        ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        ex.sendResponseHeaders(200, 0);
        OutputStream out = ex.getResponseBody();
        int[] seq = {0};
        String item = "msg_" + r.id.substring(Math.max(0, r.id.length() - 16));
        event(out, seq, "response.created", "\"response\":" + json(r));
        event(out, seq, "response.in_progress", "\"response\":" + json(r));
        event(out, seq, "response.output_item.added", "\"output_index\":0,\"item\":{\"id\":\"" + item
                + "\",\"content\":[],\"role\":\"assistant\",\"status\":\"in_progress\",\"type\":\"message\"}");
        event(out, seq, "response.content_part.added", "\"item_id\":\"" + item
                + "\",\"output_index\":0,\"content_index\":0,\"part\":{\"annotations\":[],\"text\":\"\",\"type\":\"output_text\"}");
        try {
            run(r, prompt, seed, t -> {
                event(out, seq, "response.output_text.delta", "\"item_id\":\"" + item
                        + "\",\"output_index\":0,\"content_index\":0,\"delta\":" + Json.quote(t) + ",\"logprobs\":[]");
                out.flush();
            });
        } catch (IOException gone) {
            r.status = "cancelled";
            return;
        }
        String text = Json.quote(r.text);
        event(out, seq, "response.output_text.done", "\"item_id\":\"" + item
                + "\",\"output_index\":0,\"content_index\":0,\"text\":" + text + ",\"logprobs\":[]");
        event(out, seq, "response.content_part.done", "\"item_id\":\"" + item
                + "\",\"output_index\":0,\"content_index\":0,\"part\":{\"annotations\":[],\"text\":" + text + ",\"type\":\"output_text\"}");
        event(out, seq, "response.output_item.done", "\"output_index\":0,\"item\":" + message(r, item));
        event(out, seq, "response.completed", "\"response\":" + json(r));
        out.close();
    }

    private static void event(OutputStream out, int[] seq, String type, String fields) throws IOException {
        String e = "event: " + type + "\ndata: {" + fields + ",\"sequence_number\":" + seq[0]++ + ",\"type\":\"" + type + "\"}\n\n";
        out.write(e.getBytes(StandardCharsets.UTF_8));
    }

    private static String message(Stored r, String item) {
        return "{\"id\":\"" + item + "\",\"content\":[{\"annotations\":[],\"text\":" + Json.quote(r.text)
                + ",\"type\":\"output_text\",\"logprobs\":null}],\"role\":\"assistant\",\"status\":\"completed\",\"type\":\"message\"}";
    }

    /** A ResponsesResponse in vLLM's field order, id first. */
    private static String json(Stored r) {
        StringBuilder b = new StringBuilder(512);
        b.append("{\"id\":\"").append(r.id).append("\",\"created_at\":").append(r.createdAt)
                .append(",\"incomplete_details\":").append(r.status.equals("incomplete") ? "{\"reason\":\"max_output_tokens\"}" : "null")
                .append(",\"instructions\":").append(r.instructions == null ? "null" : Json.quote(r.instructions))
                .append(",\"metadata\":null,\"model\":").append(Json.quote(r.model))
                .append(",\"object\":\"response\",\"output\":[");
        String s = r.status;
        if (s.equals("completed") || s.equals("incomplete")) {
            b.append(message(r, "msg_" + r.id.substring(Math.max(0, r.id.length() - 16))));
        }
        b.append("],\"parallel_tool_calls\":true,\"temperature\":1.0,\"tool_choice\":\"auto\",\"tools\":[],\"top_p\":1.0")
                .append(",\"background\":").append(r.background)
                .append(",\"max_output_tokens\":").append(r.maxOutputTokens > 0 ? String.valueOf(r.maxOutputTokens) : "null")
                .append(",\"previous_response_id\":").append(r.previous == null ? "null" : Json.quote(r.previous))
                .append(",\"status\":\"").append(s).append("\",\"usage\":");
        if (s.equals("queued")) {
            b.append("null");
        } else {
            b.append("{\"input_tokens\":").append(r.promptTokens)
                    .append(",\"input_tokens_details\":{\"cached_tokens\":0},\"output_tokens\":").append(r.outputTokens)
                    .append(",\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":")
                    .append(r.promptTokens + r.outputTokens).append('}');
        }
        return b.append('}').toString();
    }

    /** OpenAI's input-items list: this response's own input, newest first. */
    private static String inputItems(Stored r) {
        StringBuilder b = new StringBuilder("{\"object\":\"list\",\"data\":[");
        List<String[]> own = r.messages.subList(r.messages.size() - r.inputCount, r.messages.size());
        for (int i = own.size() - 1; i >= 0; i--) {
            b.append("{\"id\":\"msg_in_").append(i).append("\",\"type\":\"message\",\"role\":").append(Json.quote(own.get(i)[0]))
                    .append(",\"content\":[{\"type\":\"input_text\",\"text\":").append(Json.quote(own.get(i)[1])).append("}]}");
            if (i > 0) {
                b.append(',');
            }
        }
        return b.append("],\"has_more\":false}").toString();
    }
}
