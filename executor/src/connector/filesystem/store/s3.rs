//! The S3 store (aws-sdk-s3). Staged uploads are multipart uploads: parts are durable but
//! invisible until `CompleteMultipartUpload`, which is sent with `If-None-Match: *` so that an
//! existing object is never replaced.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;

use super::outcome::{Created, Part, StoreError};
use super::retry::{Attempt, retry};
use crate::connector::filesystem::options::S3Settings;

/// The AWS SDK's hyper 1 HTTPS client with rustls on ring, the crypto provider kube uses too
/// (the SDK's default client would link aws-lc-rs; see the workspace Cargo.toml). Built as
/// aws-smithy-runtime's `default_https_client` builds its own: the connector settings
/// (timeouts) and sleep of each SDK client, trusted roots from the platform, and proxies from
/// `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`.
pub fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    use aws_smithy_http_client::{Builder, ConnectorBuilder};
    Builder::new().build_with_connector_fn(|settings, runtime_components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::Ring));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = runtime_components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// The AWS SDK's standard configuration loader (environment, profile, IRSA web identity,
/// SSO, instance metadata) with [`http_client`]: every AWS client of the executor, its tests
/// and the testkit starts from this.
pub fn aws_defaults() -> aws_config::ConfigLoader {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http_client())
}

/// A bucket and a key prefix.
#[derive(Clone, Debug)]
pub struct S3Store {
    client: Client,
    bucket: String,
}

impl S3Store {
    /// A client for `bucket` with the standard AWS chain (environment, profile, IRSA web
    /// identity, instance metadata) for credentials and region, overridden by the table's
    /// `s3.*` options; `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL` select an S3-compatible server.
    pub async fn connect(bucket: &str, settings: &S3Settings) -> Result<S3Store, String> {
        let mut loader = aws_defaults()
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(60))
                    .build(),
            );
        if let Some(region) = &settings.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        let access_key = match (&settings.access_key, &settings.access_key_env) {
            (Some(k), _) => Some(k.clone()),
            (None, Some(env)) => Some(std::env::var(env).map_err(|_| {
                format!("environment variable {env} (s3.access-key from a Secret) is not set")
            })?),
            (None, None) => None,
        };
        if let Some(key) = access_key {
            let env = settings
                .secret_key_env
                .as_deref()
                .unwrap_or("AWS_SECRET_ACCESS_KEY");
            let secret = std::env::var(env).map_err(|_| {
                format!("s3.access-key is set but the secret key is not: set {env}")
            })?;
            loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
                key,
                secret,
                None,
                None,
                "sluice-table-options",
            ));
        }
        let shared = loader.load().await;
        let mut config = aws_sdk_s3::config::Builder::from(&shared);
        if shared.region().is_none() {
            config = config.region(aws_config::Region::new("us-east-1"));
        }
        if let Some(endpoint) = &settings.endpoint {
            config = config.endpoint_url(endpoint);
        }
        let path_style = settings.path_style
            || std::env::var("SLUICE_S3_PATH_STYLE").is_ok_and(|v| v == "true")
            || std::env::var("AWS_S3_FORCE_PATH_STYLE").is_ok_and(|v| v == "true");
        config = config.force_path_style(path_style);
        Ok(S3Store {
            client: Client::from_conf(config.build()),
            bucket: bucket.to_owned(),
        })
    }

    /// The same client for another bucket.
    pub fn with_bucket(&self, bucket: &str) -> S3Store {
        S3Store {
            client: self.client.clone(),
            bucket: bucket.to_owned(),
        }
    }

    pub(super) fn uri(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    pub(super) async fn put_if_absent(
        &self,
        key: &str,
        data: Bytes,
    ) -> Result<Created, StoreError> {
        retry("PUT", &self.uri(key), || async {
            match self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .if_none_match("*")
                .body(ByteStream::from(data.clone()))
                .send()
                .await
            {
                Ok(_) => Ok(Created::Created),
                Err(e) if status(&e) == Some(412) => Ok(Created::Exists),
                Err(e) => Err(classify(&e)),
            }
        })
        .await
    }

    pub(super) async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        retry("GET", &self.uri(key), || async {
            match self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
            {
                Ok(out) => out
                    .body
                    .collect()
                    .await
                    .map(|b| Some(b.into_bytes()))
                    .map_err(|e| Attempt::Transient(e.to_string())),
                Err(e) if is_not_found(&e) => Ok(None),
                Err(e) => Err(classify(&e)),
            }
        })
        .await
    }

    pub(super) async fn size(&self, key: &str) -> Result<Option<u64>, StoreError> {
        retry("HEAD", &self.uri(key), || async {
            match self
                .client
                .head_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
            {
                Ok(out) => Ok(Some(out.content_length.unwrap_or(0).max(0) as u64)),
                Err(e) if is_not_found(&e) => Ok(None),
                Err(e) => Err(classify(&e)),
            }
        })
        .await
    }

    pub(super) async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = retry("LIST", &self.uri(prefix), || async {
                let mut req = self
                    .client
                    .list_objects_v2()
                    .bucket(&self.bucket)
                    .prefix(prefix)
                    .max_keys(limit.min(1000) as i32);
                if let Some(s) = start_after {
                    req = req.start_after(s);
                }
                if let Some(t) = &token {
                    req = req.continuation_token(t);
                }
                req.send().await.map_err(|e| classify(&e))
            })
            .await?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
            token = page.next_continuation_token().map(str::to_owned);
            if token.is_none() || keys.len() >= limit {
                keys.truncate(limit);
                return Ok(keys);
            }
        }
    }

    pub(super) async fn delete(&self, key: &str) -> Result<(), StoreError> {
        retry("DELETE", &self.uri(key), || async {
            match self
                .client
                .delete_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(e) if is_not_found(&e) => Ok(()),
                Err(e) => Err(classify(&e)),
            }
        })
        .await
    }

    pub(super) async fn begin_upload(&self, key: &str) -> Result<String, StoreError> {
        retry("CreateMultipartUpload", &self.uri(key), || async {
            let out = self
                .client
                .create_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| classify(&e))?;
            out.upload_id
                .ok_or_else(|| Attempt::Transient("no upload id in the answer".to_owned()))
        })
        .await
    }

    pub(super) async fn upload_part(
        &self,
        key: &str,
        upload: &str,
        number: i32,
        data: Bytes,
    ) -> Result<Part, StoreError> {
        let size = data.len() as u64;
        retry("UploadPart", &self.uri(key), || async {
            let out = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload)
                .part_number(number)
                .body(ByteStream::from(data.clone()))
                .send()
                .await
                .map_err(|e| {
                    if code(&e) == Some("NoSuchUpload") {
                        Attempt::UploadGone
                    } else {
                        classify(&e)
                    }
                })?;
            Ok(Part {
                number,
                etag: out.e_tag.unwrap_or_default(),
                size,
            })
        })
        .await
    }

    pub(super) async fn complete_upload(
        &self,
        key: &str,
        upload: &str,
        parts: &[Part],
    ) -> Result<Created, StoreError> {
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .iter()
                    .map(|p| {
                        CompletedPart::builder()
                            .part_number(p.number)
                            .e_tag(&p.etag)
                            .build()
                    })
                    .collect(),
            ))
            .build();
        retry("CompleteMultipartUpload", &self.uri(key), || async {
            match self
                .client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload)
                .if_none_match("*")
                .multipart_upload(completed.clone())
                .send()
                .await
            {
                Ok(_) => Ok(Created::Created),
                Err(e) if status(&e) == Some(412) => Ok(Created::Exists),
                // Completed before (by us before a crash, or by another executor rolling our
                // commit forward): the object is there.
                Err(e) if code(&e) == Some("NoSuchUpload") => Ok(Created::Exists),
                Err(e) => Err(classify(&e)),
            }
        })
        .await
    }

    pub(super) async fn abort_upload(&self, key: &str, upload: &str) -> Result<(), StoreError> {
        retry("AbortMultipartUpload", &self.uri(key), || async {
            match self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload)
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(e) if code(&e) == Some("NoSuchUpload") || status(&e) == Some(404) => Ok(()),
                Err(e) => Err(classify(&e)),
            }
        })
        .await
    }

    pub(super) async fn list_uploads(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut out = Vec::new();
        let mut markers: (Option<String>, Option<String>) = (None, None);
        loop {
            let page = retry("ListMultipartUploads", &self.uri(prefix), || async {
                let mut req = self
                    .client
                    .list_multipart_uploads()
                    .bucket(&self.bucket)
                    .prefix(prefix);
                if let Some(k) = &markers.0 {
                    req = req.key_marker(k);
                }
                if let Some(u) = &markers.1 {
                    req = req.upload_id_marker(u);
                }
                req.send().await.map_err(|e| classify(&e))
            })
            .await?;
            out.extend(
                page.uploads()
                    .iter()
                    .filter_map(|u| Some((u.key()?.to_owned(), u.upload_id()?.to_owned()))),
            );
            if page.is_truncated() != Some(true) {
                return Ok(out);
            }
            markers = (
                page.next_key_marker().map(str::to_owned),
                page.next_upload_id_marker().map(str::to_owned),
            );
        }
    }
}

type Response = aws_smithy_runtime_api::http::Response;

fn status<E>(e: &SdkError<E, Response>) -> Option<u16> {
    match e {
        SdkError::ServiceError(s) => Some(s.raw().status().as_u16()),
        SdkError::ResponseError(r) => Some(r.raw().status().as_u16()),
        _ => None,
    }
}

fn code<E: ProvideErrorMetadata>(e: &SdkError<E, Response>) -> Option<&str> {
    match e {
        SdkError::ServiceError(s) => s.err().code(),
        _ => None,
    }
}

fn is_not_found<E: ProvideErrorMetadata>(e: &SdkError<E, Response>) -> bool {
    status(e) == Some(404) && !matches!(code(e), Some("NoSuchBucket"))
}

/// Transient: connection failures, timeouts, 5xx, 429/SlowDown, and 409
/// ConditionalRequestConflict / OperationAborted (two conditional writes to one key racing:
/// the retry gets the ordinary answer, such as 412 for a key taken). Permanent: the rest (403,
/// NoSuchBucket, 400), with a hint.
fn classify<E: ProvideErrorMetadata + std::error::Error + 'static>(
    e: &SdkError<E, Response>,
) -> Attempt {
    let detail = aws_sdk_s3::error::DisplayErrorContext(e).to_string();
    match e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Attempt::Transient(detail)
        }
        SdkError::ServiceError(_) => match (status(e), code(e)) {
            (Some(s), _) if s >= 500 || s == 429 => Attempt::Transient(detail),
            (
                _,
                Some(
                    "SlowDown"
                    | "RequestTimeout"
                    | "InternalError"
                    | "ServiceUnavailable"
                    | "ConditionalRequestConflict"
                    | "OperationAborted",
                ),
            )
            | (Some(409), None) => Attempt::Transient(detail),
            (_, Some("NoSuchBucket")) => Attempt::Permanent(format!(
                "the bucket does not exist: create it or fix the table's path ({detail})"
            )),
            (Some(403), _) => Attempt::Permanent(format!(
                "access denied: give the executor's credentials (IRSA role, AWS_* environment or s3.access-key) s3:PutObject, GetObject, ListBucket, DeleteObject and multipart permissions ({detail})"
            )),
            _ => Attempt::Permanent(detail),
        },
        _ => Attempt::Permanent(detail),
    }
}
