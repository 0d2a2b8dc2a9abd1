package io.example.analytics.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;

import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.types.Row;
import org.junit.jupiter.api.Test;

class BreakdownWindowsTest {
    private final BreakdownWindows breakdown = new BreakdownWindows();

    private static List<String> summary(Row[] rows) {
        List<String> lines = new ArrayList<>();
        for (Row row : rows) {
            lines.add(row.getField(0) + " count=" + row.getField(1) + " total=" + row.getField(2)
                    + " users=" + row.getField(3));
        }
        return lines;
    }

    @Test
    void theMostFrequentValuesKeepTheirSeriesAndTheRestIsFoldedExactly() throws Exception {
        BreakdownAccumulator slice1 = breakdown.createAccumulator();
        BreakdownAccumulator slice2 = breakdown.createAccumulator();
        // DE 3 events (users a, b), FR 2 (a), US 2 (c), NL 1 (a): keep 2 -> DE, then FR before US (tie: by value).
        breakdown.accumulate(slice1, "DE", "a", 1.0, 2);
        breakdown.accumulate(slice1, "DE", "b", 1.0, 2);
        breakdown.accumulate(slice1, "FR", "a", 2.0, 2);
        breakdown.accumulate(slice2, "DE", "a", 1.0, 2);
        breakdown.accumulate(slice2, "FR", "a", 2.0, 2);
        breakdown.accumulate(slice2, "US", "c", 4.0, 2);
        breakdown.accumulate(slice2, "US", "c", 4.0, 2);
        breakdown.accumulate(slice2, "NL", "a", 8.0, 2);
        BreakdownAccumulator.Serializer serializer = new BreakdownAccumulator.Serializer();
        DataOutputSerializer out = new DataOutputSerializer(64);
        serializer.serialize(slice2, out);
        BreakdownAccumulator window = breakdown.createAccumulator();
        breakdown.merge(window, List.of(slice1, serializer.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()))));
        assertEquals(List.of("DE count=3 total=3.0 users=2", "FR count=2 total=4.0 users=1",
                "(other) count=3 total=16.0 users=2"), summary(breakdown.getValue(window)));
    }

    @Test
    void memoryIsBoundedWhateverTheNumberOfValues() {
        BreakdownAccumulator accumulator = breakdown.createAccumulator();
        for (int i = 0; i < 1000; i++) {
            breakdown.accumulate(accumulator, "v" + i, "u" + i, 1.0, 3);
        }
        assertEquals(3 * BreakdownWindows.TRACKED_PER_KEPT, accumulator.values.size());
        Row[] rows = breakdown.getValue(accumulator);
        assertEquals(4, rows.length);
        assertEquals(BreakdownWindows.OTHER, rows[3].getField(0));
        assertEquals(997L, rows[3].getField(1));
        assertEquals(997L, rows[3].getField(3));
    }
}
