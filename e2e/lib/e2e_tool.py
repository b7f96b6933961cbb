"""Helpers of e2e/cluster_e2e.sh that are easier in Python than in bash.

  manifests EXAMPLE ...     the example's tables and job, pointed at the test's broker and S3
  job-status                read `kubectl get streamingjob -o json` on stdin, check it
  s3 {create-bucket,count,rows-check}
                            S3 (moto or real) through boto3

Every check prints one JSON line of figures; a failed check exits 1 with a sentence on stderr.
Run with the rig's venv (PyYAML, boto3).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import yaml


def fail(msg: str) -> None:
    print(msg, file=sys.stderr)
    sys.exit(1)


# ---------------------------------------------------------------------------------------------
def cmd_manifests(a: argparse.Namespace) -> None:
    """The example as the test applies it: the same tables and job, with an `id` column (the
    oracle's record identity), the test's topic, group, bootstrap servers, bucket and S3
    endpoint, fast commit/status intervals, and the executor pod settings this cluster needs."""
    docs = [d for d in yaml.safe_load_all(open(a.example)) if d]
    out = []
    for d in docs:
        spec = d["spec"]
        if d["kind"] == "StreamingTable":
            cols = spec["columns"]
            if not any(c["name"] == "id" for c in cols):
                cols.insert(0, {"name": "id", "type": "BIGINT"})
            opts = spec.setdefault("options", {})
            if spec["connector"] == "kafka":
                d["metadata"]["name"] = a.prefix + d["metadata"]["name"]
                spec["tableName"] = a.source_table
                opts["topic"] = a.topic
                opts["properties.bootstrap.servers"] = a.bootstrap
                opts["properties.group.id"] = a.group
                opts["scan.startup.mode"] = "earliest-offset"
            else:
                d["metadata"]["name"] = a.prefix + d["metadata"]["name"]
                spec["tableName"] = a.sink_table
                opts["path"] = f"s3://{a.bucket}/{a.sink_prefix}"
                if a.s3_endpoint:
                    opts["s3.endpoint"] = a.s3_endpoint
                    opts["s3.path.style.access"] = "true"
                # Small files often: the test reads them back.
                opts["sink.rolling-policy.rollover-interval"] = "10s"
                opts["sink.rolling-policy.inactivity-interval"] = "2s"
        elif d["kind"] == "StreamingJob":
            d["metadata"]["name"] = a.job
            sql = spec["sql"]
            sql = sql.replace("SELECT event_time", "SELECT id, event_time", 1)
            sql = sql.replace("INSERT INTO sink_table", f"INSERT INTO {a.sink_table}", 1)
            sql = sql.replace("FROM stock_ticks", f"FROM {a.source_table}", 1)
            if a.select_price:
                sql = sql.replace("ticker, price,", f"ticker, {a.select_price},", 1)
            spec["sql"] = sql
            spec["parallelism"] = a.parallelism
            if a.image:
                spec["image"] = a.image
            spec["executor"] = {"commitInterval": "2s", "statusInterval": "2s"}
            if a.metrics_port:
                spec["executor"]["metricsPort"] = a.metrics_port
            if a.memory_limit:
                spec["resources"] = {"requests": {"memory": a.memory_limit},
                                     "limits": {"memory": a.memory_limit}}
            container = {"name": "executor", "env": [
                {"name": k, "value": os.environ[k]}
                for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION")
                if os.environ.get(k)]}
            pod: dict = {"containers": [container]}
            if a.host_network:
                pod["hostNetwork"] = True
                pod["dnsPolicy"] = "ClusterFirstWithHostNet"
            if a.no_port:
                # On one node with host networking, executor pods of a job cannot all bind
                # the same metrics port: no metrics server, no port, no probes.
                container["args"] = ["run", "-f", "/etc/sluice/job.yaml", "--job", a.job,
                                     "--metrics-port", "0"]
                container["ports"] = None
                container["readinessProbe"] = None
                container["livenessProbe"] = None
            spec["podTemplate"] = {"spec": pod}
        else:
            fail(f"{a.example}: unexpected kind {d['kind']}")
        out.append(d)
    yaml.safe_dump_all(out, sys.stdout, sort_keys=False)


# ---------------------------------------------------------------------------------------------
def cond(status: dict, typ: str) -> dict:
    for c in status.get("conditions") or []:
        if c.get("type") == typ:
            return c
    return {}


def cmd_job_status(a: argparse.Namespace) -> None:
    """Checks a job's status against the topic's end offsets (`--ends P=N,...`)."""
    job = json.load(sys.stdin)
    st = job.get("status") or {}
    ends = {int(p): int(n) for p, n in (x.split("=") for x in a.ends.split(","))}
    parts = {e["partition"]: e for e in st.get("partitions") or []}
    figures = {
        "phase": st.get("phase"),
        "recordsIn": st.get("recordsIn"), "recordsOut": st.get("recordsOut"),
        "recordsFiltered": st.get("recordsFiltered"), "filesWritten": st.get("filesWritten"),
        "bytesWritten": st.get("bytesWritten"), "lag": st.get("lag"),
        "committed": {p: parts.get(p, {}).get("committedOffset") for p in sorted(ends)},
        "ends": ends,
        "pods": sorted({e.get("pod") for e in parts.values()}),
    }
    problems = []
    for p, n in ends.items():
        e = parts.get(p)
        if e is None:
            problems.append(f"partition {p} has no status entry")
            continue
        if e.get("committedOffset") != n:
            problems.append(f"partition {p}: committedOffset {e.get('committedOffset')} != end {n}")
        if e.get("lag") != 0:
            problems.append(f"partition {p}: lag {e.get('lag')}")
        if e.get("highWatermark") != n:
            problems.append(f"partition {p}: highWatermark {e.get('highWatermark')} != {n}")
    if st.get("lag") != 0:
        problems.append(f"status.lag is {st.get('lag')}")
    if a.records_in is not None and st.get("recordsIn") != a.records_in:
        problems.append(f"recordsIn {st.get('recordsIn')} != {a.records_in}")
    if a.records_out is not None and st.get("recordsOut") != a.records_out:
        problems.append(f"recordsOut {st.get('recordsOut')} != {a.records_out}")
    if a.records_in is not None and a.records_out is not None and \
            st.get("recordsFiltered") != a.records_in - a.records_out:
        problems.append(f"recordsFiltered {st.get('recordsFiltered')} != {a.records_in - a.records_out}")
    if not (st.get("filesWritten") or 0) > 0:
        problems.append("filesWritten is 0")
    if not (st.get("bytesWritten") or 0) > 0:
        problems.append("bytesWritten is 0")
    for t in ("Ready", "Valid"):
        if cond(st, t).get("status") != "True":
            problems.append(f"condition {t} is {cond(st, t).get('status')} ({cond(st, t).get('message')})")
    if a.live_pods is not None:
        live = set(filter(None, a.live_pods.split(",")))
        stale = [e.get("pod") for e in parts.values() if e.get("pod") not in live]
        if stale:
            problems.append(f"entries of pods that are gone: {sorted(set(stale))} (live: {sorted(live)})")
    print(json.dumps(figures))
    if problems:
        fail("; ".join(problems))


# ---------------------------------------------------------------------------------------------
def s3_client(endpoint: str | None):
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=endpoint or None,
                        region_name=os.environ.get("AWS_REGION", "us-east-1"),
                        config=Config(s3={"addressing_style": "path"}))


def data_keys(c, bucket: str, prefix: str):
    for page in c.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            rel = o["Key"][len(prefix):].lstrip("/")
            if any(p.startswith((".", "_")) for p in rel.split("/")):
                continue
            yield o["Key"]


def cmd_s3(a: argparse.Namespace) -> None:
    c = s3_client(a.endpoint)
    if a.op == "create-bucket":
        try:
            c.create_bucket(Bucket=a.bucket)
        except c.exceptions.BucketAlreadyOwnedByYou:
            pass
        return
    keys = list(data_keys(c, a.bucket, a.prefix))
    if a.op == "count":
        print(len(keys))
        return
    if a.op == "dirs":
        print(len({k.rsplit("/", 1)[0] for k in keys}))
        return
    # rows-check: rows with id >= --from must have integral prices (the changed query);
    # rows below --before must mostly not (the old query ran).
    new_bad, old_int, old_total, new_total = 0, 0, 0, 0
    for k in keys:
        body = c.get_object(Bucket=a.bucket, Key=k)["Body"].read().decode()
        for line in body.splitlines():
            r = json.loads(line)
            integral = float(r["price"]).is_integer()
            if r["id"] >= a.from_id:
                new_total += 1
                new_bad += not integral
            elif r["id"] < a.before:
                old_total += 1
                old_int += integral
    figures = {"rows_new_query": new_total, "rows_new_not_following": new_bad,
               "rows_old_query": old_total, "rows_old_integral": old_int}
    print(json.dumps(figures))
    if new_total == 0:
        fail(f"no rows with id >= {a.from_id} in s3://{a.bucket}/{a.prefix}")
    if new_bad:
        fail(f"{new_bad} rows produced after the change do not follow the new query (price not rounded)")
    if old_total == 0 or old_int > old_total // 10:
        fail(f"rows before the change look rounded too ({old_int}/{old_total}): did the old query run?")


def main() -> None:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("manifests")
    m.add_argument("example")
    for f in ("bootstrap", "topic", "group", "bucket", "job", "source-table", "sink-table"):
        m.add_argument(f"--{f}", required=True)
    m.add_argument("--sink-prefix", required=True)
    m.add_argument("--prefix", default="")
    m.add_argument("--s3-endpoint", default="")
    m.add_argument("--image", default="")
    m.add_argument("--parallelism", type=int, default=1)
    m.add_argument("--metrics-port", type=int, default=0)
    m.add_argument("--memory-limit", default="")
    m.add_argument("--select-price", default="")
    m.add_argument("--host-network", action="store_true")
    m.add_argument("--no-port", action="store_true")
    j = sub.add_parser("job-status")
    j.add_argument("--ends", required=True)
    j.add_argument("--records-in", type=int)
    j.add_argument("--records-out", type=int)
    j.add_argument("--live-pods")
    s = sub.add_parser("s3")
    s.add_argument("op", choices=["create-bucket", "count", "dirs", "rows-check"])
    s.add_argument("--endpoint", default="")
    s.add_argument("--bucket", required=True)
    s.add_argument("--prefix", default="")
    s.add_argument("--from-id", type=int, default=0)
    s.add_argument("--before", type=int, default=0)
    a = p.parse_args()
    {"manifests": cmd_manifests, "job-status": cmd_job_status, "s3": cmd_s3}[a.cmd](a)


if __name__ == "__main__":
    main()
