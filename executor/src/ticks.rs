//! Realistic stock ticks — `{"id", "event_time", "ticker", "price"}` JSON records — for the demo,
//! the tests and the benchmarks. Deterministic for a seed; `id`s are unique, so a sink can be
//! checked for exactly-once delivery.

use std::io::Write as _;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

const NAMES: &[(&str, f64)] = &[
    ("AMZN", 178.0),
    ("AAPL", 191.0),
    ("GOOG", 141.0),
    ("MSFT", 374.0),
    ("TSLA", 248.0),
    ("NVDA", 495.0),
    ("META", 353.0),
    ("NFLX", 486.0),
    ("AMD", 138.0),
    ("INTC", 50.0),
    ("ORCL", 105.0),
    ("IBM", 161.0),
    ("UBER", 61.0),
    ("SNAP", 16.0),
    ("F", 11.5),
    ("NIO", 8.9),
    ("SIRI", 5.4),
    ("PLUG", 4.5),
    ("BB", 3.6),
    ("NOK", 3.4),
];

/// A stream of ticks.
pub struct Ticks {
    rng: StdRng,
    tickers: Vec<(String, f64)>,
    time_ms: i64,
    step_ms: i64,
}

impl Ticks {
    /// `tickers` symbols (the well-known 20, then synthetic `T0001`...), starting at
    /// 2024-01-02 09:30 UTC, `step_ms` apart on average.
    pub fn new(seed: u64, tickers: usize, step_ms: i64) -> Ticks {
        let mut rng = StdRng::seed_from_u64(seed);
        let tickers = (0..tickers.max(1))
            .map(|i| match NAMES.get(i) {
                Some((n, p)) => ((*n).to_owned(), *p),
                None => (format!("T{i:04}"), rng.random_range(2.0..400.0)),
            })
            .collect();
        Ticks {
            rng,
            tickers,
            time_ms: 1_704_187_800_000,
            step_ms: step_ms.max(1),
        }
    }

    /// Appends the next tick (with id `id`) as JSON; returns its ticker (a good record key).
    pub fn next_into(&mut self, id: u64, out: &mut Vec<u8>) -> usize {
        let i = self.rng.random_range(0..self.tickers.len());
        let (name, price) = &mut self.tickers[i];
        *price = (*price * (1.0 + self.rng.random_range(-0.002..0.002))).max(0.01);
        self.time_ms += self.rng.random_range(0..=2 * self.step_ms);
        let t = chrono::DateTime::from_timestamp_millis(self.time_ms).unwrap_or_default();
        let _ = write!(
            out,
            r#"{{"id":{id},"event_time":"{}","ticker":"{name}","price":{:.2}}}"#,
            t.format("%Y-%m-%d %H:%M:%S%.3f"),
            price
        );
        i
    }

    /// The ticker symbol of an index returned by [`Ticks::next_into`].
    pub fn ticker(&self, i: usize) -> &str {
        &self.tickers[i].0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_json_with_unique_ids_and_deterministic() {
        let mut a = Ticks::new(7, 20, 10);
        let mut b = Ticks::new(7, 20, 10);
        let (mut x, mut y) = (Vec::new(), Vec::new());
        a.next_into(1, &mut x);
        b.next_into(1, &mut y);
        assert_eq!(x, y);
        let v: serde_json::Value = serde_json::from_slice(&x).unwrap();
        assert_eq!(v["id"], 1);
        assert!(
            v["event_time"]
                .as_str()
                .unwrap()
                .starts_with("2024-01-02 09:30:")
        );
    }
}
