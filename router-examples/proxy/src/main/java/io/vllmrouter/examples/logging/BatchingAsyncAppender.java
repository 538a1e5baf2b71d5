package io.vllmrouter.examples.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.UnsynchronizedAppenderBase;
import ch.qos.logback.core.spi.AppenderAttachable;
import ch.qos.logback.core.spi.AppenderAttachableImpl;

import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Writes log events on a logging thread, in batches: the proxy's event loops only queue the event
 * (never blocking, no lock: a lock-free queue bounded by a counter; a full queue drops it), and the logging thread writes what has gathered every
 * {@code batchMillis} (default 5) and then flushes once, instead of waking and flushing once per
 * line. Set the file appenders it feeds to {@code immediateFlush=false}: this appender flushes them
 * after each batch, so a line reaches the file at most {@code batchMillis} after it was logged. An
 * idle logging thread is woken by the next event.
 *
 * <p>When every appender it feeds writes only the message ({@link MessageLineEncoder}), a logger's
 * caller may also hand it whole lines, {@link #offerLine}: no logging event is made per line, and
 * the logging thread gives the appenders one event per batch whose message is the batch's lines, so
 * a file appender takes its lock, checks its rolling policy and writes once per batch, not once per line.
 */
public final class BatchingAsyncAppender extends UnsynchronizedAppenderBase<ILoggingEvent>
        implements AppenderAttachable<ILoggingEvent> {

    private final AppenderAttachableImpl<ILoggingEvent> appenders = new AppenderAttachableImpl<>();
    private final AtomicBoolean idle = new AtomicBoolean();
    private int queueSize = 8192;
    private long batchMillis = 5;
    /** Events, and whole lines ({@code String}s) offered for {@link #lineLogger}. */
    private final ConcurrentLinkedQueue<Object> queue = new ConcurrentLinkedQueue<>();
    /** Entries in {@link #queue}: an append beyond {@link #queueSize} is dropped. */
    private final AtomicInteger queued = new AtomicInteger();
    private volatile Thread worker;
    /** The logger in whose name the lines' batches are logged; set by {@link #linesFor}. */
    private volatile Logger lineLogger;

    /** Lines joined into one event at most, so a batch's message stays a few hundred kilobytes at most. */
    private static final int LINES_PER_EVENT = 1024;

    public void setQueueSize(int queueSize) {
        this.queueSize = queueSize;
    }

    public void setBatchMillis(long batchMillis) {
        this.batchMillis = batchMillis;
    }

    @Override
    public void start() {
        if (isStarted()) {
            return;
        }
        if (queueSize < 1) {
            addError("queueSize must be at least 1, not " + queueSize);
            return;
        }
        Thread t = new Thread(this::run, "log-writer-" + getName());
        t.setDaemon(true);
        worker = t;
        super.start();
        t.start();
    }

    @Override
    protected void append(ILoggingEvent event) {
        event.prepareForDeferredProcessing();
        enqueue(event);
    }

    /**
     * The appender that takes {@code logger}'s lines whole, or null when its events must go as
     * events: the logger is logback's, does not pass its events on to its parents' appenders, and
     * has one appender, a started {@code BatchingAsyncAppender} whose every appender writes only
     * the message and a newline.
     */
    public static BatchingAsyncAppender linesFor(org.slf4j.Logger logger) {
        if (!(logger instanceof Logger lb) || lb.isAdditive()) {
            return null;
        }
        Iterator<Appender<ILoggingEvent>> it = lb.iteratorForAppenders();
        if (!it.hasNext() || !(it.next() instanceof BatchingAsyncAppender async) || it.hasNext()
                || !async.isStarted() || !async.writesMessagesOnly()) {
            return null;
        }
        async.lineLogger = lb;
        return async;
    }

    private boolean writesMessagesOnly() {
        Iterator<Appender<ILoggingEvent>> it = appenders.iteratorForAppenders();
        if (!it.hasNext()) {
            return false;
        }
        while (it.hasNext()) {
            if (!(it.next() instanceof OutputStreamAppender<ILoggingEvent> out)
                    || !(out.getEncoder() instanceof MessageLineEncoder)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Queues one whole line, without its newline, as if {@link #linesFor}'s logger had logged it at
     * INFO (the caller checks the level). Never blocks; a full queue drops the line, as it drops
     * events.
     *
     * @return false when stopped, or not had from {@link #linesFor}: log the line as an event instead
     */
    public boolean offerLine(String line) {
        if (!isStarted() || lineLogger == null) {
            return false;
        }
        enqueue(line);
        return true;
    }

    private void enqueue(Object entry) {
        if (queued.incrementAndGet() > queueSize) {
            queued.decrementAndGet(); // full: the disk cannot keep up, the line is dropped
            return;
        }
        queue.offer(entry);
        if (idle.get() && idle.compareAndSet(true, false)) {
            LockSupport.unpark(worker);
        }
    }

    private void run() {
        List<Object> batch = new ArrayList<>();
        // The batch's lines are joined here, reused from batch to batch: grown once, not per batch.
        StringBuilder lines = new StringBuilder();
        while (isStarted()) {
            drainTo(batch);
            if (batch.isEmpty()) {
                idle.set(true);
                if (queue.isEmpty() && isStarted()) {
                    LockSupport.park(this);
                }
                idle.set(false);
                continue;
            }
            write(batch, lines);
            LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(batchMillis));
        }
        drainTo(batch);
        write(batch, lines);
    }

    private void drainTo(List<Object> batch) {
        int before = batch.size();
        Object e;
        while ((e = queue.poll()) != null) {
            batch.add(e);
        }
        queued.addAndGet(before - batch.size());
    }

    private void write(List<Object> batch, StringBuilder lines) {
        if (batch.isEmpty()) {
            return;
        }
        int inLines = 0;
        for (Object e : batch) {
            if (e instanceof String line) {
                if (inLines == LINES_PER_EVENT) {
                    appendLines(lines);
                    inLines = 0;
                }
                if (inLines > 0) {
                    lines.append('\n');
                }
                lines.append(line);
                inLines++;
            } else {
                if (inLines > 0) {
                    appendLines(lines);
                    inLines = 0;
                }
                appenders.appendLoopOnAppenders((ILoggingEvent) e);
            }
        }
        if (inLines > 0) {
            appendLines(lines);
        }
        batch.clear();
        for (Iterator<Appender<ILoggingEvent>> it = appenders.iteratorForAppenders(); it.hasNext(); ) {
            if (it.next() instanceof OutputStreamAppender<ILoggingEvent> out && !out.isImmediateFlush()) {
                flush(out);
            }
        }
    }

    /** One event for the lines gathered (the encoder adds the last newline); empties {@code lines}. */
    private void appendLines(StringBuilder lines) {
        LoggingEvent event = new LoggingEvent(BatchingAsyncAppender.class.getName(), lineLogger, Level.INFO,
                lines.toString(), null, null);
        lines.setLength(0);
        appenders.appendLoopOnAppenders(event);
    }

    private void flush(OutputStreamAppender<ILoggingEvent> out) {
        OutputStream stream = out.getOutputStream();
        if (stream == null) {
            return;
        }
        try {
            stream.flush();
        } catch (IOException e) {
            addError("flushing " + out.getName() + " failed", e);
        }
    }

    @Override
    public void stop() {
        if (!isStarted()) {
            return;
        }
        super.stop();
        Thread t = worker;
        LockSupport.unpark(t);
        try {
            t.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        appenders.detachAndStopAllAppenders();
    }

    @Override
    public void addAppender(Appender<ILoggingEvent> newAppender) {
        appenders.addAppender(newAppender);
    }

    @Override
    public Iterator<Appender<ILoggingEvent>> iteratorForAppenders() {
        return appenders.iteratorForAppenders();
    }

    @Override
    public Appender<ILoggingEvent> getAppender(String name) {
        return appenders.getAppender(name);
    }

    @Override
    public boolean isAttached(Appender<ILoggingEvent> appender) {
        return appenders.isAttached(appender);
    }

    @Override
    public void detachAndStopAllAppenders() {
        appenders.detachAndStopAllAppenders();
    }

    @Override
    public boolean detachAppender(Appender<ILoggingEvent> appender) {
        return appenders.detachAppender(appender);
    }

    @Override
    public boolean detachAppender(String name) {
        return appenders.detachAppender(name);
    }
}
