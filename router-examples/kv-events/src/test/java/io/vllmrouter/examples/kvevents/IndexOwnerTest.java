package io.vllmrouter.examples.kvevents;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The index's owner thread on its own: order, a full queue, waiting for it, stopping. */
class IndexOwnerTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    private final IndexOwner owner = new IndexOwner("kv-index-owner-test");

    @AfterEach
    void stop() {
        owner.stop();
    }

    @Test
    void tasksRunOneAtATimeInTheOrderPostedOnTheOwnerThread() throws InterruptedException {
        List<String> ran = new CopyOnWriteArrayList<>();
        for (int i = 0; i < 100; i++) {
            int n = i;
            assertThat(owner.post(() -> ran.add(Thread.currentThread().getName() + " " + n))).isTrue();
        }
        owner.sync(() -> { });
        assertThat(ran).hasSize(100);
        for (int i = 0; i < 100; i++) {
            assertThat(ran.get(i)).isEqualTo("kv-index-owner-test " + i);
        }
    }

    @Test
    void aTaskThatThrowsIsLoggedAndTheNextOneRuns() throws InterruptedException {
        List<Integer> ran = new CopyOnWriteArrayList<>();
        owner.post(() -> {
            throw new IllegalStateException("a broken batch");
        });
        owner.post(() -> ran.add(2));
        owner.sync(() -> { });
        assertThat(ran).containsExactly(2);
    }

    @Test
    void aFullQueueMakesPostersWaitAndRequestThreadsGiveUp() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch running = new CountDownLatch(1);
        owner.post(() -> {
            running.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertThat(running.await(10, TimeUnit.SECONDS)).isTrue();
        int[] ran = {0};
        int accepted = 0;
        while (owner.offer(() -> ran[0]++)) {
            accepted++;
        }
        assertThat(accepted).as("the queue's bound").isEqualTo(IndexOwner.QUEUE);

        CompletableFuture<Boolean> waiting = new CompletableFuture<>();
        Thread poster = new Thread(() -> waiting.complete(owner.post(() -> ran[0]++)), "poster");
        poster.start();
        // Until the poster blocks in the queue, or returns (which would be the failure).
        while (poster.isAlive() && poster.getState() != Thread.State.TIMED_WAITING) {
            Thread.onSpinWait();
        }
        assertThat(waiting).as("a subscriber waits while the queue is full").isNotDone();
        release.countDown();
        assertThat(waiting.get(10, TimeUnit.SECONDS)).isTrue();
        owner.sync(() -> { });
        assertThat(ran[0]).isEqualTo(IndexOwner.QUEUE + 1);
    }

    @Test
    void awaitChecksAfterEachTaskAndGivesUpAtItsTimeout() throws InterruptedException {
        int[] applied = {0};
        assertThat(owner.await(() -> applied[0] >= 3, Duration.ZERO)).isFalse();
        for (int i = 0; i < 3; i++) {
            owner.post(() -> applied[0]++);
        }
        assertThat(owner.await(() -> applied[0] >= 3, WAIT)).isTrue();
        assertThat(owner.await(() -> true, Duration.ZERO)).as("a condition that holds needs no task").isTrue();
    }

    @Test
    void aStoppedOwnerTakesNoMoreTasks() throws InterruptedException {
        List<Integer> ran = new CopyOnWriteArrayList<>();
        owner.stop();
        assertThat(owner.post(() -> ran.add(1))).isFalse();
        assertThat(ran).isEmpty();
    }
}
