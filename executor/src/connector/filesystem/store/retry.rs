//! Retrying store operations: transient failures back off and try again, forever; permanent
//! ones end as a [`StoreError`].

use std::future::Future;
use std::time::Duration;

use super::outcome::StoreError;

/// A transient error worth retrying, or a permanent one.
pub(crate) enum Attempt {
    Transient(String),
    Permanent(String),
    /// The staged upload does not exist (any more): [`StoreError::UploadGone`].
    UploadGone,
}

/// Runs `op` until it succeeds or fails permanently, backing off from 100 ms to 15 s on
/// transient failures and logging each one with what was attempted where.
pub(crate) async fn retry<T, F, Fut>(
    operation: &'static str,
    location: &str,
    mut op: F,
) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Attempt>>,
{
    let mut delay = Duration::from_millis(100);
    let mut attempt = 1u32;
    loop {
        match op().await {
            Ok(v) => {
                if attempt > 1 {
                    tracing::info!(
                        operation,
                        location,
                        attempts = attempt,
                        "store reachable again"
                    );
                }
                return Ok(v);
            }
            Err(Attempt::UploadGone) => {
                return Err(StoreError::UploadGone {
                    operation,
                    location: location.to_owned(),
                });
            }
            Err(Attempt::Permanent(message)) => {
                return Err(StoreError::Permanent {
                    operation,
                    location: location.to_owned(),
                    message,
                });
            }
            Err(Attempt::Transient(message)) => {
                let level_warn = attempt == 1 || attempt.is_power_of_two();
                if level_warn {
                    tracing::warn!(operation, location, attempt, error = %message, retry_in_ms = delay.as_millis() as u64, "store unreachable or busy; retrying");
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(15));
                attempt += 1;
            }
        }
    }
}
