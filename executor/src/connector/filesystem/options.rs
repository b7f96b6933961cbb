//! The `filesystem` connector's options, with Flink's names and defaults
//! (`docs/flink-compat.md` §c.3), plus S3 settings.

use std::time::Duration;

use crate::format::json::JsonOptions;
use crate::options::Options;

use crate::partition::DEFAULT_PARTITION_NAME;

pub use crate::location::Location;

/// When open files are rolled (finished and published).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollingPolicy {
    /// `sink.rolling-policy.file-size`.
    pub file_size: u64,
    /// `sink.rolling-policy.rollover-interval`.
    pub rollover_interval: Duration,
    /// `sink.rolling-policy.inactivity-interval`.
    pub inactivity_interval: Duration,
    /// `sink.rolling-policy.check-interval`.
    pub check_interval: Duration,
}

impl Default for RollingPolicy {
    fn default() -> Self {
        RollingPolicy {
            file_size: 128 << 20,
            rollover_interval: Duration::from_secs(30 * 60),
            inactivity_interval: Duration::from_secs(30 * 60),
            check_interval: Duration::from_secs(60),
        }
    }
}

/// S3 client settings (Flink's `s3.*` keys; credentials normally come from the AWS chain).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct S3Settings {
    /// `s3.endpoint` (else `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` / AWS).
    pub endpoint: Option<String>,
    /// `s3.path.style.access`.
    pub path_style: bool,
    /// `s3.region` (else the AWS chain, else `us-east-1`).
    pub region: Option<String>,
    /// `s3.access-key` (prefer the AWS chain or a Secret).
    pub access_key: Option<String>,
    /// Environment variable holding `s3.secret-key` (from `optionsFrom`).
    pub secret_key_env: Option<String>,
    /// Environment variable holding `s3.access-key`, when it comes from a Secret.
    pub access_key_env: Option<String>,
    /// `s3.upload.part-size`: multipart upload part size.
    pub part_size: u64,
}

/// Checked options of a filesystem sink table.
#[derive(Clone, Debug)]
pub struct FilesystemSinkOptions {
    /// `path`.
    pub location: Location,
    /// `partition.default-name`.
    pub default_partition_name: String,
    /// `sink.rolling-policy.*`.
    pub rolling: RollingPolicy,
    /// S3 settings.
    pub s3: S3Settings,
    /// The format's options.
    pub json: JsonOptions,
    /// The format (`format` or the table's spec.format).
    pub format: crate::format::Format,
    /// `sluice.compression`.
    pub compression: crate::format::compression::Compression,
    /// `sink.rolling-policy.*` keys the table sets itself (they win over job defaults).
    pub explicit: Vec<String>,
}

/// Reads a filesystem sink table's options; `spec_format` is the table's `spec.format`.
pub fn read(
    o: &mut Options<'_>,
    secret_env: &[(String, String)],
    spec_format: Option<&str>,
) -> Option<FilesystemSinkOptions> {
    let location = match o.required("path").map(Location::parse) {
        Some(Ok(l)) => Some(l),
        Some(Err(e)) => {
            o.error("path", e);
            None
        }
        None => None,
    };
    let name = o.string("format").or(spec_format).unwrap_or("json");
    let format = crate::format::Format::read(name, o, "", "format");
    let json = format.json();
    let compression = crate::format::compression::Compression::read(o);
    let default_partition_name = o
        .string("partition.default-name")
        .unwrap_or(DEFAULT_PARTITION_NAME)
        .to_owned();
    if default_partition_name.is_empty() {
        o.error(
            "partition.default-name",
            "'partition.default-name' must not be empty",
        );
    }
    let defaults = RollingPolicy::default();
    let rolling = RollingPolicy {
        file_size: o.memory("sink.rolling-policy.file-size", defaults.file_size),
        rollover_interval: o.duration(
            "sink.rolling-policy.rollover-interval",
            defaults.rollover_interval,
        ),
        inactivity_interval: o.duration(
            "sink.rolling-policy.inactivity-interval",
            defaults.inactivity_interval,
        ),
        check_interval: o.duration(
            "sink.rolling-policy.check-interval",
            defaults.check_interval,
        ),
    };
    if rolling.file_size == 0 {
        o.error(
            "sink.rolling-policy.file-size",
            "'sink.rolling-policy.file-size' must be greater than 0",
        );
    }
    // Accepted for compatibility: Sluice writes from every executor and never shuffles.
    o.boolean("sink.shuffle-by-partition.enable", false);
    if o.is_set("sink.parallelism") && o.integer("sink.parallelism", 1) < 1 {
        o.error(
            "sink.parallelism",
            "the parallelism of an operator must be at least 1",
        );
    }
    if o.boolean("auto-compaction", false) {
        o.error(
            "auto-compaction",
            "'auto-compaction' is not supported: Sluice sizes files with sink.rolling-policy.*",
        );
    }
    o.declare("compaction.file-size");
    for key in [
        "sink.partition-commit.policy.kind",
        "sink.partition-commit.trigger",
        "partition.time-extractor.kind",
    ] {
        if o.string(key).is_some() {
            o.error(key, format!("'{key}' (partition commit) is not supported yet; files are published as they roll"));
        }
    }
    let allow_http = o.boolean("s3.endpoint.allow-http", false);
    let endpoint = o.string("s3.endpoint");
    if let Some(e) = endpoint
        && let Err(why) = check_endpoint(e, allow_http)
    {
        o.error(
            "s3.endpoint",
            format!("'s3.endpoint' {e:?} is refused: {why}"),
        );
    }
    let s3 = S3Settings {
        endpoint: endpoint.map(str::to_owned),
        path_style: o.boolean("s3.path.style.access", false),
        region: o.string("s3.region").map(str::to_owned),
        access_key: o.string("s3.access-key").map(str::to_owned),
        access_key_env: secret_env
            .iter()
            .find(|(k, _)| k == "s3.access-key")
            .map(|(_, e)| e.clone()),
        secret_key_env: secret_env
            .iter()
            .find(|(k, _)| k == "s3.secret-key")
            .map(|(_, e)| e.clone()),
        part_size: o.memory("s3.upload.part-size", 8 << 20),
    };
    o.declare("s3.secret-key");
    if o.string("s3.secret-key").is_some() {
        o.error("s3.secret-key", "'s3.secret-key' must not be written in the spec; reference a Secret with spec.optionsFrom");
    }
    if s3.part_size < 5 << 20 {
        o.error(
            "s3.upload.part-size",
            "'s3.upload.part-size' must be at least 5mb (S3's minimum part size)",
        );
    }
    for (opt, _) in secret_env {
        if opt != "s3.secret-key" && opt != "s3.access-key" {
            o.error(opt, format!("option '{opt}' cannot come from a Secret on a filesystem table (only s3.access-key, s3.secret-key)"));
        }
    }
    let explicit = [
        "sink.rolling-policy.file-size",
        "sink.rolling-policy.rollover-interval",
        "sink.rolling-policy.inactivity-interval",
    ]
    .into_iter()
    .filter(|k| o.is_set(k))
    .map(str::to_owned)
    .collect();
    Some(FilesystemSinkOptions {
        location: location?,
        default_partition_name,
        rolling,
        s3,
        json,
        format,
        compression,
        explicit,
    })
}

/// Checks an `s3.endpoint`: signed requests (and, with `s3.access-key`, credentials) go there,
/// so it must be `https://`, or `http://` on a loopback address (a local test store), or
/// `http://` with `s3.endpoint.allow-http: true`; and never a link-local address, where cloud
/// instance metadata services answer (169.254.169.254, fd00:ec2::254). Host names are not
/// resolved here (validation also runs in the operator); see docs/security.md.
pub fn check_endpoint(endpoint: &str, allow_http: bool) -> Result<(), String> {
    use std::net::IpAddr;
    let (scheme, rest) = endpoint
        .split_once("://")
        .ok_or("write it as https://host[:port]")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("it must not hold user information (credentials come from the AWS chain or spec.optionsFrom)".to_owned());
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    if host.is_empty() {
        return Err("it has no host".to_owned());
    }
    let host = host.to_ascii_lowercase();
    let ip: Option<IpAddr> = host.parse().ok();
    let ip = ip.map(|ip| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    });
    let link_local = match ip {
        Some(IpAddr::V4(v4)) => v4.is_link_local(),
        // fe80::/10, and fd00:ec2::/32 where EC2 serves its metadata over IPv6.
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            (s[0] & 0xffc0) == 0xfe80 || (s[0] == 0xfd00 && s[1] == 0x0ec2)
        }
        None => matches!(
            host.trim_end_matches('.'),
            "metadata.google.internal"
                | "metadata"
                | "instance-data"
                | "instance-data.ec2.internal"
        ),
    };
    if link_local {
        return Err(
            "it is a link-local or instance-metadata address; signed requests must not go to the node's metadata service"
                .to_owned(),
        );
    }
    let loopback = host == "localhost" || ip.is_some_and(|ip| ip.is_loopback());
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" if loopback || allow_http => Ok(()),
        "http" => Err("plain http:// sends signed requests unencrypted; use https://, or set 's3.endpoint.allow-http' to 'true' for a store inside a trusted network (http://127.0.0.1 and http://localhost are always allowed)".to_owned()),
        other => Err(format!("the scheme '{other}' is not http or https")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn s3_endpoints_must_be_https_or_loopback_and_never_link_local() {
        for ok in [
            "https://s3.eu-west-1.amazonaws.com",
            "https://minio.storage:9000/",
            "http://127.0.0.1:5000",
            "http://localhost:9000",
            "http://[::1]:9000",
        ] {
            assert_eq!(check_endpoint(ok, false), Ok(()), "{ok}");
        }
        assert_eq!(check_endpoint("http://minio.storage:9000", true), Ok(()));
        let refused = |e: &str, allow: bool| check_endpoint(e, allow).unwrap_err();
        assert!(refused("http://minio.storage:9000", false).contains("s3.endpoint.allow-http"));
        for metadata in [
            "http://169.254.169.254/latest",
            "https://169.254.170.2",
            "http://[fd00:ec2::254]",
            "https://[fe80::1]:443",
            "http://[::ffff:169.254.169.254]",
            "http://metadata.google.internal",
        ] {
            assert!(refused(metadata, true).contains("link-local"), "{metadata}");
        }
        assert!(refused("https://user:pw@s3.example.com", false).contains("user information"));
        assert!(refused("ftp://s3.example.com", true).contains("scheme"));
        assert!(refused("s3.example.com", false).contains("https://"));
    }

    #[test]
    fn a_refused_endpoint_is_reported_as_an_option_problem() {
        let values: BTreeMap<String, String> = [
            ("path", "s3://b/p"),
            ("s3.endpoint", "http://169.254.169.254"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let mut o = Options::new("sink_table", &values, []);
        read(&mut o, &[], None);
        let errors = o.finish("filesystem").unwrap_err();
        assert_eq!(errors[0].key, "s3.endpoint", "{errors:?}");
        assert!(errors[0].message.contains("link-local"), "{errors:?}");
    }

    #[test]
    fn locations() {
        assert_eq!(
            Location::parse("s3a://my-bucket/stock-ticks/"),
            Ok(Location::S3 {
                bucket: "my-bucket".into(),
                prefix: "stock-ticks".into()
            })
        );
        assert_eq!(
            Location::parse("s3://b"),
            Ok(Location::S3 {
                bucket: "b".into(),
                prefix: String::new()
            })
        );
        assert_eq!(
            Location::parse("file:///tmp/x"),
            Ok(Location::Local("/tmp/x".into()))
        );
        assert!(
            Location::parse("hdfs://nn/x")
                .unwrap_err()
                .contains("unsupported scheme")
        );
        assert!(Location::parse("relative/x").is_err());
    }

    #[test]
    fn reads_the_seed_sink_options() {
        let values: BTreeMap<String, String> = [
            ("path", "s3://my-bucket/stock-ticks"),
            ("sink.rolling-policy.file-size", "128MB"),
            ("sink.rolling-policy.rollover-interval", "15min"),
            ("sink.rolling-policy.inactivity-interval", "1min"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let mut o = Options::new("sink_table", &values, []);
        let f = read(&mut o, &[], None).unwrap();
        o.finish("filesystem").unwrap();
        assert_eq!(f.rolling.rollover_interval, Duration::from_secs(900));
        assert_eq!(f.rolling.inactivity_interval, Duration::from_secs(60));
        assert_eq!(f.default_partition_name, "__DEFAULT_PARTITION__");
    }
}
