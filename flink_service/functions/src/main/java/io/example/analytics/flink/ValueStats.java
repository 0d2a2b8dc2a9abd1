package io.example.analytics.flink;

import java.io.IOException;
import java.util.HashSet;
import java.util.Set;

import org.apache.datasketches.kll.KllDoublesSketch;
import org.apache.datasketches.memory.Memory;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/** The aggregate of one series in one window slice: count, sum of value, the distinct users, a KLL sketch. */
final class ValueStats {
    long count;
    double total;
    final Set<String> users = new HashSet<>();
    final KllDoublesSketch sketch = KllDoublesSketch.newHeapInstance(ValuePercentiles.K);

    void add(String userId, double value) {
        count++;
        total += value;
        users.add(userId);
        sketch.update(value);
    }

    void merge(ValueStats other) {
        count += other.count;
        total += other.total;
        users.addAll(other.users);
        sketch.merge(other.sketch);
    }

    void write(DataOutputView out) throws IOException {
        out.writeLong(count);
        out.writeDouble(total);
        out.writeInt(users.size());
        for (String user : users) {
            out.writeUTF(user);
        }
        byte[] sketchBytes = sketch.toByteArray();
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
        stats.sketch.merge(KllDoublesSketch.heapify(Memory.wrap(sketchBytes)));
        return stats;
    }
}
