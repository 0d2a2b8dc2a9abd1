package io.example.analytics.flink;

import org.apache.datasketches.kll.KllDoublesSketch;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.FunctionHint;
import org.apache.flink.table.functions.AggregateFunction;
import org.apache.flink.types.Row;

/**
 * p50, p95 and p99 of the values of a window, from a KLL sketch (Apache DataSketches).
 *
 * <pre>value_percentiles(event_value) -> ROW&lt;p50 DOUBLE, p95 DOUBLE, p99 DOUBLE&gt;</pre>
 *
 * Each percentile is a value of the window whose rank is within {@link #RANK_ERROR} of the asked rank
 * (normalised rank error of KLL with k = {@value #K}, at 99% confidence; exact while a window holds at most
 * about k values). The sketch is mergeable, so the window operator can aggregate slices and subtasks
 * separately and merge them; it takes a few kilobytes however many values a window has.
 */
@FunctionHint(
        accumulator = @DataTypeHint(value = "RAW", bridgedTo = KllDoublesSketch.class,
                rawSerializer = KllSketchSerializer.class),
        output = @DataTypeHint("ROW<p50 DOUBLE, p95 DOUBLE, p99 DOUBLE>"))
public final class ValuePercentiles extends AggregateFunction<Row, KllDoublesSketch> {

    public static final int K = 200;
    /** The normalised error of one rank at 99% confidence for this k: about 1.33%. */
    public static final double RANK_ERROR = KllDoublesSketch.getNormalizedRankError(K, false);
    private static final long serialVersionUID = 1L;

    @Override
    public KllDoublesSketch createAccumulator() {
        return KllDoublesSketch.newHeapInstance(K);
    }

    public void accumulate(KllDoublesSketch sketch, Double value) {
        if (value != null) {
            sketch.update(value);
        }
    }

    public void merge(KllDoublesSketch sketch, Iterable<KllDoublesSketch> others) {
        for (KllDoublesSketch other : others) {
            sketch.merge(other);
        }
    }

    public void resetAccumulator(KllDoublesSketch sketch) {
        sketch.reset();
    }

    @Override
    public Row getValue(KllDoublesSketch sketch) {
        if (sketch.isEmpty()) {
            return Row.of(null, null, null);
        }
        return Row.of(sketch.getQuantile(0.50), sketch.getQuantile(0.95), sketch.getQuantile(0.99));
    }
}
