package io.vllmrouter.core.discovery;

import com.fasterxml.jackson.databind.ObjectMapper;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;

/**
 * The HTTP side of {@link KubernetesDiscovery}: requests to the API server with the service
 * account's token (read again for every request, as tokens rotate), the cluster CA, the pod's own
 * namespace, and reading a pod's annotation.
 */
final class KubernetesApi {

    private static final System.Logger LOG = System.getLogger(KubernetesDiscovery.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http;
    private final URI api;
    private final Path tokenFile;

    KubernetesApi(HttpClient http, URI api, Path tokenFile) {
        this.http = http;
        String a = api.toString();
        this.api = URI.create(a.endsWith("/") ? a.substring(0, a.length() - 1) : a);
        this.tokenFile = tokenFile;
    }

    HttpClient http() {
        return http;
    }

    HttpRequest request(String pathAndQuery, Duration timeout) throws IOException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(api + pathAndQuery)).timeout(timeout)
                .header("Accept", "application/json").GET();
        Path token = tokenFile;
        if (token != null && Files.isReadable(token)) {
            b.header("Authorization", "Bearer " + Files.readString(token).trim());
        }
        return b.build();
    }

    /**
     * The integer annotation {@code annotation} of pod {@code pod}, or {@code fallback} when the pod
     * cannot be read or the value is not an integer >= 1 (logged).
     */
    int podAnnotation(String namespace, String pod, String annotation, int fallback) {
        int capacity = fallback;
        try {
            HttpResponse<String> r = http.send(request("/api/v1/namespaces/" + enc(namespace) + "/pods/" + enc(pod),
                    Duration.ofSeconds(10)), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 200) {
                String value = JSON.readTree(r.body()).path("metadata").path("annotations")
                        .path(annotation).asText(null);
                if (value != null) {
                    try {
                        int n = Integer.parseInt(value.trim());
                        if (n >= 1) {
                            capacity = n;
                        } else {
                            throw new NumberFormatException();
                        }
                    } catch (NumberFormatException e) {
                        LOG.log(System.Logger.Level.WARNING, "discovery: pod {0} has {1} = \"{2}\" (expected: integer >= 1); using {3}",
                                pod, annotation, value, capacity);
                    }
                }
            } else {
                LOG.log(System.Logger.Level.WARNING, "discovery: cannot read pod {0} (HTTP {1}); capacity {2}",
                        pod, r.statusCode(), capacity);
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "discovery: cannot read pod {0} ({1}); capacity {2}", pod, e.getMessage(), capacity);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return capacity;
        }
        return capacity;
    }

    static String ownNamespace(Path tokenFile) {
        Path file = tokenFile == null ? null : tokenFile.resolveSibling("namespace");
        try {
            if (file != null && Files.isReadable(file)) {
                String ns = Files.readString(file).trim();
                if (!ns.isEmpty()) {
                    return ns;
                }
            }
        } catch (IOException e) {
            // fall through to the default namespace
        }
        return "default";
    }

    static SSLContext sslContext(Path caFile) {
        try (InputStream in = Files.newInputStream(caFile)) {
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            int i = 0;
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                store.setCertificateEntry("ca-" + i++, c);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(store);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("discovery: cannot use the CA file " + caFile + ": " + e.getMessage(), e);
        }
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    static String brief(String body) {
        String b = body == null ? "" : body.replaceAll("\\s+", " ").trim();
        return b.length() > 200 ? b.substring(0, 200) + "..." : b;
    }
}
