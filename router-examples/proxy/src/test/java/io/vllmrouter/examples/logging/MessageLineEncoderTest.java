package io.vllmrouter.examples.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class MessageLineEncoderTest {

    @Test
    void writesTheMessageAndANewlineInUtf8AndNothingElse() {
        LoggerContext context = new LoggerContext();
        MessageLineEncoder encoder = new MessageLineEncoder();
        encoder.setContext(context);
        encoder.start();
        String json = "{\"model\":\"caf\u00e9\",\"status\":200}";
        LoggingEvent event = new LoggingEvent("test", context.getLogger("vllmrouter.structured"), Level.INFO, json, null, null);

        assertThat(new String(encoder.encode(event), StandardCharsets.UTF_8)).isEqualTo(json + "\n");
        assertThat(encoder.encode(event)).hasSize(json.getBytes(StandardCharsets.UTF_8).length + 1);
        assertThat(encoder.headerBytes()).isNull();
        assertThat(encoder.footerBytes()).isNull();
    }
}
