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
                .isEqualTo("connection reset by the server");
        assertThat(TransportException.describe(new java.net.SocketException("Connection reset")))
                .isEqualTo("connection reset by the server");
        // Netty's native transport names the system call and its error number
        assertThat(TransportException.describe(new IOException("recvAddress(..) failed with error(-104): Connection reset by peer")))
                .isEqualTo("connection reset by the server");
        assertThat(TransportException.describe(new CancellationException())).isEqualTo("cancelled");
        assertThat(TransportException.describe(new IllegalStateException())).isEqualTo("unexpected failure");
        assertThat(TransportException.describe(new TransportException(TransportException.Kind.RESET, "closed early", null)))
                .isEqualTo("RESET: closed early");
    }

    @Test
    void theCauseThatNamesTheProblemWins() {
        // the JDK client's unknown host: a ConnectException without a message, caused by an unresolved address
        ConnectException unresolved = new ConnectException();
        unresolved.initCause(new java.nio.channels.UnresolvedAddressException());
        assertThat(TransportException.describe(unresolved)).isEqualTo("unknown host");
        ConnectException viaHost = new ConnectException("gpu-7");
        viaHost.initCause(new UnknownHostException("gpu-7: Name or service not known"));
        assertThat(TransportException.describe(viaHost)).isEqualTo("unknown host: gpu-7: Name or service not known");
        IOException tls = new IOException("handshake", new javax.net.ssl.SSLHandshakeException("PKIX path building failed"));
        assertThat(TransportException.describe(tls)).isEqualTo("TLS handshake failed: PKIX path building failed");
        class ConnectTimeoutException extends ConnectException {  // as Netty's, a ConnectException
            ConnectTimeoutException(String m) {
                super(m);
            }
        }
        assertThat(TransportException.describe(new ConnectTimeoutException("connection timed out: /10.0.0.9:8000")))
                .isEqualTo("connect timed out: connection timed out: /10.0.0.9:8000");
        assertThat(TransportException.describe(new java.net.NoRouteToHostException("No route to host")))
                .isEqualTo("No route to host");
    }

    @Test
    void noDescriptionNamesAnExceptionClass() {
        for (Throwable t : new Throwable[] {new ConnectException(), new UnknownHostException(), new EOFException(),
                new IOException(), new RuntimeException(), new javax.net.ssl.SSLHandshakeException("bad certificate")}) {
            assertThat(TransportException.describe(t)).doesNotContain("Exception").doesNotContain("java.");
        }
    }
}
