package io.vllmrouter.api;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HeaderMapTest {

    @Test
    void aNameRepeatedWithTheSameSpellingKeepsAllItsValuesInOrder() {
        HeaderMap h = HeaderMap.builder().add("Accept", "a").add("X-One", "1").add("Accept", "b").add("accept", "c").build();

        assertThat(h).hasSize(3);
        assertThat(h.keySet()).containsExactly("Accept", "X-One", "accept");
        assertThat(h.get("Accept")).containsExactly("a", "b");
        assertThat(h.get("accept")).containsExactly("c");
        assertThat(h.get("ACCEPT")).isNull();
        assertThat(h.first("ACCEPT")).isEqualTo("a");
        assertThat(h.first("x-one")).isEqualTo("1");
        assertThat(h.first("x-on")).isNull();
        assertThat(h.contains("x-ONE")).isTrue();
        assertThat(h.containsKey("x-one")).isFalse();
    }

    @Test
    void equalsAnyMapWithTheSameEntries() {
        Map<String, List<String>> same = new LinkedHashMap<>();
        same.put("A", List.of("1", "2"));
        same.put("b", List.of("3"));
        HeaderMap h = HeaderMap.builder().add("A", "1").add("b", "3").add("A", "2").build();

        assertThat(h).isEqualTo(same);
        assertThat(same).isEqualTo(h);
        assertThat(h.hashCode()).isEqualTo(same.hashCode());
        assertThat(HeaderMap.copyOf(same)).isEqualTo(h);
        assertThat(HeaderMap.copyOf(h)).isSameAs(h);
    }

    @Test
    void cannotBeChangedThroughTheMapOrItsLists() {
        HeaderMap h = HeaderMap.builder().add("A", "1").build();

        assertThatThrownBy(() -> h.put("B", List.of("2"))).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> h.remove("A")).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> h.get("A").add("x")).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> h.entrySet().iterator().next().setValue(List.of())).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> h.entrySet().clear()).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> h.nameAt(1)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void aBuilderChangedAfterBuildingLeavesTheBuiltMapAlone() {
        HeaderMap.Builder b = HeaderMap.builder(1).add("A", "1");
        HeaderMap first = b.build();
        b.add("A", "2").add("B", "3").remove("a");
        HeaderMap second = b.build();

        assertThat(first).containsExactly(Map.entry("A", List.of("1")));
        assertThat(second).containsExactly(Map.entry("B", List.of("3")));
        assertThat(first.toBuilder().add("A", "5").add("C", "4").build())
                .containsExactly(Map.entry("A", List.of("1", "5")), Map.entry("C", List.of("4")));
        assertThat(first).hasSize(1);
    }

    @Test
    void setReplacesEverySpellingOfTheNameAndGoesLast() {
        HeaderMap h = HeaderMap.builder().add("x-request-id", "a").add("Host", "h").add("X-Request-ID", "b")
                .set("X-Request-Id", "mine").build();

        assertThat(h.keySet()).containsExactly("Host", "X-Request-Id");
        assertThat(h.first("x-request-id")).isEqualTo("mine");
        assertThat(HeaderMap.builder().remove("absent").build()).isEmpty();
    }

    @Test
    void manyNamesAreStillMergedByExactSpelling() {
        HeaderMap.Builder b = HeaderMap.builder();
        for (int round = 0; round < 2; round++) {
            for (int i = 0; i < 50; i++) {
                b.add("X-H" + i, "v" + round);
            }
        }
        b.remove("x-h7").add("X-H8", "v2");
        HeaderMap h = b.build();

        assertThat(h).hasSize(49);
        assertThat(h.get("X-H0")).containsExactly("v0", "v1");
        assertThat(h.get("X-H8")).containsExactly("v0", "v1", "v2");
        assertThat(h.get("X-H49")).containsExactly("v0", "v1");
        assertThat(h.containsKey("X-H7")).isFalse();
        assertThat(h.nameAt(7)).isEqualTo("X-H8");
    }

    @Test
    void namesOfTheSameLengthOrSixtyFourApartAreToldApart() {
        HeaderMap h = HeaderMap.builder().add("Date", "d").add("Host", "h").add("x".repeat(68), "long")
                .add("Date", "d2").add("Host", "h2").add("x".repeat(68), "long2").build();

        assertThat(h.keySet()).containsExactly("Date", "Host", "x".repeat(68));
        assertThat(h.get("Host")).containsExactly("h", "h2");
        assertThat(h.get("x".repeat(68))).containsExactly("long", "long2");
    }

    @Test
    void nullsAreRefusedByName() {
        assertThatThrownBy(() -> HeaderMap.builder().add(null, "v")).hasMessage("name");
        assertThatThrownBy(() -> HeaderMap.builder().add("n", (String) null)).hasMessage("value");
    }
}
