package io.vllmrouter.examples.logging;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(10)
class BatchingAsyncAppenderTest {

    /** An in-memory "file" that tells when it is flushed. */
    static final class FlushSignal extends ByteArrayOutputStream {
        volatile CountDownLatch flushed = new CountDownLatch(1);

        @Override
        public synchronized void flush() {
            flushed.countDown();
        }

        synchronized String text() {
            return toString(StandardCharsets.UTF_8);
        }
    }

    private static BatchingAsyncAppender start(LoggerContext context, FlushSignal sink) {
        context.setMDCAdapter(new ch.qos.logback.classic.util.LogbackMDCAdapter());
        context.start();
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern("%msg%n");
        encoder.start();
        OutputStreamAppender<ILoggingEvent> out = new OutputStreamAppender<>();
        out.setContext(context);
        out.setName("OUT");
        out.setEncoder(encoder);
        out.setImmediateFlush(false);
        out.setOutputStream(sink);
        out.start();
        BatchingAsyncAppender async = new BatchingAsyncAppender();
        async.setContext(context);
        async.setName("ASYNC");
        async.setBatchMillis(1);
        async.addAppender(out);
        async.start();
        Logger logger = context.getLogger("test");
        logger.setAdditive(false);
        logger.addAppender(async);
        return async;
    }

    @Test
    void linesReachTheStreamAndAreFlushedAfterTheBatch() throws Exception {
        LoggerContext context = new LoggerContext();
        FlushSignal sink = new FlushSignal();
        BatchingAsyncAppender async = start(context, sink);
        try {
            context.getLogger("test").info("one {}", 1);
            assertThat(sink.flushed.await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(sink.text()).isEqualTo("one 1\n");

            sink.flushed = new CountDownLatch(1);
            context.getLogger("test").info("two");
            assertThat(sink.flushed.await(5, TimeUnit.SECONDS)).as("an idle writer is woken by the next line").isTrue();
            assertThat(sink.text()).isEqualTo("one 1\ntwo\n");
        } finally {
            async.stop();
        }
    }

    @Test
    void stopWritesWhatIsQueued() {
        LoggerContext context = new LoggerContext();
        FlushSignal sink = new FlushSignal();
        BatchingAsyncAppender async = start(context, sink);
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < 1000; i++) {
            context.getLogger("test").info("line {}", i);
            expected.append("line ").append(i).append('\n');
        }
        async.stop();
        assertThat(sink.text()).isEqualTo(expected.toString());
    }
}
