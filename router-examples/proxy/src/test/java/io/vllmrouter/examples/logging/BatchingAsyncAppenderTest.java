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
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern("%msg%n");
        return start(context, sink, queueSize, encoder);
    }

    static BatchingAsyncAppender start(LoggerContext context, java.io.OutputStream sink, int queueSize,
                                       ch.qos.logback.core.encoder.Encoder<ILoggingEvent> encoder) {
        context.setMDCAdapter(new ch.qos.logback.classic.util.LogbackMDCAdapter());
        context.start();
        encoder.setContext(context);
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


    @Test
    void wholeLinesAreWrittenOncePerBatchInOrderWithEvents() throws Exception {
        LoggerContext context = new LoggerContext();
        CountDownLatch writing = new CountDownLatch(1);
        CountDownLatch disk = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger writes = new java.util.concurrent.atomic.AtomicInteger();
        FlushSignal sink = new FlushSignal() {
            @Override
            public void write(byte[] b, int off, int len) {
                writes.incrementAndGet();
                writing.countDown();
                try {
                    disk.await(); // held until every line below is queued
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                super.write(b, off, len);
            }
        };
        BatchingAsyncAppender async = start(context, sink, 8192, new MessageLineEncoder());
        Logger logger = context.getLogger("test");
        assertThat(BatchingAsyncAppender.linesFor(logger)).isSameAs(async);

        logger.info("first");
        assertThat(writing.await(5, TimeUnit.SECONDS)).isTrue();
        StringBuilder expected = new StringBuilder("first\n");
        for (int i = 0; i < 3000; i++) {
            if (i == 1500) {
                logger.info("an event between lines");
                expected.append("an event between lines\n");
            }
            assertThat(async.offerLine("{\"line\":" + i + "}")).isTrue();
            expected.append("{\"line\":").append(i).append("}\n");
        }
        disk.countDown();
        async.stop();

        assertThat(sink.text()).isEqualTo(expected.toString());
        // first; lines 0-1023, 1024-1499; the event; lines 1500-2523, 2524-2999: not one write per line
        assertThat(writes.get()).isEqualTo(6);
        assertThat(async.offerLine("after stop")).as("stopped: the caller logs an event instead").isFalse();
    }

    @Test
    void linesAreTakenWholeOnlyWhenEveryAppenderWritesTheMessageAlone() {
        LoggerContext patterned = new LoggerContext();
        BatchingAsyncAppender a = start(patterned, new FlushSignal());
        try {
            assertThat(BatchingAsyncAppender.linesFor(patterned.getLogger("test")))
                    .as("a pattern may add to each line").isNull();
            assertThat(a.offerLine("x")).as("not had from linesFor").isFalse();
        } finally {
            a.stop();
        }

        LoggerContext plain = new LoggerContext();
        BatchingAsyncAppender b = start(plain, new FlushSignal(), 16, new MessageLineEncoder());
        try {
            Logger logger = plain.getLogger("test");
            logger.setAdditive(true);
            assertThat(BatchingAsyncAppender.linesFor(logger)).as("its parents' appenders would miss the lines").isNull();
            logger.setAdditive(false);
            assertThat(BatchingAsyncAppender.linesFor(logger)).isSameAs(b);
            assertThat(BatchingAsyncAppender.linesFor(org.slf4j.helpers.NOPLogger.NOP_LOGGER)).isNull();
        } finally {
            b.stop();
        }
        assertThat(BatchingAsyncAppender.linesFor(plain.getLogger("test"))).as("stopped").isNull();
    }
}
