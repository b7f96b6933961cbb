#!/usr/bin/env python3
"""Generate golden outputs for sql/tests/flink/cases/*.yaml by running real Apache Flink.

Run with the Python of the venv made by e2e/rig/flink.sh:

    PY=$(e2e/rig/flink.sh)
    "$PY" tools/flink-golden/generate.py                 # all cases
    "$PY" tools/flink-golden/generate.py seed_pipeline   # only cases whose name contains one of the args
    "$PY" tools/flink-golden/generate.py --check         # compare with the existing .expected.json, write nothing

For every case `<name>.yaml` it writes `<name>.expected.json`:

    {"error": null | {"stage": "plan"|"run", "message": "..."},
     "files": {"<partition dir relative to the sink root, '' if none>": ["<line>", ...]},
     "flink": "2.3.0"}

How it works (see README.md):
  * one local mini-cluster, batch mode, parallelism 1, table.local-time-zone = UTC,
    JVM time zone UTC and locale en_US;
  * every case gets its own database (so each case's `src`/`sink` names are private), a
    `filesystem` source over the case's `input` written as a .jsonl file ('format'='json' plus
    the case's source options) and a `filesystem` sink ('format'='json' plus sink options);
  * phase 1 plans every case alone (StatementSet.explain) -> planning errors are recorded;
  * phase 2 runs all plannable cases in ONE StatementSet (one job). If that job fails, the
    set is split in halves and each half rerun, recursively, so a case that fails at run time
    is isolated and recorded as a "run" error without affecting the others.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

# The JVM (started by PyFlink on first use) must see UTC and an English locale: DATE_FORMAT
# and friends use the JVM default locale for names of months / days / AM-PM.
os.environ["TZ"] = "UTC"
_jto = "-Duser.timezone=UTC -Duser.language=en -Duser.country=US"
if _jto not in os.environ.get("JAVA_TOOL_OPTIONS", ""):
    os.environ["JAVA_TOOL_OPTIONS"] = (os.environ.get("JAVA_TOOL_OPTIONS", "") + " " + _jto).strip()

import yaml  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CASES_DIR = REPO / "sql" / "tests" / "flink" / "cases"
FLINK_VERSION = "2.3.0"


# --------------------------------------------------------------------------------------------
# Case files
# --------------------------------------------------------------------------------------------

class Case:
    def __init__(self, path: Path):
        self.path = path
        self.name = path.name[: -len(".yaml")]
        with open(path, encoding="utf-8") as f:
            d = yaml.safe_load(f)
        for key in ("description", "source", "sink", "sql"):
            if key not in d:
                raise ValueError(f"{path}: missing key '{key}'")
        if "input" not in d and "records" not in d:
            raise ValueError(f"{path}: missing key 'input' (or 'records')")
        unknown = set(d) - {"description", "source", "sink", "sql", "input", "records"}
        if unknown:
            raise ValueError(f"{path}: unknown keys {sorted(unknown)}")
        self.description = d["description"]
        self.source = d["source"]
        self.sink = d["sink"]
        self.sql = d["sql"].strip().rstrip(";")
        self.input = d.get("input") or ""
        # Kafka record values, one each (a value may hold a line break or be empty).
        self.records = d.get("records")
        # A decode case (csv, raw): the records go through Flink's Kafka deserializer
        # (FormatDecode.java).
        self.decode_format = str((self.source.get("options") or {}).get("format", "")).lower()
        self.csv_decode = self.decode_format in ("csv", "raw")
        if self.records is not None and not self.csv_decode:
            raise ValueError(f"{path}: 'records' is only for decode cases (csv, raw)")
        if self.csv_decode:
            if self.records is None:
                self.records = [line for line in self.input.split("\n") if line != ""]
            sink_opts = self.sink.get("options") or {}
            if (sink_opts.get("format", "json") != "json" or self.sink.get("partitionedBy")
                    or self.sink["columns"] != self.source["columns"]):
                raise ValueError(f"{path}: a decode case writes its rows unchanged to a json "
                                 "sink with the source's columns")
        self.db = "case_" + "".join(c if c.isalnum() else "_" for c in self.name)
        self.error = None  # {"stage": ..., "message": ...}
        self.files = {}

    @property
    def expected_path(self) -> Path:
        return self.path.with_name(self.name + ".expected.json")


def sql_str(s) -> str:
    return "'" + str(s).replace("'", "''") + "'"


def ident(s: str) -> str:
    return "`" + s.replace("`", "``") + "`"


def opt_value(v) -> str:
    # YAML may give booleans / numbers; Flink options are strings.
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def table_ddl(name, columns, options, partitioned_by=None) -> str:
    cols = ",\n  ".join(f"{ident(c['name'])} {c['type']}" for c in columns)
    ddl = f"CREATE TABLE {ident(name)} (\n  {cols}\n)"
    if partitioned_by:
        ddl += " PARTITIONED BY (" + ", ".join(ident(p) for p in partitioned_by) + ")"
    opts = ",\n  ".join(f"{sql_str(k)} = {sql_str(opt_value(v))}" for k, v in options.items())
    return ddl + f" WITH (\n  {opts}\n)"


# --------------------------------------------------------------------------------------------
# Flink helpers
# --------------------------------------------------------------------------------------------

def make_env():
    from pyflink.table import EnvironmentSettings, TableEnvironment

    env = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
    conf = env.get_config()
    conf.set("table.local-time-zone", "UTC")
    conf.set("parallelism.default", "1")
    conf.set("table.exec.resource.default-parallelism", "1")
    # Don't let the default restart strategy retry a failing job.
    conf.set("restart-strategy.type", "none")
    return env


def java_cause_chain(exc):
    """[(class name, message)] from outermost to innermost Java cause of a Py4J error."""
    je = getattr(exc, "java_exception", None)
    out = []
    seen = 0
    while je is not None and seen < 50:
        seen += 1
        cls = je.getClass().getName()
        msg = je.getMessage()
        if cls == "org.apache.flink.util.SerializedThrowable":
            # message is the original message; original class is available separately
            try:
                cls = je.getOriginalErrorClassName()
            except Exception:  # pragma: no cover
                pass
        out.append((cls, None if msg is None else str(msg)))
        nxt = je.getCause()
        if nxt is None or nxt.equals(je):
            break
        je = nxt
    if not out:
        out.append((type(exc).__name__, str(exc)))
    return out


def most_specific_message(exc, db=None) -> str:
    chain = java_cause_chain(exc)
    msg = chain[-1][0]
    # innermost cause that has a message
    for cls, m in reversed(chain):
        if m and m.strip():
            msg = m.strip().splitlines()[0].strip()
            break
    if db:
        # Each case lives in its own database; show the name a user would see.
        for a, b in ((f"default_catalog.{db}.", "default_catalog.default_database."),
                     (f"`default_catalog`.`{db}`.", "`default_catalog`.`default_database`.")):
            msg = msg.replace(a, b)
    return msg


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------

def setup_case(env, case: Case, work: Path):
    """Create the case's database and tables; returns the sink directory."""
    cdir = work / case.name
    src_dir = cdir / "source"
    sink_dir = cdir / "sink"
    src_dir.mkdir(parents=True, exist_ok=True)
    sink_dir.mkdir(parents=True, exist_ok=True)
    with open(src_dir / "input.jsonl", "w", encoding="utf-8", newline="") as f:
        f.write(case.input)

    src_name = case.source.get("name", "src")
    sink_name = case.sink.get("name", "sink")
    src_opts = {"connector": "filesystem", "path": src_dir.as_uri(), "format": "json"}
    src_opts.update(case.source.get("options") or {})
    sink_opts = {"connector": "filesystem", "path": sink_dir.as_uri(), "format": "json"}
    sink_opts.update(case.sink.get("options") or {})

    env.execute_sql(f"CREATE DATABASE IF NOT EXISTS {ident(case.db)}")
    env.execute_sql(f"USE {ident(case.db)}")
    env.execute_sql(table_ddl(src_name, case.source["columns"], src_opts))
    env.execute_sql(
        table_ddl(sink_name, case.sink["columns"], sink_opts, case.sink.get("partitionedBy"))
    )
    return sink_dir


def plan_case(env, case: Case):
    env.execute_sql(f"USE {ident(case.db)}")
    ss = env.create_statement_set()
    ss.add_insert_sql(case.sql)
    ss.explain()


def clear_dir(d: Path):
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)


def collect_files(sink_dir: Path):
    files = {}
    for root, dirs, names in os.walk(sink_dir):
        dirs[:] = [x for x in dirs if not x.startswith((".", "_"))]
        rel = os.path.relpath(root, sink_dir)
        rel = "" if rel == "." else Path(rel).as_posix()
        for n in names:
            if n.startswith((".", "_")):
                continue
            with open(os.path.join(root, n), "rb") as f:
                text = f.read().decode("utf-8")
            lines = text.split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            files.setdefault(rel, []).extend(lines)
    return {k: sorted(v) for k, v in sorted(files.items())}


def run_group(env, cases, sink_dirs, log):
    """Run cases in one job; on failure bisect. Fills case.files / case.error."""
    if not cases:
        return
    for c in cases:
        clear_dir(sink_dirs[c.name])
    ss = env.create_statement_set()
    for c in cases:
        env.execute_sql(f"USE {ident(c.db)}")
        ss.add_insert_sql(c.sql)
    t0 = time.time()
    try:
        ss.execute().wait()
    except Exception as e:  # job failed
        log(f"  job with {len(cases)} case(s) failed after {time.time() - t0:.1f}s")
        if len(cases) == 1:
            c = cases[0]
            c.error = {"stage": "run", "message": most_specific_message(e, c.db)}
            c.files = {}
            clear_dir(sink_dirs[c.name])
            log(f"  RUN ERROR {c.name}: {c.error['message']}")
            return
        mid = len(cases) // 2
        run_group(env, cases[:mid], sink_dirs, log)
        run_group(env, cases[mid:], sink_dirs, log)
        return
    log(f"  job with {len(cases)} case(s) finished in {time.time() - t0:.1f}s")
    for c in cases:
        c.files = collect_files(sink_dirs[c.name])
        c.error = None


def run_csv_decode(cases, log):
    """Decodes the records of decode cases (csv, raw) with Flink's own Kafka deserializer."""
    import subprocess
    import pyflink
    lib = os.path.join(os.path.dirname(pyflink.__file__), "lib")
    doc = [{"name": c.name, "format": c.decode_format, "columns": c.source["columns"],
            "options": {k: opt_value(v) for k, v in (c.source.get("options") or {}).items()
                        if k != "format"},
            "records": c.records} for c in cases]
    here = Path(__file__).resolve().parent
    out = subprocess.run(["java", "-cp", os.path.join(lib, "*"), str(here / "FormatDecode.java")],
                         input=json.dumps(doc), capture_output=True, text=True, check=True)
    results = json.loads(out.stdout)
    for c in cases:
        r = results[c.name]
        if r["error"]:
            c.error = {"stage": r["error"]["stage"], "message": r["error"]["message"]}
            c.files = {}
        else:
            c.error = None
            c.files = {"": sorted(r["rows"])} if r["rows"] else {}


def previous_stage(case: Case):
    try:
        with open(case.expected_path, encoding="utf-8") as f:
            err = json.load(f).get("error")
        return err and err.get("stage")
    except (OSError, ValueError):
        return None


def result_json(case: Case) -> str:
    doc = {"error": case.error, "files": {} if case.error else case.files, "flink": FLINK_VERSION}
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("filters", nargs="*", help="only cases whose name contains one of these")
    ap.add_argument("--cases-dir", default=str(CASES_DIR))
    ap.add_argument("--check", action="store_true", help="compare with existing expected files, write nothing")
    ap.add_argument("--keep-work", action="store_true", help="keep the temporary work directory")
    ap.add_argument("--no-hints", action="store_true",
                    help="don't run cases that failed at run time last time separately")
    args = ap.parse_args(argv)

    def log(msg):
        print(msg, flush=True)

    t_start = time.time()
    paths = sorted(Path(args.cases_dir).glob("*.yaml"))
    if args.filters:
        paths = [p for p in paths if any(f in p.name for f in args.filters)]
    if not paths:
        log("no cases found")
        return 1
    cases = [Case(p) for p in paths]
    log(f"{len(cases)} case(s) from {args.cases_dir}")

    decode_cases = [c for c in cases if c.csv_decode]
    cases_flink = [c for c in cases if not c.csv_decode]
    if decode_cases:
        run_csv_decode(decode_cases, log)
        log(f"decoded {len(decode_cases)} csv/raw case(s) with Flink's deserializer")

    work = Path(tempfile.mkdtemp(prefix="flink-golden-"))
    env = make_env()
    log(f"Flink environment ready in {time.time() - t_start:.1f}s (work dir {work})")

    # Phase 1: create tables + plan each case alone.
    sink_dirs = {}
    runnable = []
    for c in cases_flink:
        try:
            sink_dirs[c.name] = setup_case(env, c, work)
            plan_case(env, c)
            runnable.append(c)
        except Exception as e:
            c.error = {"stage": "plan", "message": most_specific_message(e, c.db)}
            log(f"  PLAN ERROR {c.name}: {c.error['message']}")
    log(f"planned {len(cases_flink)} case(s) in {time.time() - t_start:.1f}s; {len(runnable)} runnable")

    # Phase 2: run all runnable cases in one job, bisecting on failure. Cases whose current
    # expected file records a run-time error are run alone first (they would otherwise make
    # the big job fail and cost a bisection each).
    suspects, rest = [], []
    for c in runnable:
        (suspects if previous_stage(c) == "run" and not args.no_hints else rest).append(c)
    if suspects:
        log(f"running {len(suspects)} case(s) that failed at run time last time alone")
    for c in suspects:
        run_group(env, [c], sink_dirs, log)
    run_group(env, rest, sink_dirs, log)

    # Write / check results.
    mismatches = []
    for c in cases:
        text = result_json(c)
        if args.check:
            old = c.expected_path.read_text(encoding="utf-8") if c.expected_path.exists() else None
            if old != text:
                mismatches.append(c.name)
        else:
            c.expected_path.write_text(text, encoding="utf-8")

    if not args.filters:
        names = {c.name for c in cases}
        for p in sorted(Path(args.cases_dir).glob("*.expected.json")):
            if p.name[: -len(".expected.json")] not in names:
                log(f"warning: {p.name} has no case file (delete it?)")

    n_plan = sum(1 for c in cases if c.error and c.error["stage"] == "plan")
    n_run = sum(1 for c in cases if c.error and c.error["stage"] == "run")
    log("")
    log("summary:")
    for c in cases:
        if c.error:
            status = f"{c.error['stage']} error: {c.error['message']}"
        else:
            n = sum(len(v) for v in c.files.values())
            status = f"ok, {n} line(s) in {len(c.files)} dir(s)"
        log(f"  {c.name:<40} {status}")
    log(
        f"{len(cases)} case(s): {len(cases) - n_plan - n_run} ok, {n_plan} plan error(s), "
        f"{n_run} run error(s); {time.time() - t_start:.1f}s total"
    )
    if not args.keep_work:
        shutil.rmtree(work, ignore_errors=True)
    if args.check:
        if mismatches:
            log(f"MISMATCH in {len(mismatches)} case(s): {', '.join(mismatches)}")
            return 1
        log("all expected files are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
