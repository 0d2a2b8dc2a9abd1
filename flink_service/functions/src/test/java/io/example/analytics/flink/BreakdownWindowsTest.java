package io.example.analytics.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

    /** One event, percentiles on, no whole-type window. */
    private void add(BreakdownAccumulator accumulator, String value, String userId, double eventValue, int maxValues) {
        breakdown.accumulate(accumulator, value, userId, eventValue, maxValues, false, true);
    }

    @Test
    void theMostFrequentValuesKeepTheirSeriesAndTheRestIsFoldedExactly() throws Exception {
        BreakdownAccumulator slice1 = breakdown.createAccumulator();
        BreakdownAccumulator slice2 = breakdown.createAccumulator();
        // DE 3 events (users a, b), FR 2 (a), US 2 (c), NL 1 (a): keep 2 -> DE, then FR before US (tie: by value).
        add(slice1, "DE", "a", 1.0, 2);
        add(slice1, "DE", "b", 1.0, 2);
        add(slice1, "FR", "a", 2.0, 2);
        add(slice2, "DE", "a", 1.0, 2);
        add(slice2, "FR", "a", 2.0, 2);
        add(slice2, "US", "c", 4.0, 2);
        add(slice2, "US", "c", 4.0, 2);
        add(slice2, "NL", "a", 8.0, 2);
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
            add(accumulator, "v" + i, "u" + i, 1.0, 3);
        }
        assertEquals(3 * BreakdownWindows.TRACKED_PER_KEPT, accumulator.values.size());
        Row[] rows = breakdown.getValue(accumulator);
        assertEquals(4, rows.length);
        assertEquals(BreakdownWindows.OTHER, rows[3].getField(0));
        assertEquals(997L, rows[3].getField(1));
        assertEquals(997L, rows[3].getField(3));
    }

    @Test
    void theWholeTypeWindowIsEveryValueMergedAndSurvivesSerialisation() throws Exception {
        BreakdownAccumulator slice1 = breakdown.createAccumulator();
        BreakdownAccumulator slice2 = breakdown.createAccumulator();
        // 1,000 values with a cap of 2 kept apart (8 tracked): most events reach (other) on arrival.
        for (int i = 0; i < 1000; i++) {
            breakdown.accumulate(i % 2 == 0 ? slice1 : slice2, "v" + (i % 100), "u" + (i % 300), (double) i, 2,
                    true, true);
        }
        BreakdownAccumulator.Serializer serializer = new BreakdownAccumulator.Serializer();
        DataOutputSerializer out = new DataOutputSerializer(64);
        serializer.serialize(slice2, out);
        BreakdownAccumulator window = breakdown.createAccumulator();  // as the window operator does: empty, then merged
        breakdown.merge(window, List.of(slice1, serializer.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()))));
        Row[] rows = breakdown.getValue(window);
        Row whole = rows[rows.length - 1];
        assertNull(whole.getField(0));
        assertEquals(1000L, whole.getField(1));
        assertEquals(999.0 * 1000 / 2, whole.getField(2));
        assertEquals(300L, whole.getField(3));
        double p50 = (Double) whole.getField(4);
        assertTrue(Math.abs(p50 / 1000 - 0.5) <= ValuePercentiles.RANK_ERROR, "p50 " + p50);
        assertEquals(4, rows.length);  // two values kept apart, (other), the whole type
        assertEquals(BreakdownWindows.OTHER, rows[2].getField(0));
        long parts = 0;
        for (int i = 0; i < 3; i++) {
            parts += (Long) rows[i].getField(1);
        }
        assertEquals(1000L, parts);
    }

    @Test
    void withoutPercentilesNoSketchIsKeptAndTheyAreNull() throws Exception {
        BreakdownAccumulator accumulator = breakdown.createAccumulator();
        breakdown.accumulate(accumulator, "DE", "a", 1.0, 2, true, false);
        breakdown.accumulate(accumulator, "FR", "b", 2.0, 2, true, false);
        BreakdownAccumulator.Serializer serializer = new BreakdownAccumulator.Serializer();
        DataOutputSerializer out = new DataOutputSerializer(64);
        serializer.serialize(accumulator, out);
        BreakdownAccumulator copy = serializer.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
        assertNull(copy.values.get("DE").sketch);
        for (Row row : breakdown.getValue(copy)) {
            assertNull(row.getField(4));
            assertNull(row.getField(6));
        }
        assertEquals(List.of("DE count=1 total=1.0 users=1", "FR count=1 total=2.0 users=1",
                "null count=2 total=3.0 users=2"), summary(breakdown.getValue(copy)));
    }
}
