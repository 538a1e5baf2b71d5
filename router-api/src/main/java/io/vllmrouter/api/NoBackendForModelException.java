package io.vllmrouter.api;

/** No configured backend serves the request's model: 404 {@code model_not_found}. */
public final class NoBackendForModelException extends RouterException {

    private static final long serialVersionUID = 1L;

    public NoBackendForModelException(String model, java.util.Collection<String> knownModels,
                                      int total, int healthy, int open) {
        super("The model '" + model + "' does not exist on any backend; models served: " + knownModels
                + " " + fleet(total, healthy, open), null, model, total, healthy, open);
    }

    @Override public int httpStatus() { return 404; }
    @Override public String errorType() { return "invalid_request_error"; }
    @Override public String errorCode() { return "model_not_found"; }
}
