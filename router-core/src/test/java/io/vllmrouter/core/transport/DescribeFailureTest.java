package io.vllmrouter.core.transport;

import io.vllmrouter.api.transport.TransportException;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.EOFException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.util.concurrent.CancellationException;
import org.junit.jupiter.api.Test;

/** Failures in words for people: never an exception class name. */
class DescribeFailureTest {

    @Test
    void commonFailuresAreNamedInWordsWithTheJdksDetail() {
        assertThat(TransportException.describe(new ConnectException())).isEqualTo("connection refused");
        assertThat(TransportException.describe(new ConnectException("Connection refused"))).isEqualTo("Connection refused");
        assertThat(TransportException.describe(new UnknownHostException("gpu-7"))).isEqualTo("unknown host: gpu-7");
        assertThat(TransportException.describe(new HttpConnectTimeoutException("HTTP connect timed out")))
                .isEqualTo("HTTP connect timed out");
        assertThat(TransportException.describe(new HttpTimeoutException("request timed out"))).isEqualTo("request timed out");
        assertThat(TransportException.describe(new EOFException())).isEqualTo("connection closed");
        assertThat(TransportException.describe(new IOException("Connection reset by peer")))
                .isEqualTo("I/O error: Connection reset by peer");
        assertThat(TransportException.describe(new CancellationException())).isEqualTo("cancelled");
        assertThat(TransportException.describe(new IllegalStateException())).isEqualTo("unexpected failure");
        assertThat(TransportException.describe(new TransportException(TransportException.Kind.RESET, "closed early", null)))
                .isEqualTo("RESET: closed early");
    }

    @Test
    void noDescriptionNamesAnExceptionClass() {
        for (Throwable t : new Throwable[] {new ConnectException(), new UnknownHostException(), new EOFException(),
                new IOException(), new RuntimeException(), new javax.net.ssl.SSLHandshakeException("bad certificate")}) {
            assertThat(TransportException.describe(t)).doesNotContain("Exception").doesNotContain("java.");
        }
    }
}
