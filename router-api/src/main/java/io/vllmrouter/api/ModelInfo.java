package io.vllmrouter.api;

import java.util.Objects;

/**
 * One model a backend serves, as its {@code GET /v1/models} listed it.
 *
 * @param id    the model id requests name in {@code model}
 * @param json  the backend's whole entry as a JSON object text (e.g. with {@code max_model_len}), so
 *              a proxy's {@code /v1/models} can pass it on unchanged; for a model named in the
 *              configuration, {@code {"id":...,"object":"model","owned_by":"vllm"}}
 */
public record ModelInfo(String id, String json) {

    public ModelInfo {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(json, "json");
    }
}
