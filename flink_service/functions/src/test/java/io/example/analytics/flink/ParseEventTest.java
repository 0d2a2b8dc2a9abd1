package io.example.analytics.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.charset.StandardCharsets;

import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.junit.jupiter.api.Test;

class ParseEventTest {
    private static final String PATTERN = "^[a-z0-9][a-z0-9_.-]{0,63}$";
    private static final long TS = 1_719_392_400_000L;
    private final ParseEvent parse = new ParseEvent();

    private RowData row(String json) {
        return row(json, "");
    }

    private RowData row(String json, String breakdownProperties) {
        return parse.eval(StringData.fromBytes(json.getBytes(StandardCharsets.UTF_8)), PATTERN, 128,
                946_684_800_000L, 300_000L, 1e15, breakdownProperties);
    }

    private String problem(String json) {
        RowData row = row(json);
        return row.isNullAt(4) ? null : row.getString(4).toString();
    }

    @Test
    void aValidEventKeepsItsFields() {
        RowData row = row("{\"event_id\":\"e1\",\"event_type\":\"click\",\"user_id\":\"u-1\",\"value\":1.5,"
                + "\"timestamp\":" + TS + ",\"properties\":{\"page\":{\"deep\":[1,2]}}}");
        assertNull(problem("{\"event_type\":\"click\",\"user_id\":\"u\",\"value\":\"2.5\",\"timestamp\":\"" + TS + "\"}"));
        assertEquals("click", row.getString(0).toString());
        assertEquals("u-1", row.getString(1).toString());
        assertEquals(1.5, row.getDouble(2));
        assertEquals(TS, row.getLong(3));
        assertEquals(true, row.isNullAt(4));
    }

    @Test
    void eachProblemIsNamed() {
        String tail = ",\"timestamp\":" + TS + "}";
        assertEquals("bad_json", problem("not json at all"));
        assertEquals("bad_json", problem("[1, 2, 3]"));
        assertEquals("bad_json", problem("{\"event_type\":\"click\"} trailing"));
        assertEquals("bad_json", problem("{\"event_type\":\"click\",\"value\":NaN}"));
        assertEquals("heartbeat", problem("{\"heartbeat\":true" + tail));
        assertEquals("bad_event_type", problem("{\"event_type\":\"Bad Type!\",\"user_id\":\"u\",\"value\":1" + tail));
        assertEquals("bad_event_type", problem("{\"event_type\":7,\"user_id\":\"u\",\"value\":1" + tail));
        assertEquals("bad_user_id", problem("{\"event_type\":\"click\",\"value\":1" + tail));
        assertEquals("bad_user_id", problem("{\"event_type\":\"click\",\"user_id\":\"" + "x".repeat(129) + "\",\"value\":1" + tail));
        assertEquals("bad_value", problem("{\"event_type\":\"click\",\"user_id\":\"u\",\"value\":\"lots\"" + tail));
        assertEquals("bad_value", problem("{\"event_type\":\"click\",\"user_id\":\"u\",\"value\":1e300" + tail));
        assertEquals("bad_timestamp", problem("{\"event_type\":\"click\",\"user_id\":\"u\",\"value\":1,\"timestamp\":\"yesterday\"}"));
        assertEquals("bad_timestamp", problem("{\"event_type\":\"click\",\"user_id\":\"u\",\"value\":1,\"timestamp\":12}"));
        assertEquals("bad_timestamp", problem("{\"event_type\":\"click\",\"user_id\":\"u\",\"value\":1,\"timestamp\":1.7e12}"));
    }

    @Test
    void aSaneTimestampMovesEventTimeEvenWhenTheRecordIsNotCounted() {
        assertEquals(TS, row("{\"heartbeat\":true,\"timestamp\":" + TS + "}").getLong(3));
        assertEquals(TS, row("{\"event_type\":\"Bad!\",\"timestamp\":" + TS + "}").getLong(3));
        assertEquals(0, row("{\"event_type\":\"click\",\"timestamp\":4102444800000}").getLong(3));
        assertEquals(0, row("\u00ff binary").getLong(3));
    }

    @Test
    void breakdownValuesComeFromTheProperties() {
        String json = "{\"event_type\":\"click\",\"user_id\":\"u\",\"value\":1,\"timestamp\":" + TS
                + ",\"properties\":{\"country\":\"DE\",\"plan\":7,\"nested\":{\"country\":\"FR\"},\"page\":\""
                + "p".repeat(200) + "\"}}";
        RowData row = row(json, "country, plan,page,missing");
        assertEquals(4, row.getArray(5).size());
        String[] expected = {"country=DE", "plan=(none)", "page=" + "p".repeat(128), "missing=(none)"};
        for (int i = 0; i < expected.length; i++) {
            RowData pair = row.getArray(5).getRow(i, 2);
            assertEquals(expected[i], pair.getString(0) + "=" + pair.getString(1));
        }
        assertEquals(0, row(json).getArray(5).size());
        assertNull(problem("{\"event_type\":\"click\",\"user_id\":\"u\",\"value\":1,\"timestamp\":" + TS
                + ",\"properties\":{\"a\":[1,{\"b\":2}]}}"));
    }

    @Test
    void theSamePayloadObjectIsParsedOnce() {
        StringData payload = StringData.fromString("{\"event_type\":\"click\",\"user_id\":\"u\",\"value\":1,\"timestamp\":" + TS + "}");
        RowData first = parse.eval(payload, PATTERN, 128, 946_684_800_000L, 300_000L, 1e15, "");
        assertSame(first, parse.eval(payload, PATTERN, 128, 946_684_800_000L, 300_000L, 1e15, ""));
    }
}
