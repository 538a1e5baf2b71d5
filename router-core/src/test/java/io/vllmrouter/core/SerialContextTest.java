package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class SerialContextTest {

    private final SerialContext context = new SerialContext();
    private final List<String> log = new CopyOnWriteArrayList<>();

    @Test
    void aTaskQueuedFromATaskRunsAfterItNotInside() {
        context.execute(() -> {
            log.add("outer start");
            context.execute(() -> log.add("inner"));
            log.add("outer end");
        });
        assertThat(log).containsExactly("outer start", "outer end", "inner");
    }

    @Test
    void executeLaterRunsNothingUntilADrain() {
        context.executeLater(() -> log.add("a"));
        context.executeLater(() -> log.add("b"));
        assertThat(log).isEmpty();
        context.drain();
        assertThat(log).containsExactly("a", "b");
    }

    @Test
    void aFailingTaskDoesNotStopTheOnesAfterIt() {
        context.executeLater(() -> {
            throw new IllegalStateException("expected by the test");
        });
        context.execute(() -> log.add("after"));
        assertThat(log).containsExactly("after");
    }

    @Test
    void executeAndWaitRethrowsAndRefusesToWaitForItself() {
        assertThatThrownBy(() -> context.executeAndWait(() -> {
            throw new IllegalArgumentException("bad");
        })).isInstanceOf(IllegalArgumentException.class).hasMessage("bad");
        context.execute(() -> assertThatThrownBy(() -> context.executeAndWait(() -> { }))
                .isInstanceOf(IllegalStateException.class));
    }

    @Test
    void tasksFromManyThreadsRunOneAtATime() throws Exception {
        AtomicInteger running = new AtomicInteger();
        AtomicInteger maxRunning = new AtomicInteger();
        AtomicInteger done = new AtomicInteger();
        int threads = 4;
        int perThread = 2_000;
        CountDownLatch go = new CountDownLatch(1);
        CountDownLatch finished = new CountDownLatch(threads);
        for (int t = 0; t < threads; t++) {
            Thread th = new Thread(() -> {
                try {
                    go.await();
                    for (int i = 0; i < perThread; i++) {
                        context.execute(() -> {
                            maxRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
                            done.incrementAndGet();
                            running.decrementAndGet();
                        });
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    finished.countDown();
                }
            });
            th.start();
        }
        go.countDown();
        assertThat(finished.await(30, TimeUnit.SECONDS)).isTrue();
        // no drain here: every execute drains, or leaves its task to the thread draining, which
        // looks again before it stops; so once every execute has returned, every task has run
        assertThat(done.get()).isEqualTo(threads * perThread);
        assertThat(maxRunning.get()).isEqualTo(1);
    }
}
