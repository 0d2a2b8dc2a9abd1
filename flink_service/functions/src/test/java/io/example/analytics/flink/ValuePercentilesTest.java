package io.example.analytics.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

import org.apache.datasketches.kll.KllDoublesSketch;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.types.Row;
import org.junit.jupiter.api.Test;

class ValuePercentilesTest {
    private final ValuePercentiles percentiles = new ValuePercentiles();

    @Test
    void smallWindowsAreExact() {
        KllDoublesSketch sketch = percentiles.createAccumulator();
        for (int i = 1; i <= 100; i++) {
            percentiles.accumulate(sketch, (double) i);
        }
        Row row = percentiles.getValue(sketch);
        assertEquals(50.0, row.getField(0));
        assertEquals(95.0, row.getField(1));
        assertEquals(99.0, row.getField(2));
    }

    @Test
    void mergedSlicesStayWithinTheRankError() throws Exception {
        Random random = new Random(7);
        double[] all = new double[300_000];
        KllDoublesSketch merged = percentiles.createAccumulator();
        KllSketchSerializer serializer = new KllSketchSerializer();
        for (int slice = 0; slice < 3; slice++) {
            KllDoublesSketch part = percentiles.createAccumulator();
            for (int i = 0; i < 100_000; i++) {
                double value = Math.exp(random.nextGaussian());
                all[slice * 100_000 + i] = value;
                percentiles.accumulate(part, value);
            }
            DataOutputSerializer out = new DataOutputSerializer(64);
            serializer.serialize(part, out);
            percentiles.merge(merged, List.of(serializer.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()))));
        }
        Arrays.sort(all);
        Row row = percentiles.getValue(merged);
        double[] ranks = {0.50, 0.95, 0.99};
        for (int i = 0; i < ranks.length; i++) {
            double value = (Double) row.getField(i);
            double rank = (double) upperBound(all, value) / all.length;
            assertTrue(Math.abs(rank - ranks[i]) <= ValuePercentiles.RANK_ERROR,
                    "p" + (int) (ranks[i] * 100) + " has rank " + rank);
        }
        assertTrue(ValuePercentiles.RANK_ERROR < 0.0135, "the documented bound is 1.33%");
    }

    private static int upperBound(double[] sorted, double value) {
        int index = Arrays.binarySearch(sorted, value);
        return index >= 0 ? index + 1 : -index - 1;
    }
}
