//! Reading `StreamingTable` and `StreamingJob` manifests from YAML files, as `kubectl apply -f`
//! would: files or directories, several documents per file. Other kinds are skipped.

use std::fmt;
use std::path::{Path, PathBuf};

use kube::ResourceExt;

use crate::job::StreamingJob;
use crate::table::StreamingTable;

/// Where a resource was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestSource {
    /// The file.
    pub file: PathBuf,
    /// 1-based line of the document's first line in the file.
    pub line: usize,
    /// The document's text, to locate fields (e.g. `spec.sql`) for error positions.
    pub text: String,
}

impl ManifestSource {
    /// The 1-based file line where the block under `key:` starts (the line after `key: |`), or
    /// the key's own line for an inline value. Used to map SQL positions to file positions.
    pub fn line_of_block(&self, key: &str) -> Option<(usize, bool)> {
        let needle = format!("{key}:");
        self.text.lines().enumerate().find_map(|(i, l)| {
            let t = l.trim_start();
            t.strip_prefix(&needle).map(|rest| {
                let rest = rest.trim();
                let block = rest.starts_with('|') || rest.starts_with('>');
                (self.line + i + usize::from(block), block)
            })
        })
    }
}

impl fmt::Display for ManifestSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// A problem reading manifests; each names the file and line.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The path could not be read.
    #[error("failed to read {path}: {source}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A document is not valid YAML or does not match the resource's schema.
    #[error("{file}:{line}: {kind} {name}: {message}")]
    Invalid {
        /// The file.
        file: PathBuf,
        /// 1-based line of the problem (or of the document).
        line: usize,
        /// `StreamingTable`, `StreamingJob` or `document`.
        kind: String,
        /// The resource's name, if it could be read.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// Every Sluice resource found in some files.
#[derive(Clone, Debug, Default)]
pub struct Manifests {
    /// Tables, with where each came from.
    pub tables: Vec<(StreamingTable, ManifestSource)>,
    /// Jobs, with where each came from.
    pub jobs: Vec<(StreamingJob, ManifestSource)>,
}

impl Manifests {
    /// Reads every `.yaml`/`.yml`/`.json` file given, descending into directories (sorted, not
    /// recursive into hidden entries). Returns all resources, or every error found.
    pub fn load(paths: &[PathBuf]) -> Result<Manifests, Vec<ManifestError>> {
        let mut out = Manifests::default();
        let mut errors = Vec::new();
        for path in paths {
            let files = match collect_files(path) {
                Ok(files) => files,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            for file in files {
                match std::fs::read_to_string(&file) {
                    Ok(text) => out.parse_into(&file, &text, &mut errors),
                    Err(source) => errors.push(ManifestError::Read { path: file, source }),
                }
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    /// Parses the documents of one YAML text (named `file` in errors).
    pub fn parse(file: &Path, text: &str) -> Result<Manifests, Vec<ManifestError>> {
        let mut out = Manifests::default();
        let mut errors = Vec::new();
        out.parse_into(file, text, &mut errors);
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    fn parse_into(&mut self, file: &Path, text: &str, errors: &mut Vec<ManifestError>) {
        for (line, doc) in split_documents(text) {
            let invalid =
                |kind: &str, name: &str, at: usize, message: String| ManifestError::Invalid {
                    file: file.to_owned(),
                    line: at,
                    kind: kind.to_owned(),
                    name: name.to_owned(),
                    message,
                };
            let value: serde_yaml::Value = match serde_yaml::from_str(&doc) {
                Ok(serde_yaml::Value::Null) => continue,
                Ok(v) => v,
                Err(e) => {
                    let at = line + e.location().map_or(0, |l| l.line().saturating_sub(1));
                    errors.push(invalid("document", "", at, e.to_string()));
                    continue;
                }
            };
            let api_version = value
                .get("apiVersion")
                .and_then(|v| v.as_str())
                .unwrap_or("");
            let kind = value
                .get("kind")
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_owned();
            if api_version.split('/').next() != Some(crate::api_version::GROUP) {
                continue;
            }
            let name = value
                .get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(|n| n.as_str())
                .unwrap_or("")
                .to_owned();
            if api_version
                != format!(
                    "{}/{}",
                    crate::api_version::GROUP,
                    crate::api_version::VERSION
                )
            {
                let msg = format!(
                    "unsupported apiVersion {api_version:?}; this version of Sluice reads {}/{}",
                    crate::api_version::GROUP,
                    crate::api_version::VERSION
                );
                errors.push(invalid(&kind, &name, line, msg));
                continue;
            }
            let source = ManifestSource {
                file: file.to_owned(),
                line,
                text: doc.clone(),
            };
            let located = |e: serde_yaml::Error| {
                let at = line + e.location().map_or(0, |l| l.line().saturating_sub(1));
                invalid(&kind, &name, at, e.to_string())
            };
            match kind.as_str() {
                "StreamingTable" => match serde_yaml::from_str::<StreamingTable>(&doc) {
                    Ok(mut t) => {
                        default_namespace(&mut t.metadata);
                        self.tables.push((t, source));
                    }
                    Err(e) => errors.push(located(e)),
                },
                "StreamingJob" => match serde_yaml::from_str::<StreamingJob>(&doc) {
                    Ok(mut j) => {
                        default_namespace(&mut j.metadata);
                        self.jobs.push((j, source));
                    }
                    Err(e) => errors.push(located(e)),
                },
                other => errors.push(invalid(
                    other,
                    &name,
                    line,
                    "unknown kind; expected StreamingTable or StreamingJob".to_owned(),
                )),
            }
        }
    }

    /// The job to run: the one named, or the only one.
    pub fn job(&self, name: Option<&str>) -> Result<&(StreamingJob, ManifestSource), String> {
        let names = || {
            self.jobs
                .iter()
                .map(|(j, _)| j.name_any())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match name {
            Some(n) => self
                .jobs
                .iter()
                .find(|(j, _)| j.name_any() == n)
                .ok_or_else(|| {
                    format!(
                        "no StreamingJob named {n:?} in the manifests (found: {})",
                        names()
                    )
                }),
            None => match self.jobs.as_slice() {
                [only] => Ok(only),
                [] => Err("the manifests hold no StreamingJob".to_owned()),
                _ => Err(format!(
                    "the manifests hold several StreamingJobs ({}); pick one with --job",
                    names()
                )),
            },
        }
    }
}

fn default_namespace(meta: &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) {
    if meta.namespace.is_none() {
        meta.namespace = Some("default".to_owned());
    }
}

fn collect_files(path: &Path) -> Result<Vec<PathBuf>, ManifestError> {
    let read_err = |source| ManifestError::Read {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if !meta.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(read_err)? {
        let p = entry.map_err(read_err)?.path();
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !hidden && p.is_file() && matches!(ext, "yaml" | "yml" | "json") {
            files.push(p);
        }
    }
    files.sort();
    Ok(files)
}

/// Splits a YAML stream on `---` lines; yields (1-based first line, text) per document.
fn split_documents(text: &str) -> Vec<(usize, String)> {
    let mut docs = Vec::new();
    let mut current = String::new();
    let mut start = 1;
    for (i, line) in text.lines().enumerate() {
        if line == "---" || line.starts_with("--- ") {
            docs.push((start, std::mem::take(&mut current)));
            start = i + 2;
            continue;
        }
        current.push_str(line);
        current.push('\n');
    }
    docs.push((start, current));
    docs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn examples() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
    }

    #[test]
    fn stock_ticks_example_loads_with_its_field_names() {
        let m = Manifests::load(&[examples().join("stock-ticks.yaml")]).unwrap();
        assert_eq!(m.tables.len(), 2);
        let (source, at) = &m.tables[0];
        assert_eq!(source.sql_name(), "stock_ticks");
        assert_eq!(source.spec.connector, "kafka");
        assert_eq!(source.spec.columns[0].type_, "TIMESTAMP(3)");
        assert_eq!(
            source.spec.options["scan.startup.mode"].as_str(),
            Some("earliest-offset")
        );
        assert_eq!(at.line, 1);
        let (sink, _) = &m.tables[1];
        assert_eq!(sink.sql_name(), "sink_table");
        assert_eq!(sink.spec.partitioned_by, ["ticker", "dt", "hr"]);
        let (job, _) = m.job(None).unwrap();
        assert_eq!(job.spec.parallelism, 1);
        assert!(
            job.spec
                .sql
                .contains("DATE_FORMAT(event_time, 'yyyy-MM-dd')")
        );
    }

    #[test]
    fn msk_example_loads_secrets_pod_template_and_resources() {
        let m = Manifests::load(&[examples().join("stock-ticks-msk.yaml")]).unwrap();
        let (table, _) = &m.tables[0];
        assert_eq!(table.sql_name(), "stock_ticks");
        assert_eq!(
            table.spec.options_from[0].option,
            "properties.sasl.password"
        );
        assert_eq!(
            table.spec.options_from[0].secret_key_ref.name,
            "msk-credentials"
        );
        let (job, _) = m.job(Some("filter-ticks-prod")).unwrap();
        assert_eq!(job.spec.parallelism, 3);
        assert_eq!(
            job.spec.service_account_name.as_deref(),
            Some("sluice-ticks")
        );
        let overlay = job.spec.pod_template.as_ref().unwrap();
        assert_eq!(
            overlay.spec.as_ref().unwrap()["nodeSelector"]["kubernetes.io/arch"],
            "arm64"
        );
        assert!(!job.spec.resources.as_ref().unwrap().limits.is_empty());
    }

    #[test]
    fn misspelled_field_is_reported_with_file_and_line() {
        let text = "apiVersion: sluice.dev/v1alpha1\nkind: StreamingTable\nmetadata: {name: t}\n---\n\
                    apiVersion: sluice.dev/v1alpha1\nkind: StreamingTable\nmetadata: {name: u}\nspec:\n  connector: kafka\n  columns: []\n  partitionBy: [a]\n";
        let errs = Manifests::parse(Path::new("t.yaml"), text).unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:?}");
        let second = errs[1].to_string();
        assert!(
            second.starts_with("t.yaml:11: StreamingTable u:"),
            "{second}"
        );
        assert!(second.contains("partitionBy"), "{second}");
    }

    #[test]
    fn other_kinds_are_skipped_and_sql_block_is_located() {
        let text = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n---\n\
                    apiVersion: sluice.dev/v1alpha1\nkind: StreamingJob\nmetadata: {name: j}\nspec:\n  sql: |\n    INSERT INTO a\n    SELECT 1\n";
        let m = Manifests::parse(Path::new("j.yaml"), text).unwrap();
        let (_, src) = m.job(None).unwrap();
        assert_eq!(src.line, 5);
        assert_eq!(src.line_of_block("sql"), Some((10, true)));
    }
}
