package io.vllmrouter.core.metrics;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One entry of a backend's {@code GET /v1/models} answer.
 *
 * @param id   the model id requests name in {@code model}
 * @param raw  the whole entry as the backend sent it (e.g. with {@code max_model_len}); do not modify
 */
public record ModelInfo(String id, ObjectNode raw) {
}
