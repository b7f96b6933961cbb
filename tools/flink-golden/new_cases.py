#!/usr/bin/env python3
"""Write new golden case files (sql/tests/flink/cases/<name>.yaml) from a compact spec, with
the sink's column types asked from Flink 2.3.0 itself (so a case never fails on a guessed
result type). Run with the venv's Python, then run generate.py for the new cases:

    PY=$(e2e/rig/flink.sh)
    "$PY" tools/flink-golden/new_cases.py spec.yaml          # writes the case files it describes
    "$PY" tools/flink-golden/generate.py fn_sign_            # runs them in Flink

A spec is a YAML list; each item:

    - name: fn_sign_int                      # case name
      description: SIGN of INT boundaries
      columns: "i INT, s STRING"              # the source's columns (Flink types)
      select: ["SIGN(i)", "SIGN(CAST(i AS BIGINT))"]   # one sink column per expression
      where: "i IS NOT NULL"                  # optional
      rows: ['{"i": 1}', '{"i": null}']       # input lines (JSON, written verbatim)

Sink columns are named c0, c1, ...; an expression Flink cannot plan is reported and its case
is skipped. Existing case files are overwritten.
"""

import os
import sys
import tempfile
from pathlib import Path

os.environ["TZ"] = "UTC"
_jto = "-Duser.timezone=UTC -Duser.language=en -Duser.country=US"
if _jto not in os.environ.get("JAVA_TOOL_OPTIONS", ""):
    os.environ["JAVA_TOOL_OPTIONS"] = (os.environ.get("JAVA_TOOL_OPTIONS", "") + " " + _jto).strip()

import yaml  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CASES_DIR = REPO / "sql" / "tests" / "flink" / "cases"


def parse_columns(text):
    cols = []
    depth, cur = 0, ""
    for ch in text + ",":
        if ch in "<(":
            depth += 1
        elif ch in ">)":
            depth -= 1
        if ch == "," and depth == 0:
            name, ty = cur.strip().split(None, 1)
            cols.append({"name": name, "type": ty.strip()})
            cur = ""
        else:
            cur += ch
    return cols


class Flow(list):
    """A list written in YAML flow style (one column per line stays short)."""


def flow_representer(dumper, data):
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=False)


class Literal(str):
    pass


def literal_representer(dumper, data):
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")


def column_text(c):
    ty = c["type"]
    if "," in ty or ":" in ty:
        ty = '"' + ty + '"'
    return "{name: %s, type: %s}" % (c["name"], ty)


def write_case(path, spec, sink_cols):
    src_cols = parse_columns(spec["columns"])
    sql = "INSERT INTO sink SELECT " + ", ".join(spec["select"]) + " FROM src"
    if spec.get("where"):
        sql += " WHERE " + spec["where"]
    lines = [
        "description: " + yaml.safe_dump(spec["description"], width=10_000, allow_unicode=True).strip().removesuffix("...").strip(),
        "source:",
        "  columns:",
        *["    - " + column_text(c) for c in src_cols],
        "  options: {}",
        "sink:",
        "  columns:",
        *["    - " + column_text(c) for c in sink_cols],
        "  options: {}",
        "sql: " + yaml.safe_dump(sql, width=10_000, allow_unicode=True, default_style='"').strip(),
        "input: |",
        *["  " + r for r in spec["rows"]],
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # The file must read back as the spec says.
    back = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert back["sql"] == sql, (back["sql"], sql)
    assert back["input"] == "".join(r + "\n" for r in spec["rows"]), path


def main(argv):
    from pyflink.table import EnvironmentSettings, TableEnvironment

    specs = []
    for p in argv:
        specs.extend(yaml.safe_load(Path(p).read_text(encoding="utf-8")))
    env = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
    env.get_config().set("table.local-time-zone", "UTC")
    tmp = Path(tempfile.mkdtemp(prefix="flink-new-cases-"))
    failed = 0
    for i, spec in enumerate(specs):
        src_cols = parse_columns(spec["columns"])
        cols = ", ".join(f"`{c['name']}` {c['type']}" for c in src_cols)
        table = f"src_{i}"
        env.execute_sql(
            f"CREATE TABLE {table} ({cols}) WITH ('connector'='filesystem', "
            f"'path'='{tmp.as_uri()}', 'format'='json')"
        )
        sink_cols = []
        try:
            for j, e in enumerate(spec["select"]):
                t = env.sql_query(f"SELECT {e} FROM {table}")
                col = t._j_table.getResolvedSchema().getColumns().get(0)
                ty = col.getDataType().getLogicalType().copy(True).asSummaryString()
                sink_cols.append({"name": f"c{j}", "type": ty})
        except Exception as ex:  # noqa: BLE001
            failed += 1
            msg = str(ex).strip().splitlines()
            print(f"SKIP {spec['name']}: {e}: {msg[-1] if msg else ex}", flush=True)
            je = getattr(ex, "java_exception", None)
            while je is not None and je.getCause() is not None:
                je = je.getCause()
            if je is not None:
                print(f"     {je.getMessage()}", flush=True)
            continue
        write_case(CASES_DIR / f"{spec['name']}.yaml", spec, sink_cols)
        print(f"wrote {spec['name']}: " + ", ".join(c["type"] for c in sink_cols), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
