package io.vllmrouter.core.discovery;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.logging.Level;
import java.util.logging.Logger;

/** Silences the discovery package's log lines, which these tests provoke on purpose. */
final class QuietDiscoveryLogs implements BeforeAllCallback, AfterAllCallback {

    private static final Logger LOGGER = Logger.getLogger("io.vllmrouter.core.discovery");
    private Level before;

    @Override
    public void beforeAll(ExtensionContext context) {
        before = LOGGER.getLevel();
        LOGGER.setLevel(Level.OFF);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        LOGGER.setLevel(before);
    }
}
