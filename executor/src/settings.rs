//! Executor settings: `StreamingJob.spec.executor`, checked once.

use std::time::Duration;

use sluice_crds::ExecutorSettings;

use crate::connector::filesystem::options::RollingPolicy;
use crate::options::{parse_duration, parse_memory_size, parse_quantity_bytes};

/// Checked executor settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// How often rolled files are published and offsets committed.
    pub commit_interval: Duration,
    /// Memory for buffered records and uploads; `None` = derive from the container's limit.
    pub memory_budget: Option<u64>,
    /// Rolling defaults for sinks that do not set `sink.rolling-policy.*`.
    pub rolling: RollingDefaults,
    /// How often status is written back.
    pub status_interval: Duration,
    /// `/metrics` and `/healthz` port.
    pub metrics_port: u16,
    /// Log filter.
    pub log_level: String,
}

/// Rolling options set at the job level; `None` = the connector's default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RollingDefaults {
    /// File size.
    pub file_size: Option<u64>,
    /// Rollover interval.
    pub rollover_interval: Option<Duration>,
    /// Inactivity interval.
    pub inactivity_interval: Option<Duration>,
}

impl RollingDefaults {
    /// The policy a table ends up with: its own options win over these defaults.
    pub fn apply(&self, table: &RollingPolicy, table_sets: impl Fn(&str) -> bool) -> RollingPolicy {
        let mut p = table.clone();
        if !table_sets("sink.rolling-policy.file-size")
            && let Some(v) = self.file_size
        {
            p.file_size = v;
        }
        if !table_sets("sink.rolling-policy.rollover-interval")
            && let Some(v) = self.rollover_interval
        {
            p.rollover_interval = v;
        }
        if !table_sets("sink.rolling-policy.inactivity-interval")
            && let Some(v) = self.inactivity_interval
        {
            p.inactivity_interval = v;
        }
        p
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            commit_interval: Duration::from_secs(10),
            memory_budget: None,
            rolling: RollingDefaults::default(),
            status_interval: Duration::from_secs(10),
            metrics_port: 9464,
            log_level: "info".to_owned(),
        }
    }
}

impl Settings {
    /// Reads `spec.executor`; every problem is `(field, message)`.
    pub fn read(spec: Option<&ExecutorSettings>) -> Result<Settings, Vec<(String, String)>> {
        let mut s = Settings::default();
        let Some(spec) = spec else { return Ok(s) };
        let mut errors = Vec::new();
        let mut duration = |field: &str, v: &Option<String>, target: &mut Duration| {
            if let Some(text) = v {
                match parse_duration(text) {
                    Ok(d) if d >= Duration::from_millis(100) => *target = d,
                    Ok(_) => errors.push((
                        field.to_owned(),
                        format!("{field} {text:?} is too short; use at least 100ms"),
                    )),
                    Err(e) => errors.push((field.to_owned(), format!("{field} {text:?}: {e}"))),
                }
            }
        };
        duration(
            "spec.executor.commitInterval",
            &spec.commit_interval,
            &mut s.commit_interval,
        );
        duration(
            "spec.executor.statusInterval",
            &spec.status_interval,
            &mut s.status_interval,
        );
        if let Some(text) = &spec.memory_budget {
            match parse_quantity_bytes(text) {
                Ok(b) if b >= 16 << 20 => s.memory_budget = Some(b),
                Ok(_) => errors.push((
                    "spec.executor.memoryBudget".into(),
                    format!("memoryBudget {text:?} is too small; use at least 16Mi"),
                )),
                Err(e) => errors.push(("spec.executor.memoryBudget".into(), e)),
            }
        }
        if let Some(r) = &spec.rolling_policy {
            if let Some(text) = &r.file_size {
                match parse_memory_size(text) {
                    Ok(v) if v > 0 => s.rolling.file_size = Some(v),
                    Ok(_) => errors.push((
                        "spec.executor.rollingPolicy.fileSize".into(),
                        "fileSize must be greater than 0".into(),
                    )),
                    Err(e) => errors.push((
                        "spec.executor.rollingPolicy.fileSize".into(),
                        format!("fileSize {text:?}: {e}"),
                    )),
                }
            }
            for (field, v, target) in [
                (
                    "spec.executor.rollingPolicy.rolloverInterval",
                    &r.rollover_interval,
                    &mut s.rolling.rollover_interval,
                ),
                (
                    "spec.executor.rollingPolicy.inactivityInterval",
                    &r.inactivity_interval,
                    &mut s.rolling.inactivity_interval,
                ),
            ] {
                if let Some(text) = v {
                    match parse_duration(text) {
                        Ok(d) => *target = Some(d),
                        Err(e) => errors.push((field.to_owned(), format!("{text:?}: {e}"))),
                    }
                }
            }
        }
        if let Some(p) = spec.metrics_port {
            match u16::try_from(p) {
                Ok(p) if p >= 1024 => s.metrics_port = p,
                _ => errors.push((
                    "spec.executor.metricsPort".into(),
                    format!("metricsPort {p} is not a port from 1024 to 65535"),
                )),
            }
        }
        if let Some(l) = &spec.log_level {
            s.log_level = l.clone();
        }
        if errors.is_empty() {
            Ok(s)
        } else {
            Err(errors)
        }
    }
}
