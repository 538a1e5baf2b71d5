package io.vllmrouter.api;

/** The request itself is wrong (body not JSON, wrong field type): 400, never held against a backend. */
public final class InvalidRequestException extends RouterException {

    private static final long serialVersionUID = 1L;

    public InvalidRequestException(String message, Throwable cause) {
        super(message, cause, null, 0, 0, 0);
    }

    @Override public int httpStatus() { return 400; }
    @Override public String errorType() { return "invalid_request_error"; }
    @Override public String errorCode() { return "invalid_request"; }
}
