package io.vllmrouter.core;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import java.io.IOException;
import java.time.Instant;

/**
 * The router's shared Jackson {@link ObjectMapper}: snake_case property names, {@link Instant} as
 * an ISO-8601 string, NaN and infinities as {@code null}. With it a {@link io.vllmrouter.api.RouterStats}
 * serialises to the seed's {@code /load-stats} shape:
 *
 * <pre>{@code
 * String json = RouterJson.mapper().writeValueAsString(router.stats());
 * // {"servers":[{"url":"http://gpu-1:8000","current_load":2,...}],"summary":{...},...}
 * }</pre>
 *
 * <p>The mapper is configured once and thread-safe; do not reconfigure it (copy it instead).
 */
public final class RouterJson {

    private static final ObjectMapper MAPPER = create();

    private RouterJson() {
    }

    /** The shared, configured mapper. */
    public static ObjectMapper mapper() {
        return MAPPER;
    }

    /** The mapper's factory, for streaming parsers on the request path. */
    static JsonFactory factory() {
        return MAPPER.getFactory();
    }

    private static ObjectMapper create() {
        SimpleModule module = new SimpleModule("vllm-router");
        module.addSerializer(Instant.class, new InstantSerializer());
        FiniteDoubleSerializer doubles = new FiniteDoubleSerializer();
        module.addSerializer(Double.class, doubles);
        module.addSerializer(Double.TYPE, doubles);
        ObjectMapper m = new ObjectMapper();
        m.setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);
        m.disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);
        m.registerModule(module);
        m.addMixIn(io.vllmrouter.api.BackendStats.class, BackendStatsWords.class);
        return m;
    }

    /** Each backend's state and its reason in the router's words ({@code "state":"ejected"}), beside the record's figures. */
    private abstract static class BackendStatsWords {
        @com.fasterxml.jackson.annotation.JsonProperty("state")
        abstract String stateLabel();

        @com.fasterxml.jackson.annotation.JsonProperty("state_reason")
        abstract String stateReason();
    }

    /** ISO-8601 without the jsr310 module, which we do not want as a dependency. */
    private static final class InstantSerializer extends StdSerializer<Instant> {
        private static final long serialVersionUID = 1L;

        InstantSerializer() {
            super(Instant.class);
        }

        @Override
        public void serialize(Instant value, JsonGenerator gen, SerializerProvider provider) throws IOException {
            gen.writeString(value.toString());
        }
    }

    /** JSON has no NaN: unknown figures become {@code null}. */
    private static final class FiniteDoubleSerializer extends StdSerializer<Double> {
        private static final long serialVersionUID = 1L;

        FiniteDoubleSerializer() {
            super(Double.class);
        }

        @Override
        public void serialize(Double value, JsonGenerator gen, SerializerProvider provider) throws IOException {
            if (value == null || value.isNaN() || value.isInfinite()) {
                gen.writeNull();
            } else {
                gen.writeNumber(value);
            }
        }
    }
}
