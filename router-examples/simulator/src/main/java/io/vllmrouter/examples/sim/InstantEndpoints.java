package io.vllmrouter.examples.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * vLLM's endpoints that answer at once, without the engine: {@code GET /v1/models} (the served
 * models, with {@code max_model_len}), {@code POST /v1/embeddings} (a seeded unit vector of 32
 * dimensions per input, injected errors as for completions) and {@code POST /tokenize} (the
 * prompt's token ids, as the prefix cache sees them). Runs on handler threads; stateless but for
 * the shared id counter.
 */
final class InstantEndpoints {

    private final SimConfig config;
    private final FaultInjector faults;
    private final AtomicLong requestIds;
    private final List<String> quotedModels;

    /** @param requestIds the server's counter for answer ids, shared with its other endpoints */
    InstantEndpoints(SimConfig config, FaultInjector faults, AtomicLong requestIds) {
        this.config = config;
        this.faults = faults;
        this.requestIds = requestIds;
        this.quotedModels = config.models().stream().map(Json::quote).toList();
    }

    void models(HttpExchange ex) throws IOException {
        StringBuilder b = new StringBuilder(256);
        b.append("{\"object\":\"list\",\"data\":[");
        long created = System.currentTimeMillis() / 1000;
        for (int i = 0; i < quotedModels.size(); i++) {
            String q = quotedModels.get(i);
            if (i > 0) {
                b.append(',');
            }
            b.append("{\"id\":").append(q).append(",\"object\":\"model\",\"created\":").append(created)
                    .append(",\"owned_by\":\"vllm\",\"root\":").append(q).append(",\"parent\":null,\"max_model_len\":")
                    .append(config.maxModelLen()).append(",\"permission\":[]}");
        }
        SimHttp.sendJson(ex, 200, b.append("]}").toString());
    }

    void embeddings(HttpExchange ex) throws IOException {
        JsonNode body = SimHttp.readJson(ex);
        String model = SimRequests.servedModel(config, body);
        if (faults.injectError(ex)) {
            return;
        }
        JsonNode input = body.get("input");
        List<String> inputs;
        if (input == null || input.isNull()) {
            throw SimHttp.BadRequest.of("input: missing (expected: a string or an array of strings)");
        } else if (input.isArray()) {
            List<String> list = new ArrayList<>();
            input.forEach(n -> list.add(n.isTextual() ? n.asText() : n.toString()));
            inputs = list;
        } else {
            inputs = List.of(input.asText());
        }
        StringBuilder b = new StringBuilder(512);
        b.append("{\"id\":\"embd-").append(String.format("%016x", requestIds.incrementAndGet()))
                .append("\",\"object\":\"list\",\"created\":").append(System.currentTimeMillis() / 1000)
                .append(",\"model\":").append(Json.quote(model)).append(",\"data\":[");
        int tokens = 0;
        for (int i = 0; i < inputs.size(); i++) {
            String s = inputs.get(i);
            tokens += TokenText.countTokens(s);
            if (i > 0) {
                b.append(',');
            }
            b.append("{\"index\":").append(i).append(",\"object\":\"embedding\",\"embedding\":[");
            SplittableRandom r = new SplittableRandom(config.seed() ^ s.hashCode());
            double[] v = new double[32];
            double norm = 0;
            for (int d = 0; d < v.length; d++) {
                v[d] = r.nextDouble(-1, 1);
                norm += v[d] * v[d];
            }
            norm = Math.sqrt(norm);
            for (int d = 0; d < v.length; d++) {
                if (d > 0) {
                    b.append(',');
                }
                b.append(String.format(Locale.ROOT, "%.6f", v[d] / norm));
            }
            b.append("]}");
        }
        b.append("],\"usage\":{\"prompt_tokens\":").append(tokens).append(",\"total_tokens\":").append(tokens)
                .append(",\"completion_tokens\":0,\"prompt_tokens_details\":null}}");
        SimHttp.sendJson(ex, 200, b.toString());
    }

    void tokenize(HttpExchange ex) throws IOException {
        JsonNode body = SimHttp.readJson(ex);
        SimRequests.servedModel(config, body);
        int[] ids = SimRequests.promptIds(body, body.has("messages"));
        StringBuilder b = new StringBuilder(ids.length * 7 + 64);
        b.append("{\"count\":").append(ids.length).append(",\"max_model_len\":").append(config.maxModelLen()).append(",\"tokens\":[");
        for (int i = 0; i < ids.length; i++) {
            if (i > 0) {
                b.append(',');
            }
            b.append(ids[i]);
        }
        b.append("],\"token_strs\":null}");
        SimHttp.sendJson(ex, 200, b.toString());
    }
}
