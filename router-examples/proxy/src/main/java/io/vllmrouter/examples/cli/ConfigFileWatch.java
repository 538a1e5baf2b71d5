package io.vllmrouter.examples.cli;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;

/**
 * {@code --reload}: watches the configuration file's directory with a {@link WatchService} and runs
 * a callback as soon as the file is written, created or replaced (editors often write a new file
 * and rename it). The callback runs on the watch thread and should only trigger the reload check.
 */
final class ConfigFileWatch implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ConfigFileWatch.class);

    private final WatchService service;
    private final Thread thread;

    private ConfigFileWatch(WatchService service, Thread thread) {
        this.service = service;
        this.thread = thread;
    }

    static ConfigFileWatch start(Path file, Runnable onChange) throws IOException {
        Path absolute = file.toAbsolutePath();
        Path dir = absolute.getParent();
        Path name = absolute.getFileName();
        WatchService service = FileSystems.getDefault().newWatchService();
        dir.register(service, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY);
        Thread t = new Thread(() -> {
            try {
                while (true) {
                    WatchKey key = service.take();
                    boolean ours = false;
                    for (WatchEvent<?> e : key.pollEvents()) {
                        if (e.kind() == StandardWatchEventKinds.OVERFLOW || name.equals(e.context())) {
                            ours = true;
                        }
                    }
                    key.reset();
                    if (ours) {
                        LOG.debug("{} changed; checking it now", absolute);
                        try {
                            onChange.run();
                        } catch (RuntimeException ex) {
                            LOG.error("reload check failed", ex);
                        }
                    }
                }
            } catch (InterruptedException | ClosedWatchServiceException e) {
                // closed
            }
        }, "vllm-router-config-watch");
        t.setDaemon(true);
        t.start();
        return new ConfigFileWatch(service, t);
    }

    @Override
    public void close() {
        try {
            service.close();
        } catch (IOException ignored) {
            // closing
        }
        thread.interrupt();
    }
}
