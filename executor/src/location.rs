//! [`Location`]: where a filesystem sink (or a dead-letter path) keeps files — an S3 bucket
//! and prefix, or a local directory. A leaf module: the option readers of every connector use
//! it without depending on the filesystem connector.

/// Where files go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// `s3://bucket/prefix` (also `s3a://`, `s3n://`).
    S3 {
        /// Bucket.
        bucket: String,
        /// Key prefix without leading or trailing `/` (may be empty).
        prefix: String,
    },
    /// `file:///dir` or a plain path.
    Local(std::path::PathBuf),
}

impl Location {
    /// Parses `path`.
    pub fn parse(path: &str) -> Result<Location, String> {
        for scheme in ["s3://", "s3a://", "s3n://"] {
            if let Some(rest) = path.strip_prefix(scheme) {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(format!("'{path}' has no bucket; write s3://bucket/prefix"));
                }
                return Ok(Location::S3 {
                    bucket: bucket.to_owned(),
                    prefix: prefix.trim_matches('/').to_owned(),
                });
            }
        }
        if let Some(rest) = path.strip_prefix("file://") {
            if !rest.starts_with('/') {
                return Err(format!(
                    "'{path}' is not an absolute file:// URI; write file:///absolute/dir"
                ));
            }
            return Ok(Location::Local(rest.into()));
        }
        if path.contains("://") {
            return Err(format!(
                "'{path}' has an unsupported scheme; use s3://, s3a:// or file://"
            ));
        }
        if path.starts_with('/') {
            return Ok(Location::Local(path.into()));
        }
        Err(format!(
            "'{path}' is not an absolute path; use s3://bucket/prefix, file:///dir or /dir"
        ))
    }

    /// The location as a URI, for messages.
    pub fn uri(&self) -> String {
        match self {
            Location::S3 { bucket, prefix } if prefix.is_empty() => format!("s3://{bucket}"),
            Location::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}"),
            Location::Local(p) => format!("file://{}", p.display()),
        }
    }
}
