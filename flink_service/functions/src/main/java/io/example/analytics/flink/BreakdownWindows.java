package io.example.analytics.flink;

import java.util.List;
import java.util.Map;

import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.FunctionHint;
import org.apache.flink.table.functions.AggregateFunction;
import org.apache.flink.types.Row;

/**
 * One window of one event type broken down by the values of one property, capped.
 *
 * <pre>
 * breakdown_windows(property_value, user_id, event_value, max_values)
 *   -> ARRAY&lt;ROW&lt;property_value, event_count, total_value, unique_users, p50, p95, p99&gt;&gt;
 * </pre>
 *
 * The {@code max_values} most frequent values of the window keep their own series (ties broken by value);
 * every other value is folded into one {@value #OTHER} entry, whose figures are exact over the events it
 * holds (unique users included). Memory is bounded: past 4 x max_values distinct values in a slice, a new
 * value goes to {@value #OTHER} as it arrives. Percentiles as in {@link ValuePercentiles}.
 */
@FunctionHint(
        accumulator = @DataTypeHint(value = "RAW", bridgedTo = BreakdownAccumulator.class,
                rawSerializer = BreakdownAccumulator.Serializer.class),
        output = @DataTypeHint("ARRAY<ROW<property_value STRING, event_count BIGINT, total_value DOUBLE, "
                + "unique_users BIGINT, p50 DOUBLE, p95 DOUBLE, p99 DOUBLE>>"))
public final class BreakdownWindows extends AggregateFunction<Row[], BreakdownAccumulator> {

    public static final String OTHER = "(other)";
    static final int TRACKED_PER_KEPT = 4;
    private static final long serialVersionUID = 1L;
    private transient int maxValues = Integer.MAX_VALUE;

    @Override
    public BreakdownAccumulator createAccumulator() {
        return new BreakdownAccumulator();
    }

    public void accumulate(BreakdownAccumulator accumulator, String propertyValue, String userId, Double eventValue,
                           Integer maxValues, Boolean wholeType, Boolean percentiles) {
        this.maxValues = maxValues;
        accumulator.add(propertyValue, userId, eventValue, maxValues * TRACKED_PER_KEPT, wholeType, percentiles);
    }

    public void merge(BreakdownAccumulator accumulator, Iterable<BreakdownAccumulator> others) {
        for (BreakdownAccumulator other : others) {
            accumulator.merge(other);
        }
    }

    @Override
    public Row[] getValue(BreakdownAccumulator accumulator) {
        int keep = accumulator.maxTracked == Integer.MAX_VALUE ? maxValues
                : accumulator.maxTracked / TRACKED_PER_KEPT;
        List<Map.Entry<String, ValueStats>> ranked = accumulator.ranked(keep, OTHER);
        Row[] rows = new Row[ranked.size() + (accumulator.wholeType ? 1 : 0)];
        for (int i = 0; i < ranked.size(); i++) {
            rows[i] = row(ranked.get(i).getKey(), ranked.get(i).getValue());
        }
        if (accumulator.wholeType) {
            rows[ranked.size()] = row(null, accumulator.whole());
        }
        return rows;
    }

    private static Row row(String propertyValue, ValueStats stats) {
        return Row.of(propertyValue, stats.count, stats.total, (long) stats.users.size(),
                stats.quantile(0.50), stats.quantile(0.95), stats.quantile(0.99));
    }
}
