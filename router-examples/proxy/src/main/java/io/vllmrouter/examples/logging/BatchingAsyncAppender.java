package io.vllmrouter.examples.logging;

import ch.qos.logback.classic.spi.ILoggingEvent;
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
 */
public final class BatchingAsyncAppender extends UnsynchronizedAppenderBase<ILoggingEvent>
        implements AppenderAttachable<ILoggingEvent> {

    private final AppenderAttachableImpl<ILoggingEvent> appenders = new AppenderAttachableImpl<>();
    private final AtomicBoolean idle = new AtomicBoolean();
    private int queueSize = 8192;
    private long batchMillis = 5;
    private final ConcurrentLinkedQueue<ILoggingEvent> queue = new ConcurrentLinkedQueue<>();
    /** Events in {@link #queue}: an append beyond {@link #queueSize} is dropped. */
    private final AtomicInteger queued = new AtomicInteger();
    private volatile Thread worker;

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
        if (queued.incrementAndGet() > queueSize) {
            queued.decrementAndGet(); // full: the disk cannot keep up, the line is dropped
            return;
        }
        queue.offer(event);
        if (idle.get() && idle.compareAndSet(true, false)) {
            LockSupport.unpark(worker);
        }
    }

    private void run() {
        List<ILoggingEvent> batch = new ArrayList<>();
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
            write(batch);
            LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(batchMillis));
        }
        drainTo(batch);
        write(batch);
    }

    private void drainTo(List<ILoggingEvent> batch) {
        int before = batch.size();
        ILoggingEvent e;
        while ((e = queue.poll()) != null) {
            batch.add(e);
        }
        queued.addAndGet(before - batch.size());
    }

    private void write(List<ILoggingEvent> batch) {
        if (batch.isEmpty()) {
            return;
        }
        for (ILoggingEvent e : batch) {
            appenders.appendLoopOnAppenders(e);
        }
        batch.clear();
        for (Iterator<Appender<ILoggingEvent>> it = appenders.iteratorForAppenders(); it.hasNext(); ) {
            if (it.next() instanceof OutputStreamAppender<ILoggingEvent> out && !out.isImmediateFlush()) {
                flush(out);
            }
        }
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
