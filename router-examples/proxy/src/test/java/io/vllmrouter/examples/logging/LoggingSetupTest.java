package io.vllmrouter.examples.logging;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** LOG_LEVEL=DEBUG is the router's debug output, not the JDK's X509 and HTTP dumps. */
class LoggingSetupTest {

    @Test
    void otherLoggersStayAtInfoUnlessTheRouterIsStricterOrTheyAreAskedFor() {
        assertThat(LoggingSetup.libraryLevel("DEBUG", null)).isEqualTo("INFO");
        assertThat(LoggingSetup.libraryLevel("trace", "")).isEqualTo("INFO");
        assertThat(LoggingSetup.libraryLevel("INFO", null)).isEqualTo("INFO");
        assertThat(LoggingSetup.libraryLevel("WARNING", null)).isEqualTo("WARN");
        assertThat(LoggingSetup.libraryLevel("ERROR", null)).isEqualTo("ERROR");
        assertThat(LoggingSetup.libraryLevel("DEBUG", "debug")).isEqualTo("DEBUG");
    }
}
