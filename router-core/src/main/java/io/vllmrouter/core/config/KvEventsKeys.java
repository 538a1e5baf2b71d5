package io.vllmrouter.core.config;

import java.util.List;
import org.tomlj.TomlPosition;
import org.tomlj.TomlTable;

/** Reads a server entry's {@code kv_events}, {@code kv_events_replay} and {@code kv_events_ranks}. */
final class KvEventsKeys {

    private KvEventsKeys() {
    }

    /** The entry's event stream, or null when it has no {@code kv_events}; errors name the key and its line. */
    static KvEventsConfig read(TomlTable t, String prefix, String source) {
        Object endpoint = t.get(List.of("kv_events"));
        Object replay = t.get(List.of("kv_events_replay"));
        Object ranks = t.get(List.of("kv_events_ranks"));
        if (endpoint == null) {
            String orphan = replay != null ? "kv_events_replay" : ranks != null ? "kv_events_ranks" : null;
            if (orphan != null) {
                throw new ConfigException(source, line(t, orphan), prefix + "." + orphan, ConfigKeys.show(t.get(List.of(orphan))),
                        "no " + orphan + " without kv_events = \"tcp://host:port\" in the same server entry");
            }
            return null;
        }
        if (!(endpoint instanceof String)) {
            throw bad(t, prefix, "kv_events", source, KvEventsConfig.ENDPOINT_EXPECTED + ", in quotes");
        }
        if (replay != null && !(replay instanceof String)) {
            throw bad(t, prefix, "kv_events_replay", source, KvEventsConfig.ENDPOINT_EXPECTED + ", in quotes");
        }
        int n = 1;
        if (ranks != null) {
            Integer i = ConfigKeys.toInt(ranks);
            if (i == null) {
                throw bad(t, prefix, "kv_events_ranks", source, "integer 1.." + KvEventsConfig.MAX_RANKS);
            }
            n = i;
        }
        try {
            return new KvEventsConfig((String) endpoint, (String) replay, n);
        } catch (IllegalArgumentException e) {
            java.util.regex.Matcher m = ConfigKeys.BUILDER_MESSAGE.matcher(String.valueOf(e.getMessage()));
            String key = m.matches() ? m.group(1) : "kv_events";
            return throwBad(t, prefix, key, source, ConfigKeys.expectedOf(e));
        }
    }

    private static KvEventsConfig throwBad(TomlTable t, String prefix, String key, String source, String expected) {
        throw bad(t, prefix, key, source, expected);
    }

    private static ConfigException bad(TomlTable t, String prefix, String key, String source, String expected) {
        return new ConfigException(source, line(t, key), prefix + "." + key, ConfigKeys.show(t.get(List.of(key))), expected);
    }

    private static int line(TomlTable t, String key) {
        TomlPosition p = t.inputPositionOf(List.of(key));
        return p == null ? -1 : p.line();
    }
}
