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
    static class FlushSignal extends ByteArrayOutputStream {
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
        return start(context, sink, 8192);
    }

    private static BatchingAsyncAppender start(LoggerContext context, java.io.OutputStream sink, int queueSize) {
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
        async.setQueueSize(queueSize);
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

    @Test
    void aFullQueueDropsLinesInsteadOfBlockingTheLogger() throws Exception {
        LoggerContext context = new LoggerContext();
        CountDownLatch writing = new CountDownLatch(1);
        CountDownLatch disk = new CountDownLatch(1);
        FlushSignal sink = new FlushSignal() {
            @Override
            public void write(byte[] b, int off, int len) {
                writing.countDown();
                try {
                    disk.await(); // a disk that cannot keep up
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                super.write(b, off, len);
            }
        };
        BatchingAsyncAppender async = start(context, sink, 10);
        context.getLogger("test").info("first");
        assertThat(writing.await(5, TimeUnit.SECONDS)).isTrue(); // the writer holds it, stuck on the disk
        for (int i = 0; i < 25; i++) {
            context.getLogger("test").info("line {}", i); // returns at once: 10 queued, 15 dropped
        }
        disk.countDown();
        async.stop();
        StringBuilder expected = new StringBuilder("first\n");
        for (int i = 0; i < 10; i++) {
            expected.append("line ").append(i).append('\n');
        }
        assertThat(sink.text()).isEqualTo(expected.toString());

        // room again once written
        LoggerContext again = new LoggerContext();
        FlushSignal sink2 = new FlushSignal();
        BatchingAsyncAppender async2 = start(again, sink2, 10);
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < 10; i++) {
                again.getLogger("test").info("r{} {}", round, i);
            }
            while (true) { // until this round is written, woken by each flush
                sink2.flushed = new CountDownLatch(1);
                if (sink2.text().lines().count() == 10L * (round + 1)) {
                    break;
                }
                assertThat(sink2.flushed.await(5, TimeUnit.SECONDS)).isTrue();
            }
        }
        async2.stop();
        assertThat(sink2.text().lines()).hasSize(30);
    }

}
