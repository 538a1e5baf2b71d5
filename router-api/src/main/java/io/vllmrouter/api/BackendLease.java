package io.vllmrouter.api;

import java.net.URI;
import java.time.Duration;

/**
 * A backend chosen by {@link VllmRouter#choose}, held while the host forwards the request itself.
 *
 * <pre>{@code
 * try (BackendLease lease = router.choose(request)) {
 *     HttpResponse<?> r = send(lease.baseUrl().resolve(path), lease.apiKey());
 *     if (r.statusCode() >= 500) lease.failure(null); else lease.success();
 * }
 * }</pre>
 *
 * <p>Exactly one of {@link #success}, {@link #failure} should be called before {@link #close};
 * a lease closed without either counts as cancelled by the caller (not held against the backend).
 * Calls after the first outcome are ignored. Thread-safe.
 */
public interface BackendLease extends AutoCloseable {

    /** The backend's base URL, such as {@code http://gpu-1:8000}. */
    URI baseUrl();

    /** The backend's configured API key, or {@code null}; send it as {@code Authorization: Bearer}. */
    String apiKey();

    /** The backend's stable id (its URL as configured). */
    String backendId();

    /** Records a success; the latency is measured from {@code choose} to this call. */
    void success();

    /** Records a failure against the backend (connect error, 5xx, timeout); {@code cause} may be null. */
    void failure(Throwable cause);

    /** Time since the lease was taken. */
    Duration elapsed();

    /** Releases the in-flight slot. Never throws. */
    @Override
    void close();
}
