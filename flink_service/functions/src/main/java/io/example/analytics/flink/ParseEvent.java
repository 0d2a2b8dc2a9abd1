package io.example.analytics.flink;

import java.io.IOException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonFactory;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonParser;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonToken;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.data.GenericArrayData;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.functions.ScalarFunction;

/**
 * Reads one record of the events topic, once, and judges it: the metrics job's only per-record parse.
 *
 * <pre>
 * parse_event(payload, event_type_pattern, max_id_length, min_timestamp_ms, max_future_ms, max_abs_value,
 *             breakdown_properties)
 *   -> ROW&lt;event_type, user_id, event_value, ts_ms, problem, breakdowns&gt;
 * </pre>
 *
 * The limits come from the SQL (flink_service/sql.py passes the constants of contracts/events.py), so the
 * rules have one home. {@code problem} is NULL for a valid event, else the first reason it is skipped, in
 * this order: {@code bad_json} (not a JSON object), {@code heartbeat} (a watermark heartbeat: no event type,
 * {@code "heartbeat": true}), {@code bad_event_type}, {@code bad_user_id}, {@code bad_value},
 * {@code bad_timestamp}. {@code ts_ms} is the record's timestamp when it is sane (an integer between
 * min_timestamp_ms and now + max_future_ms), else 0, whatever the other fields: a record with a sane
 * timestamp moves event time even when it is not counted, as a heartbeat does. {@code event_type} is set
 * whenever it is valid, also on a skipped record; the other fields only on a valid event.
 *
 * <p>{@code breakdowns} lists, for each of the comma-separated {@code breakdown_properties}, the event's value
 * of that key of its {@code properties} object: a string, cut to max_id_length characters; {@value #NONE} when
 * the key is missing, not a string, or empty.
 *
 * <p>The planner inlines the function wherever a field of its row is used (the watermark, each column,
 * the validity test), so the last payload's row is kept and returned again for the same payload object:
 * one parse per record.
 */
public final class ParseEvent extends ScalarFunction {

    public static final String BAD_JSON = "bad_json";
    public static final String HEARTBEAT = "heartbeat";
    public static final String BAD_EVENT_TYPE = "bad_event_type";
    public static final String BAD_USER_ID = "bad_user_id";
    public static final String BAD_VALUE = "bad_value";
    public static final String BAD_TIMESTAMP = "bad_timestamp";
    /** The breakdown value of an event without a usable value for the property. */
    public static final String NONE = "(none)";

    private static final long serialVersionUID = 1L;
    private static final JsonFactory JSON = new JsonFactory();
    // A numeric string is accepted as a value, as the event model does; NaN and Infinity are not numbers here.
    private static final Pattern NUMBER = Pattern.compile("-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?");
    private static final Pattern INTEGER = Pattern.compile("-?[0-9]{1,18}");

    private transient Pattern eventTypePattern;
    private transient String eventTypePatternSource;
    private transient String breakdownSource;
    private transient List<String> breakdownProperties;
    private transient StringData lastPayload;
    private transient RowData lastRow;

    @DataTypeHint(
            value = "ROW<event_type STRING, user_id STRING, event_value DOUBLE, ts_ms BIGINT, problem STRING, "
                    + "breakdowns ARRAY<ROW<property STRING, property_value STRING>>>",
            bridgedTo = RowData.class)
    public RowData eval(
            @DataTypeHint(value = "STRING", bridgedTo = StringData.class) StringData payload,
            String eventTypePatternText,
            Integer maxIdLength,
            Long minTimestampMs,
            Long maxFutureMs,
            Double maxAbsValue,
            String breakdownPropertiesText) {
        if (payload != null && payload == lastPayload) {
            return lastRow;
        }
        Limits limits = new Limits(pattern(eventTypePatternText), maxIdLength, minTimestampMs,
                System.currentTimeMillis() + maxFutureMs, maxAbsValue, breakdownProperties(breakdownPropertiesText));
        RowData row = payload == null ? row(null, BAD_JSON, 0)
                : judge(Fields.read(payload.toBytes(), limits.breakdownProperties()), limits);
        lastPayload = payload;
        lastRow = row;
        return row;
    }

    @Override
    public boolean isDeterministic() {
        // The sanity bound on timestamps moves with the clock.
        return false;
    }

    private Pattern pattern(String source) {
        if (!source.equals(eventTypePatternSource)) {
            eventTypePattern = Pattern.compile(source);
            eventTypePatternSource = source;
        }
        return eventTypePattern;
    }

    private List<String> breakdownProperties(String source) {
        if (!source.equals(breakdownSource)) {
            breakdownProperties = Arrays.stream(source.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
            breakdownSource = source;
        }
        return breakdownProperties;
    }

    /** The limits one record is judged against, and the properties it is broken down by. */
    record Limits(Pattern eventType, int maxIdLength, long minTimestampMs, long maxTimestampMs, double maxAbsValue,
                  List<String> breakdownProperties) {
        Limits(Pattern eventType, int maxIdLength, long minTimestampMs, long maxTimestampMs, double maxAbsValue) {
            this(eventType, maxIdLength, minTimestampMs, maxTimestampMs, maxAbsValue, List.of());
        }
    }

    static RowData judge(Fields fields, Limits limits) {
        if (fields == null) {
            return row(null, BAD_JSON, 0);
        }
        long tsMs = fields.timestampMs != null
                && fields.timestampMs >= limits.minTimestampMs()
                && fields.timestampMs <= limits.maxTimestampMs() ? fields.timestampMs : 0;
        // The event type is kept whenever it is valid, so that skipped records can be counted per type.
        String eventType = fields.eventType != null && limits.eventType().matcher(fields.eventType).matches()
                ? fields.eventType : null;
        if (eventType == null) {
            return row(null, fields.eventType == null && fields.heartbeat ? HEARTBEAT : BAD_EVENT_TYPE, tsMs);
        }
        if (fields.userId == null || fields.userId.isEmpty()
                || fields.userId.codePointCount(0, fields.userId.length()) > limits.maxIdLength()) {
            return row(eventType, BAD_USER_ID, tsMs);
        }
        if (fields.value == null || !Double.isFinite(fields.value) || Math.abs(fields.value) > limits.maxAbsValue()) {
            return row(eventType, BAD_VALUE, tsMs);
        }
        if (tsMs == 0) {
            return row(eventType, BAD_TIMESTAMP, 0);
        }
        return GenericRowData.of(StringData.fromString(eventType), StringData.fromString(fields.userId),
                fields.value, tsMs, null, breakdowns(fields, limits));
    }

    private static RowData row(String eventType, String problem, long tsMs) {
        return GenericRowData.of(StringData.fromString(eventType), null, null, tsMs, StringData.fromString(problem),
                null);
    }

    private static GenericArrayData breakdowns(Fields fields, Limits limits) {
        List<String> properties = limits.breakdownProperties();
        Object[] pairs = new Object[properties.size()];
        for (int i = 0; i < pairs.length; i++) {
            String value = fields.properties.get(properties.get(i));
            if (value == null || value.isEmpty()) {
                value = NONE;
            } else if (value.codePointCount(0, value.length()) > limits.maxIdLength()) {
                value = value.substring(0, value.offsetByCodePoints(0, limits.maxIdLength()));
            }
            pairs[i] = GenericRowData.of(StringData.fromString(properties.get(i)), StringData.fromString(value));
        }
        return new GenericArrayData(pairs);
    }

    /** The top-level fields the job reads; null members are missing or of the wrong JSON type. */
    static final class Fields {
        String eventType;
        String userId;
        Double value;
        Long timestampMs;
        boolean heartbeat;
        /** The string values of the wanted keys of `properties`. */
        final Map<String, String> properties = new HashMap<>();

        static Fields read(byte[] json) {
            return read(json, List.of());
        }

        /** The fields of a JSON object, or null when the bytes are not exactly one JSON object. */
        static Fields read(byte[] json, List<String> wantedProperties) {
            Fields fields = new Fields();
            try (JsonParser parser = JSON.createParser(json)) {
                if (parser.nextToken() != JsonToken.START_OBJECT) {
                    return null;
                }
                while (parser.nextToken() == JsonToken.FIELD_NAME) {
                    String name = parser.currentName();
                    JsonToken token = parser.nextToken();
                    switch (name) {
                        case "event_type" -> fields.eventType = token == JsonToken.VALUE_STRING ? parser.getText() : null;
                        case "user_id" -> fields.userId = token == JsonToken.VALUE_STRING ? parser.getText() : null;
                        case "value" -> fields.value = number(parser, token);
                        case "timestamp" -> fields.timestampMs = integer(parser, token);
                        case "heartbeat" -> fields.heartbeat = token == JsonToken.VALUE_TRUE;
                        case "properties" -> {
                            if (token == JsonToken.START_OBJECT && !wantedProperties.isEmpty()) {
                                fields.readProperties(parser, wantedProperties);
                                continue;
                            }
                        }
                        default -> { }
                    }
                    if (token.isStructStart()) {
                        parser.skipChildren();
                    }
                }
                // Exactly one object: trailing content (a second document, garbage) makes the record invalid.
                return parser.currentToken() == JsonToken.END_OBJECT && parser.nextToken() == null ? fields : null;
            } catch (IOException | RuntimeException notJson) {
                return null;
            }
        }

        /** Reads the properties object up to its end, keeping the string values of the wanted keys. */
        private void readProperties(JsonParser parser, List<String> wanted) throws IOException {
            properties.clear();  // a repeated "properties" key: the last one counts, as for every field
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                JsonToken token = parser.nextToken();
                if (token == JsonToken.VALUE_STRING && wanted.contains(name)) {
                    properties.put(name, parser.getText());
                } else {
                    properties.remove(name);
                    if (token.isStructStart()) {
                        parser.skipChildren();
                    }
                }
            }
        }

        private static Double number(JsonParser parser, JsonToken token) throws IOException {
            if (token == JsonToken.VALUE_NUMBER_INT || token == JsonToken.VALUE_NUMBER_FLOAT) {
                return parser.getDoubleValue();
            }
            if (token == JsonToken.VALUE_STRING && NUMBER.matcher(parser.getText()).matches()) {
                return Double.parseDouble(parser.getText());
            }
            return null;
        }

        private static Long integer(JsonParser parser, JsonToken token) throws IOException {
            if (token == JsonToken.VALUE_NUMBER_INT && parser.getNumberType() != JsonParser.NumberType.BIG_INTEGER) {
                return parser.getLongValue();
            }
            if (token == JsonToken.VALUE_STRING && INTEGER.matcher(parser.getText()).matches()) {
                return Long.parseLong(parser.getText());
            }
            return null;
        }
    }
}
