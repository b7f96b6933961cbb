// Prints Flink's built-in SQL functions and operators, one per line: `NAME<TAB>kind<TAB>source`.
// Run by list-functions.sh against the jars of apache-flink==2.3.0 (see README.md).
//
// Two lists make what a Flink SQL statement can call:
//  * FlinkSqlOperatorTable.instance(false): the planner's Calcite operator table (operators,
//    the SQL-standard and Flink's legacy functions);
//  * CoreModule: BuiltInFunctionDefinitions that have a runtime implementation (the SQL planner
//    resolves only those; Table-API-only definitions such as `lowerCase` are not callable).
// kind is `scalar`, `operator` (written with symbols or keywords), or what the statement
// cannot use in a row-by-row job: `aggregate`, `window`, `table`, `match_recognize`,
// `internal`.
import java.util.*;
import org.apache.calcite.sql.*;
import org.apache.flink.table.functions.*;
import org.apache.flink.table.module.CoreModule;
import org.apache.flink.table.planner.functions.sql.FlinkSqlOperatorTable;

public class ListFunctions {
    public static void main(String[] args) {
        TreeMap<String, String[]> rows = new TreeMap<>();
        for (SqlOperator op : FlinkSqlOperatorTable.instance(false).getOperatorList()) {
            String name = op.getName();
            String kind = classify(op);
            put(rows, name, kind, "FlinkSqlOperatorTable");
        }
        for (String n : CoreModule.INSTANCE.listFunctions(false)) {
            FunctionDefinition d = CoreModule.INSTANCE.getFunctionDefinition(n).orElse(null);
            if (!(d instanceof BuiltInFunctionDefinition)) continue;
            BuiltInFunctionDefinition b = (BuiltInFunctionDefinition) d;
            if (!b.hasRuntimeImplementation()) continue;
            String kind;
            switch (b.getKind()) {
                case SCALAR: kind = "scalar"; break;
                case AGGREGATE: case TABLE_AGGREGATE: kind = "aggregate"; break;
                case TABLE: case PROCESS_TABLE: kind = "table"; break;
                default: kind = "internal";
            }
            String name = b.getSqlName() != null ? b.getSqlName() : b.getName();
            // Symbols (`+`, `=`) are operators; the DECIMAL sum helpers are the planner's own.
            if (kind.equals("scalar") && !name.matches("[A-Za-z_][A-Za-z0-9_]*")) kind = "operator";
            if (b.isInternal() || name.contains("AGG_DECIMAL")) kind = "internal";
            put(rows, name, kind, "BuiltInFunctionDefinitions");
        }
        for (Map.Entry<String, String[]> e : rows.entrySet()) {
            System.out.println(e.getKey() + "\t" + e.getValue()[0] + "\t" + e.getValue()[1]);
        }
    }

    static void put(TreeMap<String, String[]> rows, String name, String kind, String source) {
        String[] old = rows.get(name);
        if (old == null) {
            rows.put(name, new String[] {kind, source});
        } else if (!old[1].contains(source)) {
            // Same name in both lists: the more usable kind wins (scalar over internal, ...).
            String k = rank(kind) < rank(old[0]) ? kind : old[0];
            rows.put(name, new String[] {k, old[1] + "," + source});
        } else if (rank(kind) < rank(old[0])) {
            rows.put(name, new String[] {kind, old[1]});
        }
    }

    static int rank(String kind) {
        return Arrays.asList("scalar", "operator", "aggregate", "window", "table", "match_recognize", "internal").indexOf(kind);
    }

    static String classify(SqlOperator op) {
        String name = op.getName();
        if (name.startsWith("$") || op.getSyntax() == SqlSyntax.INTERNAL
                || op.getKind() == SqlKind.REINTERPRET || op.getKind() == SqlKind.AS
                || op instanceof SqlSetOperator || op.getKind() == SqlKind.DESCENDING
                || op.getKind() == SqlKind.NULLS_FIRST || op.getKind() == SqlKind.NULLS_LAST
                || op.getKind() == SqlKind.IGNORE_NULLS || op.getKind() == SqlKind.RESPECT_NULLS
                || op.getKind() == SqlKind.EXISTS || op.getKind() == SqlKind.DESCRIPTOR
                || name.equals("AUXILIARY_GROUP") || name.equals("STREAMRECORD_TIMESTAMP")
                || name.equals("PROCTIME_MATERIALIZE") || name.equals("/INT")) {
            return "internal";
        }
        if (op instanceof SqlAggFunction || op.getKind() == SqlKind.GROUP_ID
                || op.getKind() == SqlKind.GROUPING) {
            return "aggregate";
        }
        if (op instanceof SqlGroupedWindowFunction) return "window";
        if (op instanceof SqlWindowTableFunction || op.getClass().getSimpleName().endsWith("TableFunction")) {
            return "table";
        }
        if (op instanceof SqlFunction
                && ((SqlFunction) op).getFunctionType() == SqlFunctionCategory.MATCH_RECOGNIZE) {
            return "match_recognize";
        }
        switch (op.getKind()) {
            case FIRST: case LAST: case PREV: case NEXT: case CLASSIFIER: case FINAL: case RUNNING:
            case SKIP_TO_FIRST: case SKIP_TO_LAST:
                return "match_recognize";
            default:
        }
        if (op.getSyntax() == SqlSyntax.FUNCTION || op.getSyntax() == SqlSyntax.FUNCTION_ID
                || op.getSyntax() == SqlSyntax.FUNCTION_STAR) {
            return "scalar";
        }
        return "operator";
    }
}
