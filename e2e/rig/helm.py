"""A small `helm template` / `helm lint` front end over helm-python-sdk.

helm-python-sdk ships the Helm v4 Go engine as a C library (libhelm_c) with a ctypes
binding and no CLI; this file gives the two commands the tests need a Helm-like CLI.
Run it through e2e/rig/helm.sh, which provides the venv.
"""

from __future__ import annotations

import argparse
import json
import re
import sys

import helm_python as helm

# Helm's install order (pkg/release/util/kind_sorter.go), used to order `template` output.
INSTALL_ORDER = [
    "PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange",
    "PodSecurityPolicy", "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList",
    "ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
    "CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
    "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service",
    "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
    "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress",
    "APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
]
ORDER = {k: i for i, k in enumerate(INSTALL_ORDER)}


def deep_merge(base: dict, over: dict) -> dict:
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            deep_merge(base[k], v)
        else:
            base[k] = v
    return base


def add_value_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--values", action="append", default=[], metavar="FILE")
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--set-string", action="append", default=[])
    p.add_argument("--set-json", action="append", default=[])
    p.add_argument("--set-file", action="append", default=[])
    p.add_argument("--set-literal", action="append", default=[])
    p.add_argument("-n", "--namespace", default=None)
    p.add_argument("--kube-version", default=None)


def collect_values(a: argparse.Namespace) -> dict | None:
    vals: dict = {}
    given = False
    for f in a.values:
        with open(f, encoding="utf-8") as fh:
            deep_merge(vals, helm.values_from_yaml(fh.read()) or {})
        given = True
    # Same precedence as Helm's ValueOptions.MergeValues.
    for flag, fn in (
        ("set_json", helm.parse_set_json),
        ("set", helm.parse_set_string),
        ("set_string", helm.parse_set_string_values),
        ("set_file", helm.parse_set_file),
        ("set_literal", helm.parse_set_literal),
    ):
        for expr in getattr(a, flag):
            deep_merge(vals, fn(expr))
            given = True
    return vals if given else None


def split_docs(text: str) -> list[str]:
    docs = re.split(r"(?m)^---[ \t]*$", text)
    return [d.strip("\n") for d in docs if d.strip() and not all(
        line.strip() == "" or line.lstrip().startswith("#") for line in d.splitlines())]


def kind_of(doc: str) -> str:
    m = re.search(r"(?m)^kind:\s*[\"']?([A-Za-z0-9]+)", doc)
    return m.group(1) if m else ""


def cmd_template(a: argparse.Namespace) -> int:
    name, chart_path = (a.args[0], a.args[1]) if len(a.args) == 2 else ("release-name", a.args[0])
    if a.kube_version:
        print("helm.sh: --kube-version is ignored by `template` (not in helm-python-sdk's render)",
              file=sys.stderr)
    values = collect_values(a)
    out = []
    with helm.Chart.load(chart_path) as chart:
        if a.include_crds:
            for crd in chart.crds:
                for d in split_docs(crd["data"]):
                    out.append((-1, crd["filename"], d))
        rendered = chart.render(values, name=name, namespace=a.namespace or "default",
                                is_install=not a.is_upgrade, is_upgrade=a.is_upgrade)
    for path, text in rendered.items():
        if path.endswith("NOTES.txt") or path.rsplit("/", 1)[-1].startswith("_"):
            continue
        for d in split_docs(text):
            out.append((ORDER.get(kind_of(d), len(ORDER)), path, d))
    if a.show_only:
        wanted = set(a.show_only)
        out = [o for o in out if o[1] in wanted or o[1].split("/", 1)[-1] in wanted]
        if not out:
            print(f"Error: could not find template(s) {', '.join(a.show_only)} in chart",
                  file=sys.stderr)
            return 1
    out.sort(key=lambda o: (o[0], o[1]))
    for _, path, d in out:
        sys.stdout.write(f"---\n# Source: {path}\n{d}\n")
    return 0


def cmd_lint(a: argparse.Namespace) -> int:
    sev = {0: "UNKNOWN", 1: "INFO", 2: "WARNING", 3: "ERROR"}
    failed = 0
    values = collect_values(a)
    for path in a.charts:
        kw = {}
        if a.strict:
            kw["strict"] = True
        if a.namespace:
            kw["namespace"] = a.namespace
        if a.kube_version:
            kw["kube_version"] = a.kube_version
        if a.with_subcharts:
            kw["with_subcharts"] = True
        rep = helm.lint(path, values, **kw)
        print(f"==> Linting {path}")
        bad = bool(rep.get("errors"))
        for m in rep.get("messages", []):
            s = m.get("severity", 0)
            if s >= 3 or (a.strict and s >= 2):
                bad = True
            if not a.quiet or s >= 2:
                print(f"[{sev.get(s, s)}] {m.get('path')}: {m.get('error')}")
        for e in rep.get("errors") or []:
            print(f"Error: {e}")
        print()
        failed += bad
    print(f"{len(a.charts)} chart(s) linted, {failed} chart(s) failed")
    return 1 if failed else 0


def main() -> int:
    p = argparse.ArgumentParser(prog="helm.sh", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("template", help="render a chart offline, like `helm template`")
    t.add_argument("args", nargs="+", metavar="[NAME] CHART")
    add_value_flags(t)
    t.add_argument("--include-crds", action="store_true")
    t.add_argument("-s", "--show-only", action="append", default=[])
    t.add_argument("--is-upgrade", action="store_true")
    l = sub.add_parser("lint", help="lint charts, like `helm lint`")
    l.add_argument("charts", nargs="+", metavar="CHART")
    add_value_flags(l)
    l.add_argument("--strict", action="store_true")
    l.add_argument("--quiet", action="store_true")
    l.add_argument("--with-subcharts", action="store_true")
    sub.add_parser("version", help="print the Helm SDK version")
    a = p.parse_args()
    if a.cmd == "template" and len(a.args) > 2:
        p.error("template takes [NAME] CHART")
    try:
        if a.cmd == "template":
            return cmd_template(a)
        if a.cmd == "lint":
            return cmd_lint(a)
        print(json.dumps({"helm_sdk": helm.helm_sdk_version(), "helm_c": helm.helm_c_version()}))
        return 0
    except helm.HelmError as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
