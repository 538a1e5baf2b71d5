package io.vllmrouter.examples.server.door;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.vllmrouter.examples.server.ProxyMetrics;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.io.IOException;

import static org.assertj.core.api.Assertions.assertThat;

/** A client connection's failures: each counted, the first logged in one line, a bug with its trace. */
class ConnectionErrorsTest {

    private final ListAppender<ILoggingEvent> log = new ListAppender<>();
    private final Logger logger = (Logger) LoggerFactory.getLogger(ConnectionErrors.class);
    private Level level;

    @BeforeEach
    void listen() {
        level = logger.getLevel();
        logger.setLevel(Level.DEBUG);
        log.start();
        logger.addAppender(log);
    }

    @AfterEach
    void stop() {
        logger.detachAppender(log);
        logger.setLevel(level);
    }

    @Test
    void aConnectionThatSpeaksBrokenHttp2IsOneLineNotOnePerFrame() {
        ProxyMetrics metrics = new ProxyMetrics();
        ConnectionErrors errors = new ConnectionErrors(metrics); // one per connection, shared by its streams
        EmbeddedChannel connection = new EmbeddedChannel(errors);
        for (int i = 0; i < 500; i++) {
            EmbeddedChannel stream = new EmbeddedChannel(errors);
            stream.pipeline().fireExceptionCaught(Http2Exception.streamError(i * 2 + 1, Http2Error.PROTOCOL_ERROR,
                    "frame %d is malformed", i));
            assertThat(stream.isOpen()).isFalse();
        }
        connection.pipeline().fireExceptionCaught(Http2Exception.connectionError(Http2Error.PROTOCOL_ERROR, "bad"));

        assertThat(log.list).singleElement().satisfies(e -> {
            assertThat(e.getLevel()).isEqualTo(Level.INFO);
            assertThat(e.getFormattedMessage()).contains("HTTP protocol error").contains("frame 0 is malformed")
                    .doesNotContain("Exception");
            assertThat(e.getThrowableProxy()).as("no stack trace").isNull();
        });
        assertThat(metrics.registry().get("vllm_router_client_connection_errors").tag("kind", "protocol").counter().count())
                .isEqualTo(501.0);
        assertThat(connection.isOpen()).isFalse();
    }

    @Test
    void aDecodersWrappedFailureIsToldInItsOwnWords() {
        EmbeddedChannel stream = new EmbeddedChannel(new ConnectionErrors(new ProxyMetrics()));
        // Netty's HTTP/2 to HTTP/1 conversion of a request without :path
        stream.pipeline().fireExceptionCaught(new io.netty.handler.codec.DecoderException(
                new NullPointerException("path header cannot be null in conversion to HTTP/1.x")));

        assertThat(log.list).singleElement().satisfies(e -> {
            assertThat(e.getLevel()).isEqualTo(Level.INFO);
            assertThat(e.getFormattedMessage()).contains("HTTP protocol error (path header cannot be null")
                    .doesNotContain("java.").doesNotContain("Exception");
        });
    }

    @Test
    void resetsAreDebugAndABugKeepsItsStackTrace() {
        ProxyMetrics metrics = new ProxyMetrics();
        EmbeddedChannel a = new EmbeddedChannel(new ConnectionErrors(metrics));
        a.pipeline().fireExceptionCaught(new IOException("Connection reset by peer"));
        EmbeddedChannel b = new EmbeddedChannel(new ConnectionErrors(metrics));
        b.pipeline().fireExceptionCaught(new IllegalStateException("a bug in a handler"));

        assertThat(log.list).extracting(ILoggingEvent::getLevel).containsExactly(Level.DEBUG, Level.ERROR);
        assertThat(log.list.get(1).getThrowableProxy()).isNotNull();
    }
}
