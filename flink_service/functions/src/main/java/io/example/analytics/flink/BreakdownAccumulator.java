package io.example.analytics.flink;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.core.memory.DataOutputView;

/**
 * The values of one property seen in one window of one event type, each with its {@link ValueStats}.
 *
 * At most {@code maxTracked} values are kept apart; a further new value joins {@link #other} as it arrives,
 * so memory stays bounded however many values a property takes. Which values stay apart is decided when the
 * window fires ({@link #ranked}): the most frequent ones. Every event of the window is in exactly one of
 * them, so their merge ({@link #whole}) is the window of the whole event type.
 *
 * The settings arrive with each event (an accumulator is created without arguments) and survive merges: a
 * new, empty accumulator holds none yet, so merging takes the smallest cap and either side's flags.
 */
public final class BreakdownAccumulator {
    /** What the binary form starts with since it holds the flags (before, it started with maxTracked, > 0). */
    private static final int FORMAT_WITH_FLAGS = -1;

    final Map<String, ValueStats> values = new HashMap<>();
    ValueStats other = new ValueStats();
    int maxTracked = Integer.MAX_VALUE;
    /** Whether the window of the whole event type is emitted from this property's values too. */
    boolean wholeType;
    /** Whether values are sketched for percentiles. */
    boolean percentiles;

    void add(String value, String userId, double eventValue, int maxTracked, boolean wholeType,
             boolean percentiles) {
        this.maxTracked = maxTracked;
        this.wholeType = wholeType;
        this.percentiles = percentiles;
        stats(value).add(userId, eventValue, percentiles);
    }

    void merge(BreakdownAccumulator that) {
        maxTracked = Math.min(maxTracked, that.maxTracked);
        wholeType |= that.wholeType;
        percentiles |= that.percentiles;
        that.values.forEach((value, stats) -> stats(value).merge(stats));
        other.merge(that.other);
    }

    /** Every event of the window in one series: what all values, kept apart or not, add up to. */
    ValueStats whole() {
        ValueStats whole = new ValueStats();
        values.values().forEach(whole::merge);
        whole.merge(other);
        return whole;
    }

    private ValueStats stats(String value) {
        ValueStats stats = values.get(value);
        if (stats == null) {
            if (values.size() >= maxTracked) {
                return other;
            }
            stats = new ValueStats();
            values.put(value, stats);
        }
        return stats;
    }

    /** The `keep` most frequent values (ties: by value), then the rest merged into one `otherName` entry. */
    List<Map.Entry<String, ValueStats>> ranked(int keep, String otherName) {
        List<Map.Entry<String, ValueStats>> entries = new ArrayList<>(values.entrySet());
        entries.sort(Comparator.<Map.Entry<String, ValueStats>>comparingLong(e -> -e.getValue().count)
                .thenComparing(Map.Entry::getKey));
        List<Map.Entry<String, ValueStats>> result = new ArrayList<>(entries.subList(0, Math.min(keep, entries.size())));
        ValueStats rest = new ValueStats();
        rest.merge(other);
        for (Map.Entry<String, ValueStats> entry : entries.subList(result.size(), entries.size())) {
            rest.merge(entry.getValue());
        }
        if (rest.count > 0) {
            result.add(Map.entry(otherName, rest));
        }
        return result;
    }

    /** Checkpoints and ships the accumulator in a compact binary form. */
    public static final class Serializer extends TypeSerializerSingleton<BreakdownAccumulator> {
        private static final long serialVersionUID = 1L;

        @Override
        public boolean isImmutableType() {
            return false;
        }

        @Override
        public BreakdownAccumulator createInstance() {
            return new BreakdownAccumulator();
        }

        @Override
        public BreakdownAccumulator copy(BreakdownAccumulator from) {
            try {
                DataOutputSerializer out = new DataOutputSerializer(256);
                serialize(from, out);
                return deserialize(new DataInputDeserializer(out.getSharedBuffer(), 0, out.length()));
            } catch (IOException impossible) {
                throw new IllegalStateException(impossible);
            }
        }

        @Override
        public BreakdownAccumulator copy(BreakdownAccumulator from, BreakdownAccumulator reuse) {
            return copy(from);
        }

        @Override
        public int getLength() {
            return -1;
        }

        @Override
        public void serialize(BreakdownAccumulator accumulator, DataOutputView out) throws IOException {
            out.writeInt(FORMAT_WITH_FLAGS);
            out.writeBoolean(accumulator.wholeType);
            out.writeBoolean(accumulator.percentiles);
            out.writeInt(accumulator.maxTracked);
            out.writeInt(accumulator.values.size());
            for (Map.Entry<String, ValueStats> entry : accumulator.values.entrySet()) {
                out.writeUTF(entry.getKey());
                entry.getValue().write(out);
            }
            accumulator.other.write(out);
        }

        @Override
        public BreakdownAccumulator deserialize(DataInputView in) throws IOException {
            BreakdownAccumulator accumulator = new BreakdownAccumulator();
            int first = in.readInt();
            if (first == FORMAT_WITH_FLAGS) {
                accumulator.wholeType = in.readBoolean();
                accumulator.percentiles = in.readBoolean();
                accumulator.maxTracked = in.readInt();
            } else {  // the form before the flags: percentiles always on, no whole-type window
                accumulator.percentiles = true;
                accumulator.maxTracked = first;
            }
            for (int remaining = in.readInt(); remaining > 0; remaining--) {
                String value = in.readUTF();
                accumulator.values.put(value, ValueStats.read(in));
            }
            accumulator.other = ValueStats.read(in);
            return accumulator;
        }

        @Override
        public BreakdownAccumulator deserialize(BreakdownAccumulator reuse, DataInputView in) throws IOException {
            return deserialize(in);
        }

        @Override
        public void copy(DataInputView in, DataOutputView out) throws IOException {
            serialize(deserialize(in), out);
        }

        @Override
        public TypeSerializerSnapshot<BreakdownAccumulator> snapshotConfiguration() {
            return new Snapshot();
        }

        /** No configuration: this version also reads the form before the flags. */
        public static final class Snapshot extends SimpleTypeSerializerSnapshot<BreakdownAccumulator> {
            public Snapshot() {
                super(Serializer::new);
            }
        }
    }
}
