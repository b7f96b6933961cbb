//! Amazon MSK's IAM authentication: `properties.sasl.mechanism: AWS_MSK_IAM` (the spelling
//! AWS's documentation gives Java clients) read as librdkafka's SASL/OAUTHBEARER with a token
//! that this module signs, as AWS's reference signers (`aws-msk-iam-sasl-signer-python`, -go,
//! -js) do: a SigV4-presigned `GET https://kafka.<region>.amazonaws.com/?Action=kafka-cluster:Connect`
//! valid for 900 s, with a `User-Agent` parameter, base64url-encoded without padding.
//! Credentials come from the standard AWS chain (IRSA in a pod), looked up again for every
//! token; librdkafka asks for a new token at 80 % of the old one's lifetime.
//!
//! The Java client's companions that users copy with the mechanism
//! (`sasl.jaas.config: software.amazon.msk.auth.iam.IAMLoginModule required;`,
//! `sasl.client.callback.handler.class: software.amazon.msk.auth.iam.IAMClientCallbackHandler`)
//! are accepted and dropped: librdkafka has no such properties.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials as _;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

use crate::options::Options;

/// The mechanism's name as AWS documents it for Java clients.
pub const MECHANISM: &str = "AWS_MSK_IAM";
/// The Sluice option naming the region the token is signed for (not a librdkafka property).
pub const REGION_OPTION: &str = "sluice.msk.region";
/// How long a token is valid, as AWS's signers sign it.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(900);
/// The Java client's login module, the only `sasl.jaas.config` accepted with the mechanism.
const LOGIN_MODULE: &str = "software.amazon.msk.auth.iam.IAMLoginModule";
/// The Java client's callback handler.
const CALLBACK_HANDLER: &str = "software.amazon.msk.auth.iam.IAMClientCallbackHandler";
/// The IAM action the presigned request names.
const ACTION: &str = "kafka-cluster:Connect";
/// The SigV4 signing name of MSK's data plane.
const SIGNING_NAME: &str = "kafka-cluster";
/// librdkafka properties that configure another way to authenticate: they contradict IAM.
const CONFLICTING: &[&str] = &[
    "sasl.username",
    "sasl.password",
    "enable.sasl.oauthbearer.unsecure.jwt",
];
/// Property prefixes that contradict IAM.
const CONFLICTING_PREFIXES: &[&str] = &["sasl.oauthbearer.", "sasl.kerberos."];

/// A table's checked IAM settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MskIam {
    /// `sluice.msk.region`, when set.
    pub region: Option<String>,
}

/// Reads the IAM mechanism and its companions from a table's client properties (prefix
/// removed), rewriting them into what librdkafka takes: `sasl.mechanism=OAUTHBEARER`,
/// `security.protocol=SASL_SSL` (the default here), the Java-only companions removed. Problems
/// are recorded on `o` under the option's full name. `secret_properties` are the properties
/// whose values come from Secrets. Returns the settings when the table uses IAM.
pub fn read(
    o: &mut Options<'_>,
    props: &mut BTreeMap<String, String>,
    secret_properties: &[String],
) -> Option<MskIam> {
    let region = o.string(REGION_OPTION).map(str::to_owned);
    let is_iam = ["sasl.mechanism", "sasl.mechanisms"]
        .into_iter()
        .any(|k| props.get(k).is_some_and(|v| v.trim() == MECHANISM));
    let jaas = props.remove("sasl.jaas.config");
    let handler = props.remove("sasl.client.callback.handler.class");
    if !is_iam {
        // Not IAM: the Java companions of IAM get a pointed message; other values of these
        // Java-only properties the usual one.
        if let Some(j) = &jaas {
            let msg = if j.contains(LOGIN_MODULE) {
                format!(
                    "'properties.sasl.jaas.config' names MSK's IAM login module: set 'properties.sasl.mechanism: {MECHANISM}' as well (it is translated to librdkafka's SASL/OAUTHBEARER)"
                )
            } else {
                "'properties.sasl.jaas.config' is a Java client setting librdkafka does not have: use sasl.mechanism, sasl.username and sasl.password (from a Secret) instead".to_owned()
            };
            o.error("properties.sasl.jaas.config", msg);
        }
        if let Some(h) = &handler {
            let msg = if h.trim() == CALLBACK_HANDLER {
                format!(
                    "'properties.sasl.client.callback.handler.class' names MSK's IAM callback handler: set 'properties.sasl.mechanism: {MECHANISM}' as well"
                )
            } else {
                "'properties.sasl.client.callback.handler.class' is a Java client setting librdkafka does not have".to_owned()
            };
            o.error("properties.sasl.client.callback.handler.class", msg);
        }
        if region.is_some() {
            o.error(
                REGION_OPTION,
                format!(
                    "'{REGION_OPTION}' is the region of MSK's IAM authentication and needs 'properties.sasl.mechanism: {MECHANISM}'"
                ),
            );
        }
        return None;
    }

    if let Some(j) = &jaas
        && let Err(why) = check_jaas(j)
    {
        o.error("properties.sasl.jaas.config", why);
    }
    if let Some(h) = &handler
        && h.trim() != CALLBACK_HANDLER
    {
        o.error(
            "properties.sasl.client.callback.handler.class",
            format!(
                "with '{MECHANISM}', 'properties.sasl.client.callback.handler.class' may only be {CALLBACK_HANDLER} (it is dropped: Sluice signs the IAM token itself), not '{}'",
                h.trim()
            ),
        );
    }
    match props.get("security.protocol").map(|p| p.trim().to_owned()) {
        None => {
            props.insert("security.protocol".to_owned(), "SASL_SSL".to_owned());
        }
        Some(p) if p.eq_ignore_ascii_case("SASL_SSL") => {}
        Some(p) => o.error(
            "properties.security.protocol",
            format!(
                "'properties.security.protocol' is '{p}', but '{MECHANISM}' authenticates over TLS only: set SASL_SSL (MSK's IAM listener, port 9098; 9198 from outside the VPC) or leave it unset"
            ),
        ),
    }
    let conflicting = props
        .keys()
        .chain(secret_properties.iter())
        .filter(|k| {
            CONFLICTING.contains(&k.as_str())
                || CONFLICTING_PREFIXES.iter().any(|p| k.starts_with(p))
        })
        .cloned()
        .collect::<std::collections::BTreeSet<_>>();
    for k in conflicting {
        o.error(
            &format!("properties.{k}"),
            format!(
                "'properties.{k}' configures another way to authenticate; with 'properties.sasl.mechanism: {MECHANISM}' the token is signed from the AWS credential chain: remove it"
            ),
        );
    }
    if let Some(r) = &region
        && !is_region(r)
    {
        o.error(
            REGION_OPTION,
            format!("'{REGION_OPTION}' is '{r}', not an AWS region name (like eu-west-1)"),
        );
    }
    props.remove("sasl.mechanisms");
    props.remove("sasl.mechanism");
    props.insert("sasl.mechanism".to_owned(), "OAUTHBEARER".to_owned());
    Some(MskIam { region })
}

/// `software.amazon.msk.auth.iam.IAMLoginModule required;`, and nothing else.
fn check_jaas(jaas: &str) -> Result<(), String> {
    let words: Vec<&str> = jaas
        .trim()
        .trim_end_matches(';')
        .split_whitespace()
        .collect();
    match words.as_slice() {
        [module, "required"] if *module == LOGIN_MODULE => Ok(()),
        [module, "required", ..] if *module == LOGIN_MODULE => Err(format!(
            "'properties.sasl.jaas.config': options of {LOGIN_MODULE} ({}) are not supported: the executor takes credentials from the standard AWS chain (IRSA: the role of the pod's service account; or AWS_* variables); write 'properties.sasl.jaas.config: {LOGIN_MODULE} required;' or leave it out",
            words[2..].join(" ")
        )),
        _ => Err(format!(
            "with '{MECHANISM}', 'properties.sasl.jaas.config' may only be '{LOGIN_MODULE} required;' (it is dropped: librdkafka has no JAAS), not '{}'",
            jaas.trim()
        )),
    }
}

/// An AWS region name: `eu-west-1`, `us-gov-west-1`, `ap-southeast-4`.
fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// The region in an MSK broker's host name: `b-1.name.abc123.c2.kafka.eu-west-1.amazonaws.com`,
/// `boot-x.c1.kafka-serverless.us-east-1.amazonaws.com` (the way AWS's Java client finds it).
pub fn region_of_brokers(bootstrap_servers: &str) -> Option<String> {
    bootstrap_servers.split(',').find_map(|server| {
        let host = server
            .trim()
            .rsplit_once(':')
            .map_or(server.trim(), |(h, _)| h);
        let labels: Vec<&str> = host.split('.').collect();
        let at = labels
            .iter()
            .position(|l| *l == "kafka" || *l == "kafka-serverless")?;
        let region = labels.get(at + 1)?;
        (labels.get(at + 2) == Some(&"amazonaws") && is_region(region))
            .then(|| (*region).to_owned())
    })
}

/// Errors of signing a token.
#[derive(Debug, thiserror::Error)]
pub enum MskIamError {
    /// No region from the option, the broker names or the AWS chain.
    #[error(
        "no AWS region for the MSK IAM token: set '{REGION_OPTION}' on the table, or AWS_REGION in the executor's environment"
    )]
    NoRegion,
    /// The AWS chain found no credentials provider at all.
    #[error(
        "no AWS credentials provider for the MSK IAM token (the standard AWS chain found none)"
    )]
    NoCredentialsProvider,
    /// The credentials provider failed.
    #[error("failed to load AWS credentials for the MSK IAM token")]
    Credentials(#[source] aws_credential_types::provider::error::CredentialsError),
    /// The signing parameters were incomplete.
    #[error("failed to build the SigV4 parameters of the MSK IAM token")]
    Params(#[source] v4::signing_params::BuildError),
    /// SigV4 signing failed.
    #[error("failed to sign the MSK IAM token")]
    Sign(#[source] aws_sigv4::http_request::SigningError),
    /// The runtime that loads credentials could not start.
    #[error("failed to start the runtime that loads AWS credentials")]
    Runtime(#[source] std::io::Error),
    /// The thread that loads credentials panicked.
    #[error("the thread loading AWS credentials for the MSK IAM token panicked")]
    Panicked,
}

impl MskIamError {
    /// The message with its causes, `: `-separated (librdkafka takes only a text).
    pub fn with_causes(&self) -> String {
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            text.push_str(": ");
            text.push_str(&c.to_string());
            cause = c.source();
        }
        text
    }
}

/// A signed token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthToken {
    /// The base64url text (no padding) librdkafka sends as the bearer token.
    pub token: String,
    /// When it expires: signing time (whole seconds, as `X-Amz-Date`) + 900 s, or earlier if
    /// the credentials expire earlier.
    pub expires_at: SystemTime,
}

/// The `User-Agent` parameter of Sluice's tokens (unsigned, for MSK's logs; AWS's signers
/// name themselves there).
pub fn user_agent() -> String {
    format!("sluice/{}", env!("CARGO_PKG_VERSION"))
}

/// Signs a token for `region` with `credentials` at `at`, as AWS's reference signer does.
pub fn sign_token(
    credentials: &Credentials,
    region: &str,
    at: SystemTime,
    user_agent: &str,
) -> Result<AuthToken, MskIamError> {
    let endpoint = format!("https://kafka.{region}.amazonaws.com/");
    let url = format!("{endpoint}?Action={}", query_escape(ACTION));
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(TOKEN_LIFETIME);
    let identity: Identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SIGNING_NAME)
        .time(at)
        .settings(settings)
        .build()
        .map_err(MskIamError::Params)?
        .into();
    // The empty body's SHA-256 as payload hash, as botocore's `SigV4QueryAuth` (only S3's
    // presigned URLs say UNSIGNED-PAYLOAD); found by the comparison with the reference signer.
    let request = SignableRequest::new(
        "GET",
        url.as_str(),
        std::iter::empty(),
        SignableBody::empty(),
    )
    .map_err(MskIamError::Sign)?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(MskIamError::Sign)?
        .into_parts();
    // The parameters in the order botocore writes them (the signature covers them sorted, so
    // the order only makes the text equal to the reference signer's).
    let order = |name: &str| match name {
        "X-Amz-Security-Token" => 1,
        "X-Amz-Signature" => 2,
        _ => 0,
    };
    let mut signed: Vec<(&str, &str)> = instructions
        .params()
        .iter()
        .map(|(k, v)| (*k, v.as_ref()))
        .collect();
    signed.sort_by_key(|(k, _)| order(k));
    let mut text = url;
    for (k, v) in signed.into_iter().chain([("User-Agent", user_agent)]) {
        text.push('&');
        text.push_str(k);
        text.push('=');
        text.push_str(&query_escape(v));
    }
    use base64::Engine as _;
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text.as_bytes());
    let signed_at =
        UNIX_EPOCH + Duration::from_secs(at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()));
    let mut expires_at = signed_at + TOKEN_LIFETIME;
    if let Some(expiry) = credentials.expiry() {
        expires_at = expires_at.min(expiry);
    }
    Ok(AuthToken { token, expires_at })
}

/// Percent-encoding of a query value as botocore writes it (`urllib.parse.quote`, safe
/// characters `-_.~`).
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Signs tokens for a client's OAUTHBEARER refresh hook (librdkafka's poll thread).
#[derive(Clone, Debug)]
pub struct TokenSource {
    /// The region from the option or the broker names; else the AWS chain's.
    region: Option<String>,
    user_agent: String,
}

impl TokenSource {
    /// Tokens for a client of `bootstrap_servers` with these settings.
    pub fn new(settings: &MskIam, bootstrap_servers: &str) -> TokenSource {
        TokenSource {
            region: settings
                .region
                .clone()
                .or_else(|| region_of_brokers(bootstrap_servers)),
            user_agent: user_agent(),
        }
    }

    /// A token signed now with credentials from the standard AWS chain. Blocks; runs the AWS
    /// chain on a thread of its own, so it may be called from any thread (librdkafka calls it
    /// from whichever polls the client).
    pub fn token(&self) -> Result<AuthToken, MskIamError> {
        std::thread::scope(|scope| {
            let worker = std::thread::Builder::new()
                .name("msk-iam-token".into())
                .spawn_scoped(scope, || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(MskIamError::Runtime)?;
                    runtime.block_on(self.sign_now())
                })
                .map_err(MskIamError::Runtime)?;
            worker.join().unwrap_or(Err(MskIamError::Panicked))
        })
    }

    async fn sign_now(&self) -> Result<AuthToken, MskIamError> {
        let config = crate::connector::filesystem::store::s3::aws_defaults()
            .load()
            .await;
        let region = match &self.region {
            Some(r) => r.clone(),
            None => config
                .region()
                .map(ToString::to_string)
                .ok_or(MskIamError::NoRegion)?,
        };
        let provider = config
            .credentials_provider()
            .ok_or(MskIamError::NoCredentialsProvider)?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(MskIamError::Credentials)?;
        let token = sign_token(&credentials, &region, SystemTime::now(), &self.user_agent)?;
        tracing::info!(
            region,
            access_key_id = credentials.access_key_id(),
            expires_in_s = token
                .expires_at
                .duration_since(SystemTime::now())
                .map_or(0, |d| d.as_secs()),
            "signed an MSK IAM token"
        );
        Ok(token)
    }

    /// The token as rust-rdkafka's OAUTHBEARER hook returns it.
    pub fn oauth_token(&self) -> Result<rdkafka::client::OAuthToken, MskIamError> {
        let token = self.token()?;
        let lifetime_ms = token
            .expires_at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Ok(rdkafka::client::OAuthToken {
            token: token.token,
            // Not sent to the broker (librdkafka's GS2 header has no authzid); for its logs.
            principal_name: String::new(),
            lifetime_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// What [`read`] made of some options: the settings, the rewritten properties, and the
    /// problems as (key, message).
    type Checked = (
        Option<MskIam>,
        BTreeMap<String, String>,
        Vec<(String, String)>,
    );

    /// Reads `properties.*` pairs (prefix added) plus other options.
    fn check(pairs: &[(&str, &str)], other: &[(&str, &str)]) -> Checked {
        let mut values = props(other);
        for (k, v) in pairs {
            values.insert(format!("properties.{k}"), (*v).to_owned());
        }
        let mut o = Options::new("t", &values, Vec::<String>::new());
        o.declare_prefix("properties.");
        let mut p = props(pairs);
        let iam = read(&mut o, &mut p, &[]);
        let errors = o
            .finish("kafka")
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.key, e.message))
            .collect();
        (iam, p, errors)
    }

    #[test]
    fn the_java_client_spelling_becomes_oauthbearer_over_tls_without_the_java_companions() {
        let (iam, p, errors) = check(
            &[
                (
                    "bootstrap.servers",
                    "b-1.c.abc.c2.kafka.eu-west-1.amazonaws.com:9098",
                ),
                ("security.protocol", "SASL_SSL"),
                ("sasl.mechanism", "AWS_MSK_IAM"),
                (
                    "sasl.jaas.config",
                    "software.amazon.msk.auth.iam.IAMLoginModule required;",
                ),
                (
                    "sasl.client.callback.handler.class",
                    "software.amazon.msk.auth.iam.IAMClientCallbackHandler",
                ),
            ],
            &[],
        );
        assert_eq!(errors, []);
        assert_eq!(iam, Some(MskIam { region: None }));
        assert_eq!(
            p,
            props(&[
                (
                    "bootstrap.servers",
                    "b-1.c.abc.c2.kafka.eu-west-1.amazonaws.com:9098"
                ),
                ("security.protocol", "SASL_SSL"),
                ("sasl.mechanism", "OAUTHBEARER"),
            ])
        );
        // The mechanism alone is enough; TLS is the default; the region option is read.
        let (iam, p, errors) = check(
            &[("sasl.mechanisms", "AWS_MSK_IAM")],
            &[("sluice.msk.region", "us-gov-west-1")],
        );
        assert_eq!(errors, []);
        assert_eq!(iam.unwrap().region.as_deref(), Some("us-gov-west-1"));
        assert_eq!(
            p,
            props(&[
                ("security.protocol", "SASL_SSL"),
                ("sasl.mechanism", "OAUTHBEARER"),
            ])
        );
    }

    #[test]
    fn iam_with_plaintext_other_credentials_or_foreign_companions_is_refused_by_key() {
        let (_, _, errors) = check(
            &[
                ("sasl.mechanism", "AWS_MSK_IAM"),
                ("security.protocol", "PLAINTEXT"),
                ("sasl.username", "me"),
                ("sasl.oauthbearer.method", "oidc"),
                (
                    "sasl.jaas.config",
                    "software.amazon.msk.auth.iam.IAMLoginModule required awsRoleArn=\"arn:aws:iam::1:role/x\";",
                ),
                ("sasl.client.callback.handler.class", "com.example.Handler"),
            ],
            &[("sluice.msk.region", "Ireland")],
        );
        let keys: Vec<&str> = errors.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "properties.sasl.jaas.config",
                "properties.sasl.client.callback.handler.class",
                "properties.security.protocol",
                "properties.sasl.oauthbearer.method",
                "properties.sasl.username",
                "sluice.msk.region",
            ],
            "{errors:?}"
        );
        assert!(
            errors[0].1.contains("awsRoleArn") && errors[0].1.contains("IRSA"),
            "{errors:?}"
        );
        for (key, message) in &errors {
            assert!(message.contains(&format!("'{key}'")), "{key}: {message}");
        }
        assert!(
            errors[2].1.contains("'PLAINTEXT'") && errors[2].1.contains("SASL_SSL"),
            "{errors:?}"
        );
        assert!(errors[5].1.contains("not an AWS region"), "{errors:?}");
        for protocol in ["SSL", "SASL_PLAINTEXT"] {
            let (_, _, errors) = check(
                &[
                    ("sasl.mechanism", "AWS_MSK_IAM"),
                    ("security.protocol", protocol),
                ],
                &[],
            );
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(errors[0].0, "properties.security.protocol");
        }
    }

    #[test]
    fn iam_companions_without_the_mechanism_say_what_is_missing() {
        let (iam, p, errors) = check(
            &[
                ("sasl.mechanism", "SCRAM-SHA-512"),
                (
                    "sasl.jaas.config",
                    "software.amazon.msk.auth.iam.IAMLoginModule required;",
                ),
                (
                    "sasl.client.callback.handler.class",
                    "software.amazon.msk.auth.iam.IAMClientCallbackHandler",
                ),
            ],
            &[("sluice.msk.region", "eu-west-1")],
        );
        assert_eq!(iam, None);
        assert_eq!(p, props(&[("sasl.mechanism", "SCRAM-SHA-512")]));
        assert_eq!(errors.len(), 3, "{errors:?}");
        for (key, message) in &errors {
            assert!(message.contains("AWS_MSK_IAM"), "{key}: {message}");
        }
        // A JAAS config of another module is Java-only either way.
        let (_, _, errors) = check(
            &[(
                "sasl.jaas.config",
                "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\";",
            )],
            &[],
        );
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].1.contains("librdkafka does not have"),
            "{errors:?}"
        );
    }

    #[test]
    fn the_region_is_read_from_msk_broker_names() {
        assert_eq!(
            region_of_brokers(
                "b-1.sluice.abc123.c2.kafka.eu-west-1.amazonaws.com:9098,b-2.sluice.abc123.c2.kafka.eu-west-1.amazonaws.com:9098"
            )
            .as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(
            region_of_brokers("boot-abcd.c1.kafka-serverless.us-east-2.amazonaws.com:9098")
                .as_deref(),
            Some("us-east-2")
        );
        assert_eq!(region_of_brokers("127.0.0.1:9092"), None);
        assert_eq!(region_of_brokers("kafka.internal:9092"), None);
        assert!(is_region("ap-southeast-4") && is_region("cn-north-1"));
        assert!(!is_region("eu-west") && !is_region("EU-WEST-1") && !is_region("eu--1"));
    }

    #[test]
    fn the_token_is_a_presigned_connect_url_valid_for_900_seconds() {
        // The same credentials, region and time as the reference signer's token below
        // (aws-msk-iam-sasl-signer-python 1.0.2; tests/msk_iam.rs compares more cases live).
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            Some("tok/en+=".to_owned()),
            None,
            "test",
        );
        let reference = "aHR0cHM6Ly9rYWZrYS5ldS13ZXN0LTEuYW1hem9uYXdzLmNvbS8_QWN0aW9uPWthZmthLWNsdXN0ZXIlM0FDb25uZWN0JlgtQW16LUFsZ29yaXRobT1BV1M0LUhNQUMtU0hBMjU2JlgtQW16LUNyZWRlbnRpYWw9QUtJREVYQU1QTEUlMkYyMDI2MTIwOCUyRmV1LXdlc3QtMSUyRmthZmthLWNsdXN0ZXIlMkZhd3M0X3JlcXVlc3QmWC1BbXotRGF0ZT0yMDI2MTIwOFQwMDMwMTVaJlgtQW16LUV4cGlyZXM9OTAwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCZYLUFtei1TZWN1cml0eS1Ub2tlbj10b2slMkZlbiUyQiUzRCZYLUFtei1TaWduYXR1cmU9YTcyZjlmMzUwODkwN2VkOGRhMmM0OGY0NjQ3Nzg4MjM1Y2FjMjcyNDY3M2MyNzkwMmUyNzI2YjgyNGZkNTM3OSZVc2VyLUFnZW50PWF3cy1tc2staWFtLXNhc2wtc2lnbmVyLXB5dGhvbiUyRjEuMC4y";
        let at = UNIX_EPOCH + Duration::from_millis(1_796_689_815_600);
        let t = sign_token(&credentials, "eu-west-1", at, "sluice/test").unwrap();
        use base64::Engine as _;
        let url = String::from_utf8(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(&t.token)
                .unwrap(),
        )
        .unwrap();
        assert!(
            url.starts_with("https://kafka.eu-west-1.amazonaws.com/?Action=kafka-cluster%3AConnect&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20261208%2Feu-west-1%2Fkafka-cluster%2Faws4_request&X-Amz-Date=20261208T003015Z&X-Amz-Expires=900&"),
            "{url}"
        );
        assert!(
            url.ends_with("&X-Amz-SignedHeaders=host&X-Amz-Security-Token=tok%2Fen%2B%3D&X-Amz-Signature=a72f9f3508907ed8da2c48f4647788235cac2724673c27902e2726b824fd5379&User-Agent=sluice%2Ftest"),
            "{url}"
        );
        assert_eq!(
            sign_token(
                &credentials,
                "eu-west-1",
                at,
                "aws-msk-iam-sasl-signer-python/1.0.2"
            )
            .unwrap()
            .token,
            reference
        );
        assert!(!t.token.contains('=') && !t.token.contains('+') && !t.token.contains('/'));
        assert_eq!(
            t.expires_at,
            UNIX_EPOCH + Duration::from_secs(1_796_689_815 + 900)
        );
        // Credentials that expire sooner bound the token's lifetime.
        let soon = UNIX_EPOCH + Duration::from_secs(1_796_689_815 + 60);
        let short = Credentials::new("AKIDEXAMPLE", "x", None, Some(soon), "test");
        assert_eq!(
            sign_token(&short, "eu-west-1", at, "x").unwrap().expires_at,
            soon
        );
    }
}
