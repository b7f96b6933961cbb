//! The `kafka` connector's options, with Flink's names and defaults (`docs/flink-compat.md` §d).

use std::collections::BTreeMap;

use super::msk_iam::{self, MskIam};
use super::properties::{self, Property};
use crate::format::json::JsonOptions;
use crate::options::Options;

/// The librdkafka version whose property names [`properties`] lists.
const LIBRDKAFKA: &str = "2.12";

/// Where a partition starts when the job has no committed position of its own yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartupMode {
    /// The first offset still in the log.
    EarliestOffset,
    /// The end of the log.
    LatestOffset,
    /// The consumer group's committed offset; without one, `properties.auto.offset.reset`
    /// (none → error).
    GroupOffsets,
    /// The first record with a timestamp ≥ this (epoch ms).
    Timestamp(i64),
    /// Per partition; partitions not listed start at the earliest offset.
    SpecificOffsets(BTreeMap<i32, i64>),
}

/// What `properties.auto.offset.reset` says for `group-offsets` without a committed offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsetReset {
    /// Start at the earliest offset.
    Earliest,
    /// Start at the end.
    Latest,
    /// Fail (Flink's default).
    None,
}

/// Checked options of a Kafka source table.
#[derive(Clone, Debug)]
pub struct KafkaSourceOptions {
    /// Topics (`topic`, `;`-separated), or empty with `topic_pattern`.
    pub topics: Vec<String>,
    /// `topic-pattern` (a regex), as librdkafka's `^...` subscription.
    pub topic_pattern: Option<String>,
    /// The consumer group.
    pub group_id: String,
    /// `scan.startup.mode` and its companions.
    pub startup: StartupMode,
    /// `properties.auto.offset.reset`.
    pub offset_reset: OffsetReset,
    /// Every `properties.*` except those Sluice sets itself, prefix removed.
    pub client: BTreeMap<String, String>,
    /// `properties.*` whose values come from Secrets: (client key, environment variable).
    pub client_secrets: Vec<(String, String)>,
    /// Amazon MSK IAM authentication (`properties.sasl.mechanism: AWS_MSK_IAM`), already
    /// translated in `client` to SASL/OAUTHBEARER: the consumer signs the tokens.
    pub msk_iam: Option<MskIam>,
    /// The value format's options.
    pub json: JsonOptions,
    /// The value format (`value.format`, `format` or the table's spec.format).
    pub format: crate::format::Format,
    /// `sluice.dead-letter.path`: where records that cannot be processed go instead of
    /// stopping the job.
    pub dead_letter: Option<crate::connector::filesystem::options::Location>,
}

/// Client properties Sluice sets itself; users may not.
const RESERVED: &[&str] = &[
    "enable.auto.commit",
    "enable.auto.offset.store",
    "group.id",
    "auto.offset.reset",
];

/// Reads a Kafka source table's options; `default_group` when `properties.group.id` is unset,
/// `spec_format` is the table's `spec.format`.
pub fn read(
    o: &mut Options<'_>,
    default_group: &str,
    secret_env: &[(String, String)],
    spec_format: Option<&str>,
) -> Option<KafkaSourceOptions> {
    let topic = o.string("topic");
    let topic_pattern = o.string("topic-pattern").map(str::to_owned);
    let topics: Vec<String> = topic
        .map(|t| {
            t.split(';')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    match (topic.is_some(), topic_pattern.is_some()) {
        (true, true) => o.error(
            "topic",
            "options 'topic' and 'topic-pattern' shouldn't be set together",
        ),
        (false, false) => o.error("topic", "either 'topic' or 'topic-pattern' must be set"),
        _ => {}
    }
    if let Some(p) = &topic_pattern
        && let Err(e) = regex::Regex::new(p)
    {
        o.error(
            "topic-pattern",
            format!("'topic-pattern' is not a valid regular expression: {e}"),
        );
    }
    o.required("properties.bootstrap.servers");
    let group_id = o
        .string("properties.group.id")
        .unwrap_or(default_group)
        .to_owned();
    let (name, prefix, key) = match (o.string("format"), o.string("value.format")) {
        (Some(f), _) => (f, "", "format"),
        (None, Some(f)) => (f, "value.", "value.format"),
        (None, None) => (spec_format.unwrap_or("json"), "", "format"),
    };
    let format = crate::format::Format::read(name, o, prefix, key);
    let json = format.json();
    let dead_letter = crate::options::dead_letter_path(o, format.ignore_parse_errors());
    if o.string("key.format").is_some() || o.string("key.fields").is_some() {
        o.error(
            "key.format",
            "'key.format'/'key.fields' are not supported yet; read the record key with a metadata column: {name: k, type: STRING, metadata: key}",
        );
    }
    o.choice("value.fields-include", &["ALL"], "ALL");
    o.duration(
        "scan.topic-partition-discovery.interval",
        std::time::Duration::from_secs(300),
    );
    let mode = o.choice(
        "scan.startup.mode",
        &[
            "earliest-offset",
            "latest-offset",
            "group-offsets",
            "timestamp",
            "specific-offsets",
        ],
        "group-offsets",
    );
    let startup = match mode {
        "earliest-offset" => StartupMode::EarliestOffset,
        "latest-offset" => StartupMode::LatestOffset,
        "timestamp" => match o.string("scan.startup.timestamp-millis") {
            None => {
                o.error("scan.startup.timestamp-millis", "'scan.startup.timestamp-millis' is required in 'timestamp' startup mode but missing");
                StartupMode::EarliestOffset
            }
            Some(_) => StartupMode::Timestamp(o.integer("scan.startup.timestamp-millis", 0)),
        },
        "specific-offsets" => {
            match o.string("scan.startup.specific-offsets") {
                None => {
                    o.error("scan.startup.specific-offsets", "'scan.startup.specific-offsets' is required in 'specific-offsets' startup mode but missing");
                    StartupMode::EarliestOffset
                }
                Some(spec) => match parse_specific_offsets(spec) {
                    Ok(m) => {
                        if topics.len() != 1 {
                            o.error("scan.startup.specific-offsets", "currently Kafka source only supports specific offset for single topic");
                        }
                        StartupMode::SpecificOffsets(m)
                    }
                    Err(()) => {
                        o.error(
                        "scan.startup.specific-offsets",
                        format!("invalid properties 'scan.startup.specific-offsets' should follow the format 'partition:0,offset:42;partition:1,offset:300', but is '{spec}'"),
                    );
                        StartupMode::EarliestOffset
                    }
                },
            }
        }
        _ => StartupMode::GroupOffsets,
    };
    o.declare("scan.startup.timestamp-millis");
    o.declare("scan.startup.specific-offsets");
    match o.choice("scan.bounded.mode", &["unbounded"], "unbounded") {
        "unbounded" => {}
        _ => unreachable!(),
    }
    let offset_reset = match o
        .string("properties.auto.offset.reset")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("none") => OffsetReset::None,
        Some("earliest" | "smallest" | "beginning") => OffsetReset::Earliest,
        Some("latest" | "largest" | "end") => OffsetReset::Latest,
        Some(other) => {
            o.error(
                "properties.auto.offset.reset",
                format!("'{other}' is not one of earliest, latest, none"),
            );
            OffsetReset::None
        }
    };
    o.declare_prefix("properties.");
    let mut props: BTreeMap<String, String> =
        o.values_with_prefix("properties.").into_iter().collect();
    let secret_props: Vec<String> = secret_env
        .iter()
        .filter_map(|(opt, _)| opt.strip_prefix("properties.").map(str::to_owned))
        .collect();
    let msk_iam = msk_iam::read(o, &mut props, &secret_props);
    let mut client = BTreeMap::new();
    for (k, v) in props {
        if RESERVED.contains(&k.as_str()) {
            if k != "group.id" && k != "auto.offset.reset" {
                o.error(&format!("properties.{k}"), format!("'properties.{k}' is set by Sluice itself (offsets are committed with the sink's files); remove it"));
            }
            continue;
        }
        match properties::classify(&k) {
            Property::Allowed => {}
            Property::Secret => o.error(
                &format!("properties.{k}"),
                format!("'properties.{k}' is a credential and must not be written in the spec (it would be readable in the resource and the executor's ConfigMap); reference a Secret with spec.optionsFrom: [{{option: properties.{k}, secretKeyRef: {{name: ..., key: ...}}}}]"),
            ),
            Property::Denied(why) => o.error(
                &format!("properties.{k}"),
                format!("'properties.{k}' is not allowed: {why}"),
            ),
            Property::Unknown => o.error(
                &format!("properties.{k}"),
                format!("'properties.{k}' is not a librdkafka consumer property (librdkafka {LIBRDKAFKA}; Java-only settings such as sasl.jaas.config have librdkafka equivalents: sasl.mechanism, sasl.username, sasl.password; Amazon MSK IAM is sasl.mechanism: AWS_MSK_IAM)"),
            ),
        }
        client.insert(k, v);
    }
    let client_secrets: Vec<(String, String)> = secret_env
        .iter()
        .filter_map(|(opt, env)| {
            opt.strip_prefix("properties.")
                .map(|k| (k.to_owned(), env.clone()))
        })
        .collect();
    for (opt, _) in secret_env {
        match opt.strip_prefix("properties.").map(properties::classify) {
            None => o.error(opt, format!("option '{opt}' cannot come from a Secret: only 'properties.*' (e.g. properties.sasl.password) are secret on a kafka table")),
            Some(Property::Denied(why)) => {
                o.error(opt, format!("'{opt}' is not allowed: {why}"))
            }
            Some(Property::Unknown) => o.error(
                opt,
                format!("'{opt}' is not a librdkafka consumer property (librdkafka {LIBRDKAFKA})"),
            ),
            Some(Property::Allowed | Property::Secret) => {}
        }
    }
    // No librdkafka configuration is built here: this runs in the operator too, which must
    // never load what a table names. librdkafka checks the values when the executor starts.
    Some(KafkaSourceOptions {
        topics,
        topic_pattern,
        group_id,
        startup,
        offset_reset,
        client,
        client_secrets,
        msk_iam,
        json,
        format,
        dead_letter,
    })
}

/// `partition:0,offset:42;partition:1,offset:300`.
fn parse_specific_offsets(spec: &str) -> Result<BTreeMap<i32, i64>, ()> {
    let mut out = BTreeMap::new();
    for part in spec.split(';').filter(|s| !s.trim().is_empty()) {
        let (p, off) = part.split_once(',').ok_or(())?;
        let p = p
            .trim()
            .strip_prefix("partition:")
            .ok_or(())?
            .trim()
            .parse()
            .map_err(|_| ())?;
        let off = off
            .trim()
            .strip_prefix("offset:")
            .ok_or(())?
            .trim()
            .parse()
            .map_err(|_| ())?;
        out.insert(p, off);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn reads_the_seed_source_options() {
        let values = opts(&[
            ("topic", "stock-ticks"),
            ("properties.bootstrap.servers", "b-1:9092"),
            ("properties.group.id", "stock-ticks-to-s3"),
            ("scan.startup.mode", "earliest-offset"),
            ("properties.security.protocol", "SASL_SSL"),
            ("properties.sasl.mechanism", "SCRAM-SHA-512"),
            ("properties.sasl.username", "sluice"),
        ]);
        let secrets = vec![(
            "properties.sasl.password".to_owned(),
            "SLUICE_SECRET_T__PASSWORD".to_owned(),
        )];
        let mut o = Options::new(
            "stock_ticks",
            &values,
            ["properties.sasl.password".to_owned()],
        );
        let k = read(&mut o, "sluice-default-job", &secrets, None).unwrap();
        o.finish("kafka").unwrap();
        assert_eq!(k.topics, ["stock-ticks"]);
        assert_eq!(k.group_id, "stock-ticks-to-s3");
        assert_eq!(k.startup, StartupMode::EarliestOffset);
        assert_eq!(k.client["bootstrap.servers"], "b-1:9092");
        assert_eq!(
            k.client_secrets,
            [(
                "sasl.password".to_owned(),
                "SLUICE_SECRET_T__PASSWORD".to_owned()
            )]
        );
    }

    #[test]
    fn a_dead_letter_path_is_an_s3_or_file_location_and_excludes_ignore_parse_errors() {
        use crate::connector::filesystem::options::Location;
        let base = [("topic", "t"), ("properties.bootstrap.servers", "x:1")];
        let check = |extra: &[(&str, &str)]| {
            let values = opts(&[&base[..], extra].concat());
            let mut o = Options::new("t", &values, Vec::<String>::new());
            let k = read(&mut o, "g", &[], None).map(|k| k.dead_letter);
            o.finish("kafka").map(|()| k.flatten())
        };
        assert_eq!(
            check(&[("sluice.dead-letter.path", "s3://dlq/bad/")]).unwrap(),
            Some(Location::S3 {
                bucket: "dlq".into(),
                prefix: "bad".into()
            })
        );
        assert_eq!(check(&[]).unwrap(), None);
        let errors = check(&[("sluice.dead-letter.path", "hdfs://nn/x")]).unwrap_err();
        assert!(
            errors[0].message.contains("invalid dead-letter path"),
            "{errors:?}"
        );
        let errors = check(&[
            ("sluice.dead-letter.path", "file:///tmp/dlq"),
            ("json.ignore-parse-errors", "true"),
        ])
        .unwrap_err();
        assert!(errors[0].message.contains("set only one"), "{errors:?}");
    }

    #[test]
    fn flink_validation_messages() {
        let values = opts(&[
            ("properties.bootstrap.servers", "x:1"),
            ("scan.startup.mode", "specific-offsets"),
            ("scan.startup.specific-offsets", "partition:0;offset:1"),
        ]);
        let mut o = Options::new("t", &values, []);
        read(&mut o, "g", &[], None);
        let errs = o.finish("kafka").unwrap_err();
        let text: Vec<_> = errs.iter().map(|e| e.message.as_str()).collect();
        assert!(
            text.iter()
                .any(|m| m.contains("either 'topic' or 'topic-pattern' must be set")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|m| m.contains(
                "should follow the format 'partition:0,offset:42;partition:1,offset:300'"
            )),
            "{text:?}"
        );
    }

    #[test]
    fn credentials_in_the_spec_and_code_loading_properties_are_refused() {
        let base = [("topic", "t"), ("properties.bootstrap.servers", "x:1")];
        let errors = |extra: &[(&str, &str)], secrets: &[&str]| {
            let values = opts(&[&base[..], extra].concat());
            let secret_env: Vec<(String, String)> = secrets
                .iter()
                .map(|s| ((*s).to_owned(), "SLUICE_SECRET_T__X".to_owned()))
                .collect();
            let mut o = Options::new("t", &values, secrets.iter().map(|s| (*s).to_owned()));
            read(&mut o, "g", &secret_env, None);
            o.finish("kafka").err().unwrap_or_default()
        };
        for key in [
            "sasl.password",
            "ssl.key.password",
            "ssl.key.pem",
            "ssl.keystore.password",
            "sasl.oauthbearer.client.secret",
        ] {
            let e = errors(&[(&format!("properties.{key}"), "hunter2")], &[]);
            assert_eq!(e.len(), 1, "{key}: {e:?}");
            assert_eq!(e[0].key, format!("properties.{key}"));
            assert!(
                e[0].message.contains("is a credential") && e[0].message.contains("optionsFrom"),
                "{e:?}"
            );
            // The same property from a Secret is fine.
            assert_eq!(errors(&[], &[&format!("properties.{key}")]), [], "{key}");
        }
        for (key, why) in [
            ("plugin.library.paths", "dlopen"),
            ("ssl.engine.location", "file"),
            ("ssl.ca.location", "file"),
            ("sasl.kerberos.kinit.cmd", "shell command"),
            ("interceptors", "interceptor"),
        ] {
            let e = errors(&[(&format!("properties.{key}"), "/tmp/evil.so")], &[]);
            assert_eq!(e.len(), 1, "{key}: {e:?}");
            assert!(
                e[0].message.contains("is not allowed") && e[0].message.contains(why),
                "{key}: {e:?}"
            );
            // Not from a Secret either.
            let e = errors(&[], &[&format!("properties.{key}")]);
            assert!(e[0].message.contains("is not allowed"), "{key}: {e:?}");
        }
        // Public TLS material and a user name may stay in the spec.
        assert_eq!(
            errors(
                &[
                    ("properties.ssl.ca.pem", "-----BEGIN CERTIFICATE-----"),
                    ("properties.sasl.username", "sluice"),
                    ("properties.security.protocol", "SASL_SSL"),
                ],
                &[]
            ),
            []
        );
    }

    #[test]
    fn amazon_msk_iam_is_translated_for_librdkafka_and_its_mistakes_are_named_by_key() {
        let base = [
            ("topic", "t"),
            (
                "properties.bootstrap.servers",
                "b-1.x.c2.kafka.eu-west-1.amazonaws.com:9098",
            ),
            ("properties.sasl.mechanism", "AWS_MSK_IAM"),
        ];
        let read_with = |extra: &[(&str, &str)], secrets: &[&str]| {
            let values = opts(&[&base[..], extra].concat());
            let secret_env: Vec<(String, String)> = secrets
                .iter()
                .map(|s| ((*s).to_owned(), "SLUICE_SECRET_T__X".to_owned()))
                .collect();
            let mut o = Options::new("t", &values, secrets.iter().map(|s| (*s).to_owned()));
            let k = read(&mut o, "g", &secret_env, None);
            o.finish("kafka").map(|()| k.unwrap())
        };
        let k = read_with(
            &[(
                "properties.sasl.jaas.config",
                "software.amazon.msk.auth.iam.IAMLoginModule required;",
            )],
            &[],
        )
        .unwrap();
        assert_eq!(k.msk_iam, Some(MskIam { region: None }));
        assert_eq!(k.client["sasl.mechanism"], "OAUTHBEARER");
        assert_eq!(k.client["security.protocol"], "SASL_SSL");
        assert!(!k.client.contains_key("sasl.jaas.config"));
        let errors = read_with(&[("properties.security.protocol", "PLAINTEXT")], &[]).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].key, "properties.security.protocol");
        assert!(errors[0].message.contains("AWS_MSK_IAM"), "{errors:?}");
        // A password from a Secret beside IAM, and an unknown companion.
        let errors = read_with(
            &[("properties.sasl.login.callback.handler.class", "x")],
            &["properties.sasl.password"],
        )
        .unwrap_err();
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert!(keys.contains(&"properties.sasl.password"), "{errors:?}");
        assert!(
            keys.contains(&"properties.sasl.login.callback.handler.class"),
            "{errors:?}"
        );
        // Without the mechanism, the region option is refused by name.
        let values = opts(&[
            ("topic", "t"),
            ("properties.bootstrap.servers", "x:1"),
            ("sluice.msk.region", "eu-west-1"),
        ]);
        let mut o = Options::new("t", &values, []);
        read(&mut o, "g", &[], None);
        let errors = o.finish("kafka").unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].key, "sluice.msk.region");
    }

    #[test]
    fn bad_client_properties_are_named() {
        let values = opts(&[
            ("topic", "t"),
            ("properties.bootstrap.servers", "x:1"),
            ("properties.sasl.jaas.config", "x"),
            ("properties.enable.auto.commit", "true"),
        ]);
        let mut o = Options::new("t", &values, []);
        read(&mut o, "g", &[], None);
        let errs = o.finish("kafka").unwrap_err();
        assert!(errs.iter().any(|e| e.key == "properties.sasl.jaas.config" && e.message.contains("librdkafka")), "{errs:?}");
        assert!(
            errs.iter()
                .any(|e| e.key == "properties.enable.auto.commit"),
            "{errs:?}"
        );
        assert_eq!(
            parse_specific_offsets("partition:0,offset:42;partition:1,offset:300").unwrap()[&1],
            300
        );
    }
}
