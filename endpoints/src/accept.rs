//! [`accept_loop`]: accepting connections without spinning when `accept` keeps failing.

use std::future::Future;
use std::time::Duration;

/// The first pause after a failed `accept`; doubled after each further failure.
const BACKOFF_MIN: Duration = Duration::from_millis(5);
/// The longest pause after failed `accept`s: a scrape or probe waits at most this long once
/// the cause (typically EMFILE: too many open files) is gone.
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Accepts connections with `accept` and hands each to `handle`, forever. A failed accept
/// pauses the loop with an exponential backoff (5 ms doubling to 1 s) and logs the first
/// failure of a run and the recovery.
pub async fn accept_loop<C, F, Fut>(mut accept: F, mut handle: impl FnMut(C))
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::io::Result<C>>,
{
    let mut backoff = BACKOFF_MIN;
    let mut failures: u64 = 0;
    loop {
        match accept().await {
            Ok(conn) => {
                if failures > 0 {
                    tracing::info!(failures, "the HTTP endpoints accept connections again");
                }
                failures = 0;
                backoff = BACKOFF_MIN;
                handle(conn);
            }
            Err(error) => {
                if failures == 0 {
                    tracing::warn!(%error, "HTTP endpoints: accept failed; backing off");
                }
                failures += 1;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use super::accept_loop;

    #[test]
    fn failing_accepts_back_off_instead_of_spinning() {
        let calls = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&calls);
        // A thread of its own: a loop that never yields would never let a runtime stop it.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .expect("runtime");
            rt.block_on(accept_loop(
                move || {
                    counted.fetch_add(1, Ordering::Relaxed);
                    std::future::ready(Err::<(), _>(std::io::Error::from_raw_os_error(24)))
                },
                |()| {},
            ));
        });
        std::thread::sleep(Duration::from_millis(500));
        // 5 + 10 + 20 + 40 + 80 + 160 ms: at most 7 attempts in 500 ms.
        let n = calls.load(Ordering::Relaxed);
        assert!((2..=8).contains(&n), "{n} accept attempts in 500 ms");
    }
}
