package io.example.analytics.flink;

import java.io.IOException;
import java.util.HashSet;

import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.FunctionHint;
import org.apache.flink.table.functions.AggregateFunction;

/**
 * The exact number of distinct users of a window: {@code unique_count(user_id) -> BIGINT}.
 *
 * What {@code COUNT(DISTINCT user_id)} computes, as an aggregate of its own: Flink's batch planner rewrites a
 * distinct aggregate beside others into two levels and carries the others' results with MIN, which cannot take
 * the ROW of {@link ValuePercentiles}; and its users set merges like every other accumulator of the window.
 */
@FunctionHint(
        accumulator = @DataTypeHint(value = "RAW", bridgedTo = UniqueCount.Users.class,
                rawSerializer = UniqueCount.Serializer.class),
        output = @DataTypeHint("BIGINT"))
public final class UniqueCount extends AggregateFunction<Long, UniqueCount.Users> {

    private static final long serialVersionUID = 1L;

    /** The distinct user ids seen. */
    public static final class Users extends HashSet<String> {
        private static final long serialVersionUID = 1L;
    }

    @Override
    public Users createAccumulator() {
        return new Users();
    }

    public void accumulate(Users users, String userId) {
        if (userId != null) {
            users.add(userId);
        }
    }

    public void merge(Users users, Iterable<Users> others) {
        for (Users other : others) {
            users.addAll(other);
        }
    }

    public void resetAccumulator(Users users) {
        users.clear();
    }

    @Override
    public Long getValue(Users users) {
        return (long) users.size();
    }

    /** Checkpoints and ships the set as a count and the ids. */
    public static final class Serializer extends TypeSerializerSingleton<Users> {
        private static final long serialVersionUID = 1L;

        @Override
        public boolean isImmutableType() {
            return false;
        }

        @Override
        public Users createInstance() {
            return new Users();
        }

        @Override
        public Users copy(Users from) {
            Users copy = new Users();
            copy.addAll(from);
            return copy;
        }

        @Override
        public Users copy(Users from, Users reuse) {
            return copy(from);
        }

        @Override
        public int getLength() {
            return -1;
        }

        @Override
        public void serialize(Users users, DataOutputView out) throws IOException {
            out.writeInt(users.size());
            for (String user : users) {
                out.writeUTF(user);
            }
        }

        @Override
        public Users deserialize(DataInputView in) throws IOException {
            Users users = new Users();
            for (int remaining = in.readInt(); remaining > 0; remaining--) {
                users.add(in.readUTF());
            }
            return users;
        }

        @Override
        public Users deserialize(Users reuse, DataInputView in) throws IOException {
            return deserialize(in);
        }

        @Override
        public void copy(DataInputView in, DataOutputView out) throws IOException {
            serialize(deserialize(in), out);
        }

        @Override
        public TypeSerializerSnapshot<Users> snapshotConfiguration() {
            return new Snapshot();
        }

        /** No configuration: any version reads any other's bytes. */
        public static final class Snapshot extends SimpleTypeSerializerSnapshot<Users> {
            public Snapshot() {
                super(Serializer::new);
            }
        }
    }
}
