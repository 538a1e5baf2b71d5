package io.vllmrouter.examples.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import io.vllmrouter.examples.server.door.Hangup;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.slf4j.LoggerFactory;

/** {@link Hangup}'s log of the connections it reset, watched at DEBUG while open. */
public final class ResetLog extends AppenderBase<ILoggingEvent> implements AutoCloseable {
    private final Logger log = (Logger) LoggerFactory.getLogger(Hangup.class);
    private final Level level = log.getLevel();
    private final List<String> seen = new CopyOnWriteArrayList<>();
    private final Semaphore arrived = new Semaphore(0);

    public ResetLog() {
        start();
        log.setLevel(Level.DEBUG);
        log.addAppender(this);
    }

    @Override
    protected void append(ILoggingEvent e) {
        seen.add(e.getFormattedMessage());
        arrived.release();
    }

    public int count() {
        return seen.size();
    }

    /** Whether the connection from {@code clientPort} was reset. */
    public boolean reset(int clientPort) {
        return seen.stream().anyMatch(m -> m.contains(":" + clientPort + " reset ("));
    }

    /** Waits for a reset whose reason contains {@code why}. */
    boolean await(String why) throws InterruptedException {
        return awaitText(" reset (" + why);
    }

    /** Waits for the reset of the connection from {@code clientPort}, for a reason containing {@code why}. */
    public boolean await(int clientPort, String why) throws InterruptedException {
        return awaitText(":" + clientPort + " reset (" + why);
    }

    private boolean awaitText(String text) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (seen.stream().noneMatch(m -> m.contains(text))) {
            if (!arrived.tryAcquire(end - System.nanoTime(), TimeUnit.NANOSECONDS)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void close() {
        log.detachAppender(this);
        log.setLevel(level);
        stop();
    }
}
