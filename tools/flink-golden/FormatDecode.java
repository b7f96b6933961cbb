// Decodes Kafka-style records with Apache Flink's own `csv` or `raw` format (the
// DeserializationSchema a Kafka source uses: CsvFormatFactory -> CsvRowDataDeserializationSchema,
// RawFormatFactory -> RawFormatDeserializationSchema), for the golden corpus. Run by
// tools/flink-golden/generate.py with the jars of the PyFlink venv:
//
//   java -cp "$lib/*" tools/flink-golden/FormatDecode.java < cases.json > results.json
//
// Input (stdin, JSON): [{"name", "format": "csv" | "raw", "columns": [{"name", "type"}],
// "options": {"<format>.*": ...}, "records": ["...", ...]}] (a record may be JSON null: a
// tombstone). Output (stdout, JSON): {"<name>": {"error": null |
// {"stage", "message"}, "rows": ["<row as Flink's json format writes it>", ...]}}.
//
// Stages are those of a Kafka job: option problems are "plan" errors (Flink's Kafka factory
// rejects unknown format options, FactoryUtil.validateFactoryOptions and
// CsvCommons.validateFormatOptions reject bad values); a record that fails to decode fails the
// job ("run", the innermost cause's message); a record decoded as null (ignore-parse-errors) is
// skipped, as the Kafka source skips it.

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.formats.common.TimestampFormat;
import org.apache.flink.formats.csv.CsvFormatFactory;
import org.apache.flink.formats.raw.RawFormatFactory;
import org.apache.flink.table.factories.DeserializationFormatFactory;
import org.apache.flink.formats.json.JsonFormatOptions;
import org.apache.flink.formats.json.JsonRowDataSerializationSchema;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ArrayNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.factories.FactoryUtil;
import org.apache.flink.table.runtime.typeutils.InternalTypeInfo;
import org.apache.flink.table.types.DataType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.table.types.logical.utils.LogicalTypeParser;
import org.apache.flink.table.types.utils.TypeConversions;

public class FormatDecode {
    public static void main(String[] args) throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        JsonNode cases = mapper.readTree(System.in);
        ObjectNode out = mapper.createObjectNode();
        for (JsonNode c : cases) {
            out.set(c.get("name").asText(), run(mapper, c));
        }
        System.out.println(mapper.writerWithDefaultPrettyPrinter().writeValueAsString(out));
    }

    static ObjectNode error(ObjectMapper mapper, String stage, Throwable t) {
        Throwable inner = t;
        String message = t.getMessage();
        for (Throwable x = t; x != null; x = x.getCause()) {
            if (x.getMessage() != null && !x.getMessage().isBlank()) {
                message = x.getMessage();
            }
            inner = x;
            if (x.getCause() == x) break;
        }
        if (message == null) message = inner.getClass().getName();
        ObjectNode r = mapper.createObjectNode();
        ObjectNode e = r.putObject("error");
        e.put("stage", stage);
        e.put("message", message.strip().lines().findFirst().orElse("").strip());
        r.putArray("rows");
        return r;
    }

    static ObjectNode run(ObjectMapper mapper, JsonNode c) {
        StringBuilder ddl = new StringBuilder("ROW<");
        Iterator<JsonNode> cols = c.get("columns").elements();
        while (cols.hasNext()) {
            JsonNode col = cols.next();
            ddl.append('`').append(col.get("name").asText().replace("`", "``")).append("` ")
                    .append(col.get("type").asText());
            if (cols.hasNext()) ddl.append(", ");
        }
        ddl.append('>');
        DeserializationSchema<RowData> schema;
        JsonRowDataSerializationSchema json;
        try {
            RowType rowType =
                    (RowType) LogicalTypeParser.parse(ddl.toString(), FormatDecode.class.getClassLoader());
            String format = c.get("format").asText();
            DeserializationFormatFactory factory =
                    format.equals("raw") ? new RawFormatFactory() : new CsvFormatFactory();
            Map<String, String> options = new LinkedHashMap<>();
            Set<String> known = new HashSet<>();
            for (ConfigOption<?> o : factory.optionalOptions()) known.add(o.key());
            List<String> unknown = new ArrayList<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = c.get("options").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String key = e.getKey().startsWith(format + ".")
                        ? e.getKey().substring(format.length() + 1) : e.getKey();
                if (!known.contains(key)) unknown.add(e.getKey());
                options.put(key, e.getValue().asText());
            }
            if (!unknown.isEmpty()) {
                // What the Kafka table factory says (FactoryUtil.validateUnconsumedKeys).
                throw new IllegalArgumentException(
                        "Unsupported options found for 'kafka'.\n\nUnsupported options:\n\n"
                                + String.join("\n", unknown));
            }
            Configuration conf = Configuration.fromMap(options);
            FactoryUtil.validateFactoryOptions(factory, conf);
            DataType dataType = TypeConversions.fromLogicalToDataType(rowType);
            DynamicTableSource.Context ctx = new DynamicTableSource.Context() {
                public <T> org.apache.flink.api.common.typeinfo.TypeInformation<T> createTypeInformation(DataType t) {
                    @SuppressWarnings("unchecked")
                    org.apache.flink.api.common.typeinfo.TypeInformation<T> ti =
                            (org.apache.flink.api.common.typeinfo.TypeInformation<T>) InternalTypeInfo.of(t.getLogicalType());
                    return ti;
                }
                public <T> org.apache.flink.api.common.typeinfo.TypeInformation<T> createTypeInformation(LogicalType t) {
                    @SuppressWarnings("unchecked")
                    org.apache.flink.api.common.typeinfo.TypeInformation<T> ti =
                            (org.apache.flink.api.common.typeinfo.TypeInformation<T>) InternalTypeInfo.of(t);
                    return ti;
                }
                public DynamicTableSource.DataStructureConverter createDataStructureConverter(DataType t) {
                    throw new UnsupportedOperationException();
                }
            };
            schema = factory.createDecodingFormat(null, conf).createRuntimeDecoder(ctx, dataType);
            schema.open(null);
            json = new JsonRowDataSerializationSchema(
                    rowType, TimestampFormat.SQL, JsonFormatOptions.MapNullKeyMode.FAIL, "null", false, false);
            json.open(null);
        } catch (Throwable t) {
            return error(mapper, "plan", t);
        }
        ObjectNode r = mapper.createObjectNode();
        r.putNull("error");
        ArrayNode rows = r.putArray("rows");
        for (JsonNode rec : c.get("records")) {
            try {
                byte[] bytes = rec.isNull() ? null : rec.asText().getBytes(StandardCharsets.UTF_8);
                RowData row = schema.deserialize(bytes);
                if (row != null) {
                    rows.add(new String(json.serialize(row), StandardCharsets.UTF_8));
                }
            } catch (Throwable t) {
                return error(mapper, "run", t);
            }
        }
        return r;
    }
}
