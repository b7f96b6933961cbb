//! Errors of connectors: what failed, its cause, and whether trying again can help.
//!
//! A connector says what kind of failure it met ([`ErrorKind`]); the pipeline acts on that
//! kind and never on the text: a transient failure is one the connector retries with backoff
//! itself (the pipeline logs it and keeps the job running), a permanent one fails the job with
//! the message (and its causes) in the job's status.

use std::error::Error;
use std::fmt;

/// A cause of any type, kept for the chain of `source()`.
pub type Cause = Box<dyn Error + Send + Sync + 'static>;

/// Whether trying again can help.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A broker or store unreachable, busy or throttling: the connector retries with backoff.
    Transient,
    /// A failure that retrying cannot fix (access denied, no such bucket, a bad
    /// configuration, a lost position): the job fails and says why.
    Permanent,
}

impl ErrorKind {
    /// `transient` / `permanent`, for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Transient => "transient",
            ErrorKind::Permanent => "permanent",
        }
    }
}

/// A connector's failure: what was attempted, the cause, and its [`ErrorKind`].
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ConnectorError {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Cause>,
}

impl ConnectorError {
    /// A failure that retrying cannot fix.
    pub fn permanent(message: impl Into<String>) -> ConnectorError {
        ConnectorError {
            kind: ErrorKind::Permanent,
            message: message.into(),
            source: None,
        }
    }

    /// A failure that may pass: the connector retries.
    pub fn transient(message: impl Into<String>) -> ConnectorError {
        ConnectorError {
            kind: ErrorKind::Transient,
            message: message.into(),
            source: None,
        }
    }

    /// The same failure, caused by `source`.
    pub fn caused_by(mut self, source: impl Into<Cause>) -> ConnectorError {
        self.source = Some(source.into());
        self
    }

    /// Whether trying again can help.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether the job must fail.
    pub fn is_permanent(&self) -> bool {
        self.kind == ErrorKind::Permanent
    }
}

/// An error with every cause after it, `: `-separated (`failed to open the sink: cannot
/// create /x: Permission denied`), for messages that people read (logs, the job's status).
pub struct Report<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_carries_every_cause_and_the_kind_stays_with_the_error() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "Permission denied");
        let e = ConnectorError::permanent("cannot create /x").caused_by(io);
        assert_eq!(e.to_string(), "cannot create /x");
        assert_eq!(
            Report(&e).to_string(),
            "cannot create /x: Permission denied"
        );
        assert_eq!(e.kind(), ErrorKind::Permanent);
        assert!(e.source().is_some());
        let t = ConnectorError::transient("broker unreachable");
        assert_eq!(t.kind().name(), "transient");
        assert!(!t.is_permanent());
    }
}
