# Flink 2.3.0 output that the print connector (executor/src/connector/print.rs) and the
# datagen connector (connector/datagen.rs) are checked against:
#   PY=$(e2e/rig/flink.sh); $PY tools/flink-golden/print_and_datagen.py
# prints rows of many types through `print` (identifier, parallelism 2 with and without one)
# and a datagen sequence/random table.
from pyflink.table import EnvironmentSettings, TableEnvironment
t = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
t.get_config().set("parallelism.default", "1")
t.execute_sql("""CREATE TABLE src (a INT, b STRING, c DOUBLE, d BOOLEAN, e DECIMAL(10,2), f TIMESTAMP(3), g DATE, h ARRAY<INT>, i MAP<STRING,INT>, j BIGINT, k FLOAT, l TIME(0), m TIMESTAMP_LTZ(3), n ROW<x INT, y STRING>, o BYTES)
 WITH ('connector'='datagen','number-of-rows'='0')""")
t.execute_sql("CREATE TABLE p1 (a INT, b STRING, c DOUBLE, d BOOLEAN, e DECIMAL(10,2), f TIMESTAMP(3), g DATE, h ARRAY<INT>, i MAP<STRING,INT>, j BIGINT, k FLOAT, l TIME(0), m TIMESTAMP_LTZ(3), n ROW<x INT, y STRING>, o BYTES) WITH ('connector'='print','print-identifier'='ID')")
t.execute_sql("CREATE TABLE p2 (a INT, b STRING) WITH ('connector'='print', 'sink.parallelism'='2')")
t.execute_sql("CREATE TABLE p3 (a INT, b STRING) WITH ('connector'='print', 'print-identifier'='X', 'sink.parallelism'='2')")
t.execute_sql("CREATE TABLE g (id BIGINT, s STRING, v INT) WITH ('connector'='datagen','number-of-rows'='5','fields.id.kind'='sequence','fields.id.start'='10','fields.id.end'='100','fields.s.length'='4','fields.v.min'='1','fields.v.max'='3')")
t.execute_sql("CREATE TABLE p4 (id BIGINT, s STRING, v INT) WITH ('connector'='print','print-identifier'='G')")
st = t.create_statement_set()
st.add_insert_sql("""INSERT INTO p1 VALUES (1, 'x y', 1.5, true, 12.30, TIMESTAMP '2024-01-02 03:04:00', DATE '2024-01-02', ARRAY[1,2], MAP['k',1], 10000000000, CAST(0.1 AS FLOAT), TIME '12:00:00', TO_TIMESTAMP_LTZ(0, 3), ROW(1,'r'), X'0102'),
 (CAST(NULL AS INT), CAST(NULL AS STRING), 1e20, false, -0.50, TIMESTAMP '2024-01-02 03:04:05.120', DATE '0001-01-01', ARRAY[CAST(NULL AS INT)], MAP['a',CAST(NULL AS INT)], -1, CAST(1e-5 AS FLOAT), TIME '00:00:01', TO_TIMESTAMP_LTZ(1500, 3), ROW(CAST(NULL AS INT), CAST(NULL AS STRING)), X''),
 (3, '', 100.0, CAST(NULL AS BOOLEAN), 0.00, TIMESTAMP '2024-01-02 00:00:00', DATE '2024-12-31', CAST(NULL AS ARRAY<INT>), CAST(NULL AS MAP<STRING,INT>), 0, CAST(3.0 AS FLOAT), CAST(NULL AS TIME(0)), CAST(NULL AS TIMESTAMP_LTZ(3)), CAST(NULL AS ROW<x INT, y STRING>), CAST(NULL AS BYTES))""")
st.add_insert_sql("INSERT INTO p2 VALUES (1, 'a'), (2, 'b')")
st.add_insert_sql("INSERT INTO p3 VALUES (1, 'a'), (2, 'b')")
st.add_insert_sql("INSERT INTO p4 SELECT * FROM g")
st.execute().wait()
