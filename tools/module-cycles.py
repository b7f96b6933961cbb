#!/usr/bin/env python3
"""Import cycles between the modules of a Rust crate.

    python3 tools/module-cycles.py sql/src              # one crate's src/ tree
    python3 tools/module-cycles.py --tests sql/src      # count test-only code too
    python3 tools/module-cycles.py --edges sql/src      # also print every edge and where it is

Reads the crate roots under SRC (`lib.rs`, `main.rs`, `bin/*.rs`, `bin/*/main.rs`), follows
their `mod` declarations (with `#[path]`) to every file module, and builds a module -> module
graph at file granularity: a module's `mod.rs`/`x.rs` and each of its child files are separate
nodes; inline modules (`mod tests { ... }`) belong to the node of their file.

An edge A -> B is a path in A's code that names B or an item of B: `use crate::x::y`,
`use super::z`, `self::`, an expression `crate::x::f()`, or `child::f()` where `child` is a
module that A declares. The path is resolved one segment at a time down the module tree and the
edge goes to the deepest module it reaches (`crate::functions::civil_from_days` is an edge to
`functions/mod.rs`, even when that file only re-exports the item: going through the facade
makes the facade a dependency). A `mod child;` declaration is not an edge, so a parent and a
child form a cycle only when both use each other's items. `$crate::` inside macros, macro
scoping (`#[macro_use]`, textual `macro_rules!`) and paths through names brought in by a glob
import are not seen. Code under `#[cfg(test)]` (test modules, test-only items and imports) is
left out unless `--tests` is given: a test may use the crate's top-level API.

Prints every elementary cycle (up to --max-cycles per strongly connected component), each edge
with the file and line that makes it, and exits 1 if there is any cycle, 0 if none. Python 3.11,
standard library only.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path


# ---------------------------------------------------------------------------------------------
# Reading a file: comments, strings and chars become spaces (newlines kept, for line numbers).

def strip_rust(text: str) -> str:
    out = []
    i, n = 0, len(text)

    def blank(s: str) -> str:
        return "".join("\n" if c == "\n" else " " for c in s)

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(blank(text[i:j]))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(text[i:j]))
            i = j
        elif m := re.compile(r'b?r(#*)"').match(text, i) if c in "br" and (
            i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")
        ) else None:
            close = '"' + m.group(1)
            j = text.find(close, m.end())
            j = n if j < 0 else j + len(close)
            out.append(blank(text[i:j]))
            i = j
        elif c == '"' or (c == "b" and text.startswith('b"', i) and (
            i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")
        )):
            j = i + (2 if c == "b" else 1)
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(blank(text[i:j]))
            i = j
        elif c == "'":
            # A char literal ('a', '\n', '\u{1F600}', b'x' handled by the quote), else a lifetime.
            m = re.compile(r"'(?:\\u\{[0-9a-fA-F]+\}|\\.|[^\\'\n])'").match(text, i)
            if m:
                out.append(blank(m.group(0)))
                i = m.end()
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# `use` trees: `a::b::{c, d::{e as f, self}, *}` -> [[a,b,c], [a,b,d,e], [a,b,d], [a,b,*]].

TOKEN = re.compile(r"\s*(::|[{},*;]|\bas\b|r#\w+|\w+)")


def use_paths(body: str) -> list[list[str]]:
    tokens = [m.group(1) for m in TOKEN.finditer(body)]
    pos = 0

    def tree(prefix: list[str]) -> list[list[str]]:
        nonlocal pos
        if pos < len(tokens) and tokens[pos] == "::":  # `use ::std::...`
            pos += 1
        path = list(prefix)
        while pos < len(tokens):
            t = tokens[pos]
            if t == "{":
                pos += 1
                paths = []
                while pos < len(tokens) and tokens[pos] != "}":
                    paths += tree(path)
                    if pos < len(tokens) and tokens[pos] == ",":
                        pos += 1
                pos += 1
                return paths
            if t == "*":
                pos += 1
                return [path + ["*"]]
            if t in (",", "}", ";"):
                return [path]
            if t == "as":
                pos += 2
                return [path]
            if t == "::":
                pos += 1
                continue
            path.append("self" if t == "self" and path else t)
            pos += 1
        return [path]

    return tree([])


# ---------------------------------------------------------------------------------------------
# The module tree.

@dataclass
class Module:
    name: str
    parent: Module | None
    file: str  # the node this module's code belongs to (its file, relative to SRC)
    children: dict[str, Module] = field(default_factory=dict)
    test: bool = False


@dataclass
class Edge:
    source: str
    target: str
    where: str  # file:line
    path: str
    test: bool


ITEM = re.compile(
    r"(?P<cfgtest>#\s*\[\s*cfg\s*\(\s*test\s*\)\s*\])"
    r"|(?P<pathattr>#\s*\[\s*path\s*=)"
    r"|(?P<attr>#!?\s*\[)"
    r"|\bmod\s+(?:r#)?(?P<mod>\w+)\s*(?P<modend>[;{])"
    r"|(?P<use>\buse\b)(?P<usebody>[^;]*);"
    r"|(?P<open>\{)|(?P<close>\})|(?P<semi>;)"
    r"|(?<![$\w])(?P<path>(?:r#)?\w+(?:\s*::\s*(?:r#)?\w+)+)"
)


class Crate:
    def __init__(self, src: Path, root_file: Path, include_tests: bool):
        self.src = src
        self.include_tests = include_tests
        self.root = Module("crate", None, self.rel(root_file))
        self.edges: list[Edge] = []
        self.files: list[tuple[Module, Path, str, str]] = []
        self.missing: list[str] = []
        self.discover(self.root, root_file, is_mod_rs=True)
        for module, path, text, raw in self.files:
            self.scan(module, text, raw, collect=True)

    def rel(self, p: Path) -> str:
        return p.relative_to(self.src).as_posix()

    def discover(self, module: Module, path: Path, is_mod_rs: bool) -> None:
        """Reads `path` as `module`'s file and, recursively, the files its `mod x;` name."""
        raw = path.read_text(encoding="utf-8", errors="replace")
        text = strip_rust(raw)
        self.files.append((module, path, text, raw))
        directory = path.parent if is_mod_rs else path.parent / path.stem
        for child, explicit, test, inline_chain in self.scan(module, text, raw, collect=False):
            base = directory
            for part in inline_chain:
                base = base / part
            if explicit is not None:
                child_path = (path.parent if not inline_chain else base) / explicit
                child_mod_rs = child_path.name == "mod.rs"
            elif (base / f"{child.name}.rs").exists():
                child_path, child_mod_rs = base / f"{child.name}.rs", False
            elif (base / child.name / "mod.rs").exists():
                child_path, child_mod_rs = base / child.name / "mod.rs", True
            else:
                self.missing.append(f"{self.rel(path)}: mod {child.name}")
                continue
            child.file = self.rel(child_path)
            child.test = child.test or test
            self.discover(child, child_path, child_mod_rs)

    def scan(self, file_module: Module, text: str, raw: str, collect: bool):
        """Walks one file: tracks inline modules and `#[cfg(test)]` scopes; returns the
        `mod x;` declarations (first pass) or records edges (second pass)."""
        declared = []
        # Scope stack: (module, inline chain of names, test, is a module scope).
        stack = [(file_module, [], file_module.test, True)]
        pending_test = False
        pending_path = None
        line_starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]

        def line_of(offset: int) -> int:
            lo, hi = 0, len(line_starts)
            while lo + 1 < hi:
                mid = (lo + hi) // 2
                if line_starts[mid] <= offset:
                    lo = mid
                else:
                    hi = mid
            return lo + 1

        for m in ITEM.finditer(text):
            module, chain, test, _ = stack[-1]
            if m.group("cfgtest"):
                pending_test = True
            elif m.group("pathattr"):
                # The string is blanked in `text`; read it from the file as written.
                value = re.compile(r'\s*"([^"]*)"').match(raw, m.end())
                pending_path = value.group(1) if value else None
            elif m.group("attr"):
                pass
            elif m.group("mod"):
                name = m.group("mod")
                is_test = test or pending_test
                if m.group("modend") == ";":
                    if not collect:
                        child = module.children.get(name) or Module(name, module, "")
                        module.children[name] = child
                        child.test = is_test
                        declared.append((child, pending_path, is_test, chain))
                else:
                    child = module.children.get(name)
                    if child is None:
                        child = Module(name, module, file_module.file, test=is_test)
                        module.children[name] = child
                    stack.append((child, chain + [name], is_test, True))
                pending_test, pending_path = False, None
            elif m.group("use"):
                if collect:
                    for path in use_paths(m.group("usebody")):
                        self.edge(module, path, line_of(m.start()), test or pending_test)
                pending_test, pending_path = False, None
            elif m.group("open"):
                stack.append((module, chain, test or pending_test, False))
                pending_test, pending_path = False, None
            elif m.group("close"):
                if len(stack) > 1:
                    stack.pop()
            elif m.group("semi"):
                pending_test, pending_path = False, None
            elif m.group("path") and collect:
                segments = [s.strip().removeprefix("r#") for s in m.group("path").split("::")]
                first = segments[0]
                if first in ("crate", "super", "self") or first in module.children:
                    self.edge(module, segments, line_of(m.start()), test or pending_test)
        return declared

    def resolve(self, here: Module, segments: list[str]) -> Module | None:
        if not segments:
            return None
        i = 0
        if segments[0] == "crate":
            at, i = self.root, 1
        elif segments[0] == "self":
            at, i = here, 1
        elif segments[0] == "super":
            at = here
            while i < len(segments) and segments[i] == "super":
                if at.parent is None:
                    return None
                at, i = at.parent, i + 1
        elif segments[0] in here.children:
            at = here
        else:
            return None  # another crate, std, or a local name
        while i < len(segments) and segments[i] in at.children:
            at, i = at.children[segments[i]], i + 1
        return at

    def edge(self, here: Module, segments: list[str], line: int, test: bool) -> None:
        target = self.resolve(here, segments)
        if target is None:
            return
        source_file, target_file = here.file, target.file
        if source_file == target_file:
            return
        self.edges.append(
            Edge(source_file, target_file, f"{here.file}:{line}", "::".join(segments), test)
        )


# ---------------------------------------------------------------------------------------------
# Cycles: strongly connected components (Tarjan), then elementary cycles in each (Johnson).

def components(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        # Iterative Tarjan, so deep graphs do not hit the recursion limit.
        work = [(v, iter(sorted(graph.get(v, ()))))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        while work:
            node, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on_stack:
                    low[node] = min(low[node], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == node:
                            break
                    out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def elementary_cycles(nodes: list[str], graph: dict[str, set[str]], limit: int):
    """Simple cycles inside one component, each starting at its smallest node; at most
    `limit` (then the second value is True)."""
    order = sorted(nodes)
    cycles: list[list[str]] = []
    for k, start in enumerate(order):
        allowed = set(order[k:])
        path = [start]
        on_path = {start}
        iters = [iter(sorted(graph[start] & allowed))]
        while iters:
            for w in iters[-1]:
                if w == start:
                    cycles.append(list(path))
                    if len(cycles) >= limit:
                        return cycles, True
                elif w not in on_path:
                    path.append(w)
                    on_path.add(w)
                    iters.append(iter(sorted(graph[w] & allowed)))
                    break
            else:
                iters.pop()
                on_path.discard(path.pop())
    return cycles, False


# ---------------------------------------------------------------------------------------------

def crate_roots(src: Path) -> list[Path]:
    roots = [src / f for f in ("lib.rs", "main.rs") if (src / f).exists()]
    bins = src / "bin"
    if bins.is_dir():
        roots += sorted(bins.glob("*.rs"))
        roots += sorted(p for p in bins.glob("*/main.rs"))
    return roots


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", type=Path, help="a crate's src/ directory")
    ap.add_argument("--tests", action="store_true", help="count #[cfg(test)] code too")
    ap.add_argument("--edges", action="store_true", help="print every edge")
    ap.add_argument("--max-cycles", type=int, default=200, help="per component (default 200)")
    args = ap.parse_args()
    src = args.src.resolve()
    roots = crate_roots(src)
    if not roots:
        print(f"{args.src}: no lib.rs, main.rs or bin/*.rs", file=sys.stderr)
        return 2

    found = 0
    for root in roots:
        crate = Crate(src, root, args.tests)
        label = f"{args.src.as_posix().rstrip('/')}/{crate.rel(root)}"
        for miss in crate.missing:
            print(f"{label}: warning: no file for {miss}", file=sys.stderr)
        edges = [e for e in crate.edges if args.tests or not e.test]
        graph: dict[str, set[str]] = {}
        where: dict[tuple[str, str], list[Edge]] = {}
        for e in edges:
            graph.setdefault(e.source, set()).add(e.target)
            graph.setdefault(e.target, set())
            where.setdefault((e.source, e.target), []).append(e)
        if args.edges:
            for (a, b), es in sorted(where.items()):
                print(f"edge {a} -> {b}: " + ", ".join(f"{e.where} {e.path}" for e in es))
        comps = [c for c in components(graph) if len(c) > 1]
        if not comps:
            print(f"{label}: no cycles ({len(graph)} modules, {len(where)} edges)")
            continue
        for comp in comps:
            cycles, cut = elementary_cycles(comp, graph, args.max_cycles)
            found += len(cycles)
            print(f"{label}: {len(comp)} modules in a cycle: {', '.join(comp)}")
            for cycle in cycles:
                print("  cycle: " + " -> ".join(cycle + [cycle[0]]))
                for a, b in zip(cycle, cycle[1:] + cycle[:1]):
                    first = where[(a, b)][0]
                    more = len(where[(a, b)]) - 1
                    extra = f" (+{more} more)" if more else ""
                    print(f"    {a} -> {b}: {first.where} {first.path}{extra}")
            if cut:
                print(f"  ... more cycles in this component (--max-cycles {args.max_cycles})")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
