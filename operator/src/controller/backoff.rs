//! Per-object exponential backoff for failed reconciles: 1 s, 2 s, 4 s, … capped at 5 min,
//! reset by a successful reconcile.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Consecutive failures per object.
#[derive(Default)]
pub(super) struct Backoff {
    failures: Mutex<HashMap<String, u32>>,
}

impl Backoff {
    /// The key of an object: `kind/namespace/name`.
    pub(super) fn key(kind: &str, namespace: Option<String>, name: &str) -> String {
        format!("{kind}/{}/{name}", namespace.unwrap_or_default())
    }

    /// The counters. A poisoned lock is recovered: every update is a single integer store or
    /// map insert/remove, so a panic elsewhere cannot leave a half-made entry, and the worst a
    /// counter can be is one failure off — a retry a little sooner or later.
    fn failures(&self) -> MutexGuard<'_, HashMap<String, u32>> {
        self.failures.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a failure of `key`; returns how long to wait before the retry.
    pub(super) fn next_delay(&self, key: String) -> Duration {
        let attempts = {
            let mut failures = self.failures();
            let n = failures.entry(key).or_insert(0);
            *n = n.saturating_add(1);
            *n
        };
        let secs = 2u64.saturating_pow(attempts.saturating_sub(1).min(9));
        Duration::from_secs(secs.min(300))
    }

    /// `key` succeeded: its next failure waits 1 s again.
    pub(super) fn reset(&self, key: &str) {
        self.failures().remove(key);
    }

    /// Forgets every counter (done now and then, so deleted objects do not pile up).
    pub(super) fn forget_all(&self) {
        self.failures().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_up_to_five_minutes_and_a_success_starts_over() {
        let backoff = Backoff::default();
        let key = Backoff::key("job", Some("ns".into()), "a");
        let delays: Vec<u64> = (0..11)
            .map(|_| backoff.next_delay(key.clone()).as_secs())
            .collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        backoff.reset(&key);
        assert_eq!(backoff.next_delay(key), Duration::from_secs(1));
    }
}
