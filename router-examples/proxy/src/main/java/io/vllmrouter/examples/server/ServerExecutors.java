package io.vllmrouter.examples.server;

import java.lang.reflect.Method;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The executor the HTTP server runs its exchanges on. Each exchange holds its thread for the whole
 * response (a stream can last minutes), so the pool must be able to hold thousands of them.
 *
 * <ul>
 *   <li>Java 21+: one virtual thread per exchange ({@code Executors.newVirtualThreadPerTaskExecutor},
 *       looked up at run time since the build targets 17).</li>
 *   <li>Java 17: a {@link ThreadPoolExecutor} of up to {@value #MAX_THREADS} daemon threads with
 *       {@value #STACK_BYTES} byte stacks (the default 1 MiB would reserve 4 GiB of address space),
 *       idle threads are reused and retire after 30 s, and beyond the limit the server's dispatcher
 *       waits until a thread frees.</li>
 * </ul>
 */
final class ServerExecutors {

    static final int MAX_THREADS = 4096;
    static final long STACK_BYTES = 256 * 1024;
    /** {@code -Dvllmrouter.http.virtualThreads=false} keeps platform threads on Java 21+. */
    static final String VIRTUAL_PROPERTY = "vllmrouter.http.virtualThreads";

    private ServerExecutors() {
    }

    static ExecutorService create(String name) {
        ExecutorService virtual = Boolean.parseBoolean(System.getProperty(VIRTUAL_PROPERTY, "true")) ? virtualThreads() : null;
        return virtual != null ? virtual : platformThreads(name);
    }

    /** Whether {@link #create} returns virtual threads on this JVM. */
    static boolean virtualThreadsAvailable() {
        return lookup() != null && Boolean.parseBoolean(System.getProperty(VIRTUAL_PROPERTY, "true"));
    }

    private static Method lookup() {
        try {
            return java.util.concurrent.Executors.class.getMethod("newVirtualThreadPerTaskExecutor");
        } catch (NoSuchMethodException e) {
            return null;
        }
    }

    private static ExecutorService virtualThreads() {
        Method m = lookup();
        if (m == null) {
            return null;
        }
        try {
            return (ExecutorService) m.invoke(null);
        } catch (ReflectiveOperationException e) {
            return null;
        }
    }

    static ExecutorService platformThreads(String name) {
        AtomicInteger n = new AtomicInteger();
        ThreadFactory factory = r -> {
            Thread t = new Thread(null, r, name + "-" + n.incrementAndGet(), STACK_BYTES);
            t.setDaemon(true);
            return t;
        };
        // A hand-off queue: an idle thread takes the next exchange, a new thread starts only when
        // none is idle (a core-sized pool would start a new thread per exchange until it held
        // MAX_THREADS). Beyond MAX_THREADS busy threads, the server's dispatcher waits for one.
        return new ThreadPoolExecutor(0, MAX_THREADS, 30, TimeUnit.SECONDS, new SynchronousQueue<>(), factory,
                (task, pool) -> {
                    try {
                        pool.getQueue().put(task);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new RejectedExecutionException("interrupted while every thread was busy", e);
                    }
                });
    }
}
