package io.vllmrouter.examples.server;

import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Flushes asked for on a loop run once each: at the end of a backend read, or by the loop's task. */
@Timeout(10)
class FlushesTest {

    private final EventLoop loop = new DefaultEventLoop();
    private final List<String> ran = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() {
        loop.shutdownGracefully(0, 0, TimeUnit.SECONDS);
    }

    /** Runs {@code r} on the loop and waits for it, then for every task it queued meanwhile. */
    private void onLoop(Runnable r) throws Exception {
        loop.submit(r).get(5, TimeUnit.SECONDS);
        loop.submit(() -> { }).get(5, TimeUnit.SECONDS); // queued after anything r queued
    }

    @Test
    void theEndOfAReadRunsThemAtOnceAndTheTaskFindsNothingLeft() throws Exception {
        onLoop(() -> {
            Flushes.later(loop, () -> ran.add("a"));
            Flushes.later(loop, () -> ran.add("b"));
            assertThat(ran).isEmpty(); // not before the read is over
            Flushes.now();
            assertThat(ran).containsExactly("a", "b");
        });
        assertThat(ran).containsExactly("a", "b"); // the task ran too, and ran nothing twice
    }

    @Test
    void withoutABackendReadTheTaskRunsThem() throws Exception {
        onLoop(() -> Flushes.later(loop, () -> ran.add("a")));
        assertThat(ran).containsExactly("a");
    }

    @Test
    void aFlushAskedForWhileFlushingRunsAfterwardsNotLost() throws Exception {
        onLoop(() -> {
            Flushes.later(loop, () -> {
                ran.add("first");
                Flushes.later(loop, () -> ran.add("asked while flushing"));
                Flushes.now(); // a nested end of read does not run the batch being run
            });
            Flushes.now();
            assertThat(ran).containsExactly("first"); // the second waits for the task
        });
        assertThat(ran).containsExactly("first", "asked while flushing");
    }

    @Test
    void oneAskedForByTheTaskIsRunByANewTask() throws Exception {
        onLoop(() -> Flushes.later(loop, () -> {
            ran.add("first");
            Flushes.later(loop, () -> ran.add("second"));
        }));
        loop.submit(() -> { }).get(5, TimeUnit.SECONDS); // the second task, queued by the first
        assertThat(ran).containsExactly("first", "second");
    }

    @Test
    void aFailingFlushDoesNotStopTheOthers() throws Exception {
        onLoop(() -> {
            Flushes.later(loop, () -> {
                throw new IllegalStateException("test: a flush that fails");
            });
            Flushes.later(loop, () -> ran.add("after"));
            Flushes.now();
        });
        assertThat(ran).containsExactly("after");
    }

    @Test
    void anErrorInAFlushLeavesTheRestForTheNextRunAndRunsGoOn() throws Exception {
        onLoop(() -> {
            Flushes.later(loop, () -> ran.add("before"));
            Flushes.later(loop, () -> {
                throw new StackOverflowError("test: an error in a flush");
            });
            Flushes.later(loop, () -> ran.add("after"));
            assertThatThrownBy(Flushes::now).isInstanceOf(StackOverflowError.class);
            assertThat(ran).containsExactly("before");
            Flushes.later(loop, () -> ran.add("asked later"));
            Flushes.now();
            assertThat(ran).containsExactly("before", "after", "asked later");
        });
        assertThat(ran).containsExactly("before", "after", "asked later");
    }

    @Test
    void fromAnotherThreadTheFlushHopsOntoTheLoop() throws Exception {
        Thread[] on = new Thread[1];
        Flushes.later(loop, () -> on[0] = Thread.currentThread());
        onLoop(() -> { });
        assertThat(on[0]).isNotNull().isNotSameAs(Thread.currentThread());
        assertThat(loop.submit(Thread::currentThread).get(5, TimeUnit.SECONDS)).isSameAs(on[0]);
    }

    @Test
    void theEndOfAReadWithNothingAskedForDoesNothing() throws Exception {
        onLoop(Flushes::now);
        Flushes.now(); // a thread that never asked: no state made for it
        assertThat(ran).isEmpty();
    }
}
