package io.example.analytics.flink;

import java.io.IOException;
import java.util.HashSet;
import java.util.Set;

import org.apache.datasketches.kll.KllDoublesSketch;
import org.apache.datasketches.memory.Memory;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * The aggregate of one series in one window slice: count, sum of value, the distinct users, and a KLL sketch
 * of the values when percentiles are on (null while no value was sketched, so none is kept when they are off).
 */
final class ValueStats {
    long count;
    double total;
    final Set<String> users = new HashSet<>();
    KllDoublesSketch sketch;

    void add(String userId, double value, boolean percentiles) {
        count++;
        total += value;
        users.add(userId);
        if (percentiles) {
            sketch().update(value);
        }
    }

    void merge(ValueStats other) {
        count += other.count;
        total += other.total;
        users.addAll(other.users);
        if (other.sketch != null) {
            sketch().merge(other.sketch);
        }
    }

    private KllDoublesSketch sketch() {
        if (sketch == null) {
            sketch = KllDoublesSketch.newHeapInstance(ValuePercentiles.K);
        }
        return sketch;
    }

    /** The percentile of the values, or null when they were not sketched. */
    Double quantile(double rank) {
        return sketch == null || sketch.isEmpty() ? null : sketch.getQuantile(rank);
    }

    void write(DataOutputView out) throws IOException {
        out.writeLong(count);
        out.writeDouble(total);
        out.writeInt(users.size());
        for (String user : users) {
            out.writeUTF(user);
        }
        byte[] sketchBytes = sketch == null ? new byte[0] : sketch.toByteArray();
        out.writeInt(sketchBytes.length);
        out.write(sketchBytes);
    }

    static ValueStats read(DataInputView in) throws IOException {
        ValueStats stats = new ValueStats();
        stats.count = in.readLong();
        stats.total = in.readDouble();
        for (int remaining = in.readInt(); remaining > 0; remaining--) {
            stats.users.add(in.readUTF());
        }
        byte[] sketchBytes = new byte[in.readInt()];
        in.readFully(sketchBytes);
        if (sketchBytes.length > 0) {
            stats.sketch = KllDoublesSketch.heapify(Memory.wrap(sketchBytes));
        }
        return stats;
    }
}
