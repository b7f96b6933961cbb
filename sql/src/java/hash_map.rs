//! The iteration order of a `java.util.HashMap<String, V>`, which Flink hands on as a MAP's
//! order (`STR_TO_MAP` builds one): buckets in ascending order of `hash & (capacity - 1)`,
//! where `hash` is `String.hashCode()` with its high half folded in, and entries of one bucket
//! in insertion order (a resize splits a bucket's list keeping its order). A key put again keeps
//! its place and takes the new value.

/// A `HashMap<String, V>` made with `new HashMap<>(initial_capacity)`, as far as its order goes.
#[derive(Debug)]
pub struct JavaHashMap<V> {
    entries: Vec<(String, V)>,
    capacity: usize,
}

impl<V> JavaHashMap<V> {
    /// `new HashMap<>(initial_capacity)`.
    pub fn with_capacity(initial_capacity: usize) -> JavaHashMap<V> {
        JavaHashMap {
            entries: Vec::new(),
            // `HashMap.tableSizeFor`: the next power of two, at least 1.
            capacity: initial_capacity.max(1).next_power_of_two(),
        }
    }

    /// `put(key, value)`.
    pub fn put(&mut self, key: String, value: V) {
        if let Some(e) = self.entries.iter_mut().find(|(k, _)| *k == key) {
            e.1 = value;
            return;
        }
        self.entries.push((key, value));
        // Resized when the size passes three quarters of the capacity.
        while self.entries.len() > self.capacity * 3 / 4 {
            self.capacity *= 2;
        }
    }

    /// The entries in the order the map iterates them.
    pub fn into_entries(self) -> Vec<(String, V)> {
        let mask = self.capacity - 1;
        let mut entries: Vec<(usize, usize, String, V)> = self
            .entries
            .into_iter()
            .enumerate()
            .map(|(i, (k, v))| (spread_hash(&k) as usize & mask, i, k, v))
            .collect();
        entries.sort_by_key(|e| (e.0, e.1));
        entries.into_iter().map(|(_, _, k, v)| (k, v)).collect()
    }
}

/// `String.hashCode()` over UTF-16 units, then `HashMap.hash`'s `h ^ (h >>> 16)`.
fn spread_hash(s: &str) -> u32 {
    let h = s
        .encode_utf16()
        .fold(0u32, |h, u| h.wrapping_mul(31).wrapping_add(u32::from(u)));
    h ^ (h >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(keys: &[&str]) -> Vec<String> {
        let mut m = JavaHashMap::with_capacity(keys.len());
        for k in keys {
            m.put((*k).to_owned(), ());
        }
        m.into_entries().into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn order_is_javas() {
        // Observed from Flink 2.3.0's STR_TO_MAP (Java 17).
        assert_eq!(order(&[" a ", " b"]), [" b", " a "]);
        assert_eq!(order(&["k", "", "x"]), ["", "x", "k"]);
        assert_eq!(
            order(&[
                "zeta", "alpha", "mid", "beta", "omega", "k1", "k2", "k3", "k10", "k11", "k12",
                "k13", "kk"
            ]),
            [
                "zeta", "kk", "k1", "k2", "k3", "mid", "k11", "k10", "k13", "k12", "omega",
                "alpha", "beta"
            ]
        );
    }
}
