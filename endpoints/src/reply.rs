//! [`Reply`]: what an endpoint answers.

/// The content type of the OpenMetrics text that `prometheus_client::encoding::text::encode`
/// writes (it ends with `# EOF`; `text/plain; version=0.0.4` would announce another format).
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What an endpoint answers: a status, a content type and a body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// `content-type`.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

impl Reply {
    /// `200`, plain text.
    pub fn ok(body: impl Into<String>) -> Reply {
        Reply::text(200, body)
    }

    /// Plain text with `status`.
    pub fn text(status: u16, body: impl Into<String>) -> Reply {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
        }
    }

    /// `200`, OpenMetrics text.
    pub fn metrics(body: String) -> Reply {
        Reply {
            status: 200,
            content_type: OPENMETRICS,
            body,
        }
    }

    /// `404`, naming the paths that exist.
    pub fn not_found(paths: &[&str]) -> Reply {
        Reply::text(404, format!("not found; try {}\n", paths.join(", ")))
    }
}
