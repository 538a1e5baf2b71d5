package io.vllmrouter.examples.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoop;
import io.vllmrouter.api.time.Scheduler;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link EventLoops#timers()}: a request's timers stay on the loop that set them. */
@Timeout(30)
class EventLoopTimersTest {

    private final EventLoops loops = EventLoops.create(2);

    @AfterEach
    void stop() {
        loops.close();
    }

    @Test
    void aTimerSetOnALoopRunsOnThatLoop() throws Exception {
        Scheduler timers = loops.timers();
        for (io.netty.util.concurrent.EventExecutor e : loops.group()) {
            EventLoop loop = (EventLoop) e;
            CompletableFuture<Boolean> ranOnSameLoop = new CompletableFuture<>();
            loop.execute(() -> timers.schedule(() -> ranOnSameLoop.complete(loop.inEventLoop()), Duration.ofMillis(1)));
            assertThat(ranOnSameLoop.get(10, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void aCancelledTimerDoesNotRunAndAThrowingOneDoesNotStopTheLoop() throws Exception {
        Scheduler timers = loops.timers();
        EventLoop loop = loops.group().next();
        AtomicBoolean cancelledRan = new AtomicBoolean();
        CompletableFuture<Void> after = new CompletableFuture<>();
        loop.execute(() -> {
            Scheduler.Cancellable c = timers.schedule(() -> cancelledRan.set(true), Duration.ofMillis(5));
            c.cancel();
            timers.schedule(() -> {
                throw new IllegalStateException("a timer task failed on purpose");
            }, Duration.ofMillis(1));
            // runs after the cancelled one's time and after the throwing one
            timers.schedule(() -> after.complete(null), Duration.ofMillis(20));
        });
        after.get(10, TimeUnit.SECONDS);
        assertThat(cancelledRan).isFalse();
    }

    @Test
    void aTimerAskedOfALoopThatIsShuttingDownIsRefusedNotDropped() throws Exception {
        EventLoop loop = loops.group().next();
        CompletableFuture<Throwable> refused = new CompletableFuture<>();
        loop.execute(() -> {
            loop.shutdownGracefully(0, 5, TimeUnit.SECONDS);
            try {
                loops.timers().schedule(() -> { }, Duration.ofSeconds(1)); // Netty would take it, and drop it
                refused.complete(null);
            } catch (RuntimeException e) {
                refused.complete(e);
            }
        });
        assertThat(refused.get(10, TimeUnit.SECONDS)).isInstanceOf(java.util.concurrent.RejectedExecutionException.class);
    }

    @Test
    void aWakeUpForALoopThatIsShuttingDownIsRefusedNotDropped() throws Exception {
        EventLoop loop = loops.group().next();
        CompletableFuture<java.util.concurrent.Executor> home = new CompletableFuture<>();
        loop.execute(() -> home.complete(loops.timers().callerExecutor())); // taken on the loop, as a request does
        java.util.concurrent.Executor executor = home.get(10, TimeUnit.SECONDS);
        CompletableFuture<Throwable> refused = new CompletableFuture<>();
        loop.execute(() -> {
            loop.shutdownGracefully(0, 5, TimeUnit.SECONDS);
            try {
                executor.execute(() -> { });
                refused.complete(null);
            } catch (RuntimeException e) {
                refused.complete(e);
            }
        });
        assertThat(refused.get(10, TimeUnit.SECONDS)).isInstanceOf(java.util.concurrent.RejectedExecutionException.class);
    }

    @Test
    void fromAnotherThreadATimerGoesToALoop() throws Exception {
        CompletableFuture<Boolean> onLoop = new CompletableFuture<>();
        loops.timers().schedule(() -> onLoop.complete(Thread.currentThread().getName().startsWith("vllm-router-io")),
                Duration.ZERO);
        assertThat(onLoop.get(10, TimeUnit.SECONDS)).isTrue();
    }
}
