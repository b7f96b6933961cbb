//! Sluice's support for each of Apache Flink 2.3.0's built-in functions and operators.
//!
//! Flink's list is `sql/tests/flink/flink-functions.tsv`, printed from Flink's own jars by
//! `tools/flink-golden/list-functions.sh` (its `FlinkSqlOperatorTable` and the
//! `BuiltInFunctionDefinitions` its SQL planner resolves). Sluice's status for every scalar
//! function and operator in it is in `coverage.txt` beside this file: exact (golden cases made by
//! running Flink prove it), exact except a listed deviation, or refused with a reason that
//! `validate` gives. The tests below keep the three in step: the list, this status file and
//! the function registry, the golden corpus, and the table in `docs/flink-compat.md`
//! (regenerated with `SLUICE_BLESS=1 cargo test -p sluice-sql --lib coverage`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::LazyLock;

const FLINK_LIST: &str = include_str!("../../tests/flink/flink-functions.tsv");
const STATUS: &str = include_str!("coverage.txt");

/// What kind of function Flink's list says a name is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlinkKind {
    /// Called as `NAME(...)` (or a keyword form such as `EXTRACT(... FROM ...)`).
    Scalar,
    /// Written with symbols or keywords (`+`, `IS DISTINCT FROM`, `CASE`).
    Operator,
    /// An aggregate (`SUM`, `LISTAGG`, ...).
    Aggregate,
    /// A group-window function (`TUMBLE_START`, ...).
    Window,
    /// A table function (`TUMBLE(TABLE ...)`, `ML_PREDICT`, ...).
    Table,
    /// Only inside `MATCH_RECOGNIZE`.
    MatchRecognize,
    /// The planner's own (not written by users).
    Internal,
}

impl FlinkKind {
    fn parse(s: &str) -> Option<FlinkKind> {
        Some(match s {
            "scalar" => FlinkKind::Scalar,
            "operator" => FlinkKind::Operator,
            "aggregate" => FlinkKind::Aggregate,
            "window" => FlinkKind::Window,
            "table" => FlinkKind::Table,
            "match_recognize" => FlinkKind::MatchRecognize,
            "internal" => FlinkKind::Internal,
            _ => return None,
        })
    }
}

/// Sluice's support for one function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Support {
    /// Byte-equal with Flink on its golden cases.
    Exact,
    /// Byte-equal except what the text says.
    Deviates(String),
    /// Refused by `validate`, for this reason.
    Refused(String),
}

/// One scalar function or operator of Flink's list.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Flink's name (`LOCATE`, `IS DISTINCT FROM`, `+`).
    pub name: String,
    /// Scalar function or operator.
    pub kind: FlinkKind,
    /// Sluice's support.
    pub support: Support,
    /// Golden cases (`sql/tests/flink/cases/<name>.yaml`) that exercise it.
    pub cases: Vec<String>,
    /// For exact functions, an optional remark.
    pub note: String,
}

/// Flink's list: name → kind.
fn parse_flink_list(text: &str) -> Result<BTreeMap<String, FlinkKind>, String> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut parts = line.split('\t');
        let (Some(name), Some(kind)) = (parts.next(), parts.next()) else {
            return Err(format!("flink-functions.tsv line {}: {line:?}", i + 1));
        };
        let kind = FlinkKind::parse(kind)
            .ok_or_else(|| format!("flink-functions.tsv line {}: kind {kind:?}", i + 1))?;
        out.insert(name.to_owned(), kind);
    }
    Ok(out)
}

fn parse_status(text: &str, flink: &BTreeMap<String, FlinkKind>) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let at = || format!("coverage.txt line {}", i + 1);
        let parts: Vec<&str> = line.split('\t').collect();
        let [name, status, cases, note] = parts.as_slice() else {
            return Err(format!("{}: want 4 tab-separated fields: {line:?}", at()));
        };
        let kind = *flink
            .get(*name)
            .ok_or_else(|| format!("{}: {name} is not in Flink's list", at()))?;
        let note = note.trim().to_owned();
        let support = match *status {
            "exact" => Support::Exact,
            "deviates" if !note.is_empty() => Support::Deviates(note.clone()),
            "refused" if !note.is_empty() => Support::Refused(note.clone()),
            other => {
                return Err(format!(
                    "{}: status {other:?} (a deviation or refusal needs a note)",
                    at()
                ));
            }
        };
        let cases = cases
            .split_whitespace()
            .filter(|c| *c != "-")
            .map(str::to_owned)
            .collect();
        out.push(Entry {
            name: (*name).to_owned(),
            kind,
            support,
            cases,
            note,
        });
    }
    Ok(out)
}

struct Coverage {
    flink: BTreeMap<String, FlinkKind>,
    entries: Vec<Entry>,
}

static COVERAGE: LazyLock<Result<Coverage, String>> = LazyLock::new(|| {
    let flink = parse_flink_list(FLINK_LIST)?;
    let entries = parse_status(STATUS, &flink)?;
    Ok(Coverage { flink, entries })
});

/// Every scalar function and operator of Flink's list with Sluice's support (empty if the
/// compiled-in files do not parse, which `tests::the_files_parse` rules out).
pub fn entries() -> &'static [Entry] {
    match COVERAGE.as_ref() {
        Ok(c) => &c.entries,
        Err(_) => &[],
    }
}

/// The kind Flink's list gives `name` (case-insensitive), if Flink has such a function.
pub fn flink_kind(name: &str) -> Option<FlinkKind> {
    let c = COVERAGE.as_ref().ok()?;
    c.flink
        .get(&name.to_ascii_uppercase())
        .copied()
        .or_else(|| {
            c.flink
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, k)| *k)
        })
}

/// Why `validate` refuses a call of `name`, when Flink has the function and Sluice does not
/// run it; `None` when Sluice runs it or Flink has no such function.
pub fn refusal(name: &str) -> Option<String> {
    let upper = name.to_ascii_uppercase();
    let reason = match flink_kind(&upper)? {
        FlinkKind::Aggregate => "it is an aggregate function; aggregations are not supported by Sluice jobs".to_owned(),
        FlinkKind::Window => "it is a group-window function; windows and aggregations are not supported by Sluice jobs".to_owned(),
        FlinkKind::Table => "it is a table function; a Sluice job selects FROM one table".to_owned(),
        FlinkKind::MatchRecognize => "it is only valid in MATCH_RECOGNIZE, which Sluice does not support".to_owned(),
        FlinkKind::Internal => return None,
        FlinkKind::Scalar | FlinkKind::Operator => {
            match entries().iter().find(|e| e.name == upper).map(|e| &e.support) {
                Some(Support::Refused(why)) => why.clone(),
                _ => return None,
            }
        }
    };
    Some(format!(
        "{upper} is a Flink function that Sluice does not support: {reason}"
    ))
}

/// The names Sluice must not resolve from DataFusion's functions: Flink's refused scalar
/// functions (DataFusion has some of these names with other semantics).
pub(super) fn refused_names() -> impl Iterator<Item = &'static str> {
    entries()
        .iter()
        .filter(|e| matches!(e.support, Support::Refused(_)))
        .map(|e| e.name.as_str())
}

/// The coverage table of `docs/flink-compat.md` (between its `function-coverage` markers).
pub fn markdown() -> String {
    let all = entries();
    let count = |f: &dyn Fn(&Entry) -> bool| all.iter().filter(|e| f(e)).count();
    let exact = count(&|e| e.support == Support::Exact);
    let deviates = count(&|e| matches!(e.support, Support::Deviates(_)));
    let refused = count(&|e| matches!(e.support, Support::Refused(_)));
    let three = count(&|e| !matches!(e.support, Support::Refused(_)) && e.cases.len() >= 3);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} scalar functions and operators in Flink 2.3.0's list: **{exact} exact**, **{deviates} exact except a listed deviation**, **{refused} refused** by `validate` with the reason below. {three} of the {} supported ones have three or more golden cases.",
        all.len(),
        exact + deviates
    );
    out.push('\n');
    for (title, kind) in [
        ("Scalar functions", FlinkKind::Scalar),
        ("Operators", FlinkKind::Operator),
    ] {
        let _ = writeln!(out, "#### {title}\n");
        out.push_str("| Flink | Sluice | golden cases | note |\n|---|---|---|---|\n");
        for e in all.iter().filter(|e| e.kind == kind) {
            let status = match &e.support {
                Support::Exact => "exact",
                Support::Deviates(_) => "exact except",
                Support::Refused(_) => "refused",
            };
            let cases = if e.cases.is_empty() {
                String::new()
            } else {
                e.cases
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let _ = writeln!(
                out,
                "| `{}` | {status} | {cases} | {} |",
                e.name.replace('|', "\\|"),
                e.note.replace('|', "\\|")
            );
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    use crate::catalog::{Catalog, TableDef};
    use crate::functions::FunctionRegistry;
    use crate::planner::JobPlan;

    fn crate_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    fn cases_dir() -> PathBuf {
        crate_dir().join("tests/flink/cases")
    }

    /// Names Sluice plans from SQL syntax rather than from the function registry (`MOD(a, b)`
    /// is rewritten to `a % b` by `planner::syntax`).
    const SYNTAX: &[&str] = &[
        "CAST", "TRY_CAST", "EXTRACT", "POSITION", "TRIM", "OVERLAY", "MOD", "JSON",
    ];

    #[test]
    fn the_files_parse() {
        if let Err(e) = COVERAGE.as_ref() {
            panic!("{e}");
        }
    }

    #[test]
    fn every_scalar_function_and_operator_of_flink_has_one_row() {
        let flink = parse_flink_list(FLINK_LIST).unwrap();
        let want: BTreeSet<&str> = flink
            .iter()
            .filter(|(_, k)| matches!(k, FlinkKind::Scalar | FlinkKind::Operator))
            .map(|(n, _)| n.as_str())
            .collect();
        let mut seen = BTreeSet::new();
        for e in entries() {
            assert!(seen.insert(e.name.as_str()), "{} has two rows", e.name);
        }
        let missing: Vec<_> = want.difference(&seen).collect();
        let extra: Vec<_> = seen.difference(&want).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "coverage.txt and Flink's list differ: missing {missing:?}, not scalar/operator in Flink {extra:?}"
        );
    }

    #[test]
    fn the_registry_runs_what_the_table_supports_and_nothing_it_refuses() {
        let registry = FunctionRegistry::flink();
        for e in entries() {
            let named = e
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
            if e.kind != FlinkKind::Scalar || !named || SYNTAX.contains(&e.name.as_str()) {
                continue;
            }
            let resolves = registry.get(&e.name).is_some();
            match &e.support {
                Support::Refused(_) => assert!(
                    !resolves,
                    "{} is refused in the table but the registry runs it",
                    e.name
                ),
                _ => assert!(
                    resolves,
                    "{} is supported in the table but not in the registry",
                    e.name
                ),
            }
        }
    }

    #[test]
    fn refused_functions_are_refused_with_their_reason() {
        let catalog = Catalog::new([
            TableDef::for_test("src", &[("s", "STRING")]),
            TableDef::for_test("sink", &[("x", "STRING")]),
        ]);
        let registry = FunctionRegistry::flink();
        let mut checked = 0;
        for e in entries() {
            let Support::Refused(why) = &e.support else {
                continue;
            };
            if e.kind != FlinkKind::Scalar
                || !e
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                continue;
            }
            let sql = format!("INSERT INTO sink SELECT {}(s) FROM src", e.name);
            let err = JobPlan::plan(&sql, &catalog, &registry)
                .err()
                .unwrap_or_else(|| panic!("{sql} was accepted"))
                .to_string();
            assert!(
                err.contains(why.as_str()) && !err.contains("no function named"),
                "{sql}: {err}"
            );
            checked += 1;
        }
        assert!(checked > 0 || refused_names().next().is_none());
    }

    #[test]
    fn similar_to_is_refused_with_its_reason() {
        let table = |name: &str| TableDef::for_test(name, &[("s", "STRING")]);
        let catalog = Catalog::new([table("src"), table("sink")]);
        for op in ["SIMILAR TO", "NOT SIMILAR TO"] {
            let Some(Support::Refused(why)) = entries()
                .iter()
                .find(|e| e.name == op)
                .map(|e| e.support.clone())
            else {
                continue;
            };
            let sql = format!("INSERT INTO sink SELECT s FROM src WHERE s {op} 'a%'");
            let err = JobPlan::plan(&sql, &catalog, &FunctionRegistry::flink())
                .err()
                .unwrap_or_else(|| panic!("{sql} was accepted"))
                .to_string();
            assert!(err.contains(&why), "{sql}: {err}");
        }
    }

    #[test]
    fn golden_cases_exist_and_call_their_function() {
        let known: BTreeSet<String> =
            std::fs::read_to_string(crate_dir().join("tests/flink/known-deviations.txt"))
                .unwrap()
                .lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
                .collect();
        let mut problems = Vec::new();
        for e in entries() {
            if matches!(e.support, Support::Refused(_)) {
                if !e.cases.is_empty() {
                    problems.push(format!("{} is refused but lists cases", e.name));
                }
                continue;
            }
            if e.cases.is_empty() {
                problems.push(format!("{} is supported but has no golden case", e.name));
            }
            for c in &e.cases {
                let path = cases_dir().join(format!("{c}.yaml"));
                let Ok(text) = std::fs::read_to_string(&path) else {
                    problems.push(format!("{}: no case {c}", e.name));
                    continue;
                };
                let case: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
                let sql = case["sql"]
                    .as_str()
                    .unwrap_or_default()
                    .to_ascii_uppercase();
                if !mentions(&sql, &e.name) {
                    problems.push(format!("{}: case {c} does not call it", e.name));
                }
                if e.support == Support::Exact && known.contains(c) {
                    problems.push(format!(
                        "{} is exact but its case {c} is a known deviation",
                        e.name
                    ));
                }
                if !Path::new(&cases_dir().join(format!("{c}.expected.json"))).exists() {
                    problems.push(format!("{}: case {c} has no expected file", e.name));
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// Whether upper-case `sql` calls `name`: as a word for names, as text for operators
    /// (`BETWEEN ASYMMETRIC` is written `BETWEEN`, `ITEM` as `[`, `DOT` as `.`).
    fn mentions(sql: &str, name: &str) -> bool {
        let needle = match name {
            "BETWEEN ASYMMETRIC" => "BETWEEN",
            "NOT BETWEEN ASYMMETRIC" => "NOT BETWEEN",
            "ITEM" => "[",
            "DOT" => ".",
            other => other,
        };
        if !needle
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ' ')
        {
            return sql.contains(needle);
        }
        sql.match_indices(needle).any(|(i, _)| {
            let before = sql[..i].chars().next_back();
            let after = sql[i + needle.len()..].chars().next();
            let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            !word(before) && !word(after)
        })
    }

    const BEGIN: &str = "<!-- function-coverage: generated by `SLUICE_BLESS=1 cargo test -p sluice-sql --lib coverage` from sql/src/functions/coverage.txt; do not edit -->\n";
    const END: &str = "<!-- /function-coverage -->";

    #[test]
    fn the_coverage_table_in_the_docs_is_current() {
        let path = crate_dir().join("../docs/flink-compat.md");
        let doc = std::fs::read_to_string(&path).unwrap();
        let (Some(b), Some(e)) = (doc.find(BEGIN), doc.find(END)) else {
            panic!("docs/flink-compat.md has no function-coverage markers");
        };
        let want = markdown();
        let have = &doc[b + BEGIN.len()..e];
        if have != want {
            if std::env::var_os("SLUICE_BLESS").is_some() {
                let new = format!("{}{want}{}", &doc[..b + BEGIN.len()], &doc[e..]);
                std::fs::write(&path, new).unwrap();
            } else {
                panic!(
                    "docs/flink-compat.md's coverage table is stale; run SLUICE_BLESS=1 cargo test -p sluice-sql --lib coverage"
                );
            }
        }
    }
}
