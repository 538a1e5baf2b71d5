package io.vllmrouter.examples.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.spi.FilterReply;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The proxy's own logging configuration ({@code vllm-router-logback.xml}), loaded into a context of
 * its own: nothing a request logs at INFO is written, or waits for a lock, on the thread that logs it.
 */
@Timeout(30)
class ShippedLoggingConfigTest {

    @TempDir
    Path dir;

    private LoggerContext load(String consoleThreshold) throws Exception {
        LoggerContext context = new LoggerContext();
        context.setMDCAdapter(new ch.qos.logback.classic.util.LogbackMDCAdapter());
        context.putProperty("LOG_DIR", dir.toString());
        context.putProperty("LOG_LEVEL", "INFO");
        context.putProperty("LIBRARY_LOG_LEVEL", "INFO");
        context.putProperty("CONSOLE_THRESHOLD", consoleThreshold);
        JoranConfigurator configurator = new JoranConfigurator();
        configurator.setContext(context);
        configurator.doConfigure(ShippedLoggingConfigTest.class.getResource("/vllm-router-logback.xml"));
        return context;
    }

    private static List<Appender<ILoggingEvent>> appenders(Logger logger) {
        List<Appender<ILoggingEvent>> out = new ArrayList<>();
        for (Iterator<Appender<ILoggingEvent>> it = logger.iteratorForAppenders(); it.hasNext(); ) {
            out.add(it.next());
        }
        return out;
    }

    private static ILoggingEvent info(LoggerContext context, String logger) {
        return new LoggingEvent(Logger.class.getName(), context.getLogger(logger), Level.INFO, "a request", null, null);
    }

    @Test
    void anInfoLineGoesOnlyToQueuesThatTakeNoLock() throws Exception {
        LoggerContext context = load("TRACE");
        try {
            ILoggingEvent line = info(context, RequestLog.ACCESS_LOGGER);
            List<Appender<ILoggingEvent>> root = appenders(context.getLogger(Logger.ROOT_LOGGER_NAME));
            assertThat(root).extracting(Appender::getName).contains("ASYNC_MAIN", "ASYNC_CONSOLE");
            for (Appender<ILoggingEvent> a : root) {
                if (a.getFilterChainDecision(line) == FilterReply.DENY) {
                    continue; // the error file takes ERROR only
                }
                assertThat(a).as(a.getName()).isInstanceOf(BatchingAsyncAppender.class);
                BatchingAsyncAppender async = (BatchingAsyncAppender) a;
                for (Iterator<Appender<ILoggingEvent>> it = async.iteratorForAppenders(); it.hasNext(); ) {
                    Appender<ILoggingEvent> out = it.next();
                    assertThat(out).isInstanceOf(OutputStreamAppender.class);
                    // flushed by the logging thread after each batch, not once per line
                    assertThat(((OutputStreamAppender<ILoggingEvent>) out).isImmediateFlush()).as(out.getName()).isFalse();
                }
            }
            assertThat(appenders(context.getLogger(RequestLog.ACCESS_LOGGER))).isEmpty(); // it logs through root's
        } finally {
            context.stop();
        }
    }

    @Test
    void withoutTheConsoleNothingIsQueuedForIt() throws Exception {
        LoggerContext context = load("OFF");
        try {
            Appender<ILoggingEvent> console = context.getLogger(Logger.ROOT_LOGGER_NAME).getAppender("ASYNC_CONSOLE");
            assertThat(console).isNotNull();
            assertThat(console.getFilterChainDecision(info(context, RequestLog.ACCESS_LOGGER))).isEqualTo(FilterReply.DENY);
        } finally {
            context.stop();
        }
        LoggerContext on = load("TRACE");
        try {
            Appender<ILoggingEvent> console = on.getLogger(Logger.ROOT_LOGGER_NAME).getAppender("ASYNC_CONSOLE");
            assertThat(console.getFilterChainDecision(info(on, RequestLog.ACCESS_LOGGER))).isEqualTo(FilterReply.NEUTRAL);
        } finally {
            on.stop();
        }
    }

    @Test
    void everyLineLoggedFromTwoThreadsIsInTheMainLogOnceStopped() throws Exception {
        LoggerContext context = load("OFF");
        org.slf4j.Logger access = context.getLogger(RequestLog.ACCESS_LOGGER);
        int perThread = 2000;
        CountDownLatch done = new CountDownLatch(2);
        for (String name : new String[] {"a", "b"}) {
            Thread t = new Thread(() -> {
                for (int i = 0; i < perThread; i++) {
                    access.info("{} {}", name, i);
                }
                done.countDown();
            });
            t.start();
        }
        assertThat(done.await(20, TimeUnit.SECONDS)).isTrue();
        context.stop(); // the logging threads write what is queued

        List<String> lines = Files.readAllLines(dir.resolve("vllm-router.log"), StandardCharsets.UTF_8);
        for (String name : new String[] {"a", "b"}) {
            List<String> mine = lines.stream().filter(l -> l.contains(" - " + name + " ")).toList();
            assertThat(mine).hasSize(perThread);
            for (int i = 0; i < perThread; i++) {
                assertThat(mine.get(i)).endsWith(" - " + name + " " + i); // in the order logged
            }
        }
    }
}
