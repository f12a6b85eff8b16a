//! Per-node caches of hot, rarely changing records: issuers by slug and clients by id.
//!
//! The token endpoint must not touch the database when the client and the keys are known
//! (DESIGN.md §7): every request names an issuer and authenticates a client, and both change
//! rarely. A change made through this node drops its entry at once; a change made through
//! another node is seen here at the latest [`TTL`] seconds later. (Change notifications
//! between nodes arrive with multi-node operation; the TTL stays as the safety net.)
//!
//! Only records that exist are cached: an unknown slug or client id goes to the database
//! every time, so creating one is seen at once everywhere.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;

use tessera_model::UnixTime;

/// How long a cached record is trusted, in seconds.
pub(crate) const TTL: i64 = 5;

/// The most entries one cache holds; when full it starts over (a flood of distinct ids must
/// not grow memory without bound).
const CAPACITY: usize = 10_000;

/// Records by key, each with the time it was read.
pub(crate) struct Cache<K, V> {
    entries: RwLock<HashMap<K, (UnixTime, V)>>,
}

impl<K, V> Default for Cache<K, V> {
    fn default() -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash, V: Clone> Cache<K, V> {
    /// The record, if it was read less than [`TTL`] seconds before `now`.
    pub(crate) fn get(&self, key: &K, now: UnixTime) -> Option<V> {
        let entries = self.entries.read().ok()?;
        let (read_at, value) = entries.get(key)?;
        (now.0 - read_at.0 < TTL && now.0 >= read_at.0).then(|| value.clone())
    }

    /// Remembers a record read at `now`.
    pub(crate) fn put(&self, key: K, value: V, now: UnixTime) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= CAPACITY {
                entries.clear();
            }
            entries.insert(key, (now, value));
        }
    }

    /// Drops every record for which `stale` holds.
    pub(crate) fn forget_where(&self, mut stale: impl FnMut(&K, &V) -> bool) {
        if let Ok(mut entries) = self.entries.write() {
            entries.retain(|key, (_, value)| !stale(key, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_live_for_the_ttl_and_can_be_forgotten() {
        let cache = Cache::<u32, &str>::default();
        cache.put(1, "one", UnixTime(100));
        assert_eq!(cache.get(&1, UnixTime(100)), Some("one"));
        assert_eq!(cache.get(&1, UnixTime(100 + TTL - 1)), Some("one"));
        assert_eq!(cache.get(&1, UnixTime(100 + TTL)), None);
        assert_eq!(cache.get(&1, UnixTime(99)), None, "a clock that went back");
        cache.put(2, "two", UnixTime(100));
        cache.forget_where(|key, _| *key == 2);
        assert_eq!(cache.get(&2, UnixTime(100)), None);
        assert_eq!(cache.get(&1, UnixTime(100)), Some("one"));
    }
}
