package io.vllmrouter.api;

import java.io.IOException;

/**
 * A streamed answer ended with the backend's own error event (vLLM's serving layer writes
 * {@code data: {"error": {...}}} when the engine fails mid-answer), which the caller has already
 * received: what a {@link RouterResponse}'s body fails with then. A host that adds an error event of
 * its own to a cut stream need not add one after this. It is a backend failure, never a normal end.
 */
public class InBandErrorException extends IOException {

    private static final long serialVersionUID = 1L;

    public InBandErrorException(String message) {
        super(message);
    }
}
