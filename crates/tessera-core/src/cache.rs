//! Per-node caches of hot, rarely changing records: issuers by slug, clients by id, and
//! issuers' parsed signing keys.
//!
//! The token endpoint must not touch the database when the issuer, the client and the keys
//! are known (DESIGN.md §7). So each is cached per node, bounded and read lazily: an issuer
//! that is never used costs nothing, and ten thousand issuers cost ten thousand entries at
//! most ([`CacheLimits::capacity`] per cache; beyond it the least useful entries are evicted,
//! by quick_cache's S3-FIFO policy, not the whole cache).
//!
//! **Staleness.** A change made through this node drops its entry at once; a change made
//! through another node drops it when that node's notice arrives (PostgreSQL `NOTIFY`, see
//! `tessera_store::Change`), within milliseconds. Notices can be lost, so every entry also
//! expires [`CacheLimits::ttl_seconds`] after it was read: the safety net, not the mechanism.
//! An entry confirmed against the store ([`Cache::confirm`], by `Core::revalidate_caches`,
//! which checks every entry in a few bulk reads) counts as read again: so ten thousand busy
//! issuers are not read again one by one every time to live, which cost a quarter of the
//! token endpoint's throughput (docs/benchmarks.md, "Scale").
//!
//! **The read-forget race.** A request may read a record from the database just before
//! another commits a change to it, and store its copy just after the notice dropped the old
//! one, leaving a stale copy for a whole time to live. Each cache therefore counts its
//! forgets (a generation); a copy read before a forget is not kept after it.
//!
//! Only records that exist are cached: an unknown slug or client id goes to the database
//! every time, so creating one is seen at once everywhere.

use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tessera_model::UnixTime;

/// How big the caches are and how long an entry is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// Entries per cache (issuers, clients, issuers' keys).
    pub capacity: usize,
    /// Seconds an entry is trusted without a change notice.
    pub ttl_seconds: i64,
}

/// The default capacity is two and a half times the ten thousand busy issuers a node is
/// expected to serve at unchanged speed: quick_cache splits its capacity among shards, so a
/// cache filled to exactly its capacity already evicts from the fuller shards, and an evicted
/// issuer's keys are read and parsed again on its next request (docs/benchmarks.md, "Scale":
/// 10,000 issuers cost +25–40 % CPU per token with 10,000, +18 % with 25,000).
impl Default for CacheLimits {
    fn default() -> Self {
        Self {
            capacity: 25_000,
            ttl_seconds: 30,
        }
    }
}

/// A mark taken before reading the database, for [`Cache::put`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Generation(u64);

/// Records by key, each with the time it was read.
pub(crate) struct Cache<K, V> {
    entries: quick_cache::sync::Cache<K, (UnixTime, V)>,
    ttl_seconds: i64,
    /// How many forgets there have been.
    generation: AtomicU64,
}

impl<K: Eq + Hash + Clone, V: Clone> Cache<K, V> {
    pub(crate) fn new(limits: CacheLimits) -> Self {
        Self {
            entries: quick_cache::sync::Cache::new(limits.capacity.max(1)),
            ttl_seconds: limits.ttl_seconds,
            generation: AtomicU64::new(0),
        }
    }

    /// The record, if it was read less than the time to live before `now`.
    pub(crate) fn get(&self, key: &K, now: UnixTime) -> Option<V> {
        let (read_at, value) = self.entries.get(key)?;
        (now.0 - read_at.0 < self.ttl_seconds && now.0 >= read_at.0).then_some(value)
    }

    /// The record however old it is, for a caller that can check it against the store more
    /// cheaply than it can make it again.
    pub(crate) fn get_expired(&self, key: &K) -> Option<V> {
        self.entries.get(key).map(|(_, value)| value)
    }

    /// Take before reading the record that will be [`put`](Self::put).
    pub(crate) fn generation(&self) -> Generation {
        Generation(self.generation.load(Ordering::SeqCst))
    }

    /// Remembers a record read at `now`, unless something was forgotten since `before` (then
    /// the copy may predate the change that caused the forget).
    pub(crate) fn put(&self, key: K, value: V, now: UnixTime, before: Generation) {
        if self.generation.load(Ordering::SeqCst) != before.0 {
            return;
        }
        self.entries.insert(key.clone(), (now, value));
        // A forget between the check above and the insert would have missed this entry.
        if self.generation.load(Ordering::SeqCst) != before.0 {
            self.entries.remove(&key);
        }
    }

    /// Seconds a record is trusted without a change notice.
    pub(crate) fn ttl_seconds(&self) -> i64 {
        self.ttl_seconds
    }

    /// Every record held, however old, for checking them against the store in bulk.
    pub(crate) fn snapshot(&self) -> Vec<(K, V)> {
        self.entries
            .iter()
            .map(|(key, (_, value))| (key, value))
            .collect()
    }

    /// Marks the record as read again at `at` if `unchanged` holds for it, and drops it
    /// otherwise; whether it was kept. `at` must be taken before the store was asked whether
    /// it changed.
    ///
    /// No generation is needed here, unlike in [`put`](Self::put): `unchanged` compares the
    /// record held now with what the store said, so a copy put meanwhile that differs is
    /// dropped, and one that does not is as true as the store's answer.
    pub(crate) fn confirm(
        &self,
        key: &K,
        at: UnixTime,
        unchanged: impl FnOnce(&V) -> bool,
    ) -> bool {
        // Zero: never wait for another caller's placeholder (there are none: nothing here
        // makes one that outlives this call).
        let outcome = self
            .entries
            .entry(key, Some(Duration::ZERO), |_, (read_at, value)| {
                if unchanged(value) {
                    *read_at = (*read_at).max(at);
                    quick_cache::sync::EntryAction::Retain(())
                } else {
                    quick_cache::sync::EntryAction::Remove
                }
            });
        // A record evicted or forgotten meanwhile gets a placeholder to fill, dropped empty.
        matches!(outcome, quick_cache::sync::EntryResult::Retained(()))
    }

    /// Drops one record.
    pub(crate) fn forget(&self, key: &K) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries.remove(key);
    }

    /// Drops every record for which `stale` holds.
    pub(crate) fn forget_where(&self, stale: impl Fn(&K, &V) -> bool) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries.retain(|key, (_, value)| !stale(key, value));
    }

    /// Drops everything.
    pub(crate) fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries.clear();
    }

    /// How many records are held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: CacheLimits = CacheLimits {
        capacity: 100,
        ttl_seconds: 5,
    };

    #[test]
    fn records_live_for_the_ttl_and_can_be_forgotten() {
        let cache = Cache::<u32, &str>::new(LIMITS);
        cache.put(1, "one", UnixTime(100), cache.generation());
        assert_eq!(cache.get(&1, UnixTime(100)), Some("one"));
        assert_eq!(cache.get(&1, UnixTime(104)), Some("one"));
        assert_eq!(cache.get(&1, UnixTime(105)), None);
        assert_eq!(cache.get(&1, UnixTime(99)), None, "a clock that went back");
        cache.put(2, "two", UnixTime(100), cache.generation());
        cache.forget(&2);
        assert_eq!(cache.get(&2, UnixTime(100)), None);
        assert_eq!(cache.get(&1, UnixTime(100)), Some("one"));
        cache.put(3, "three", UnixTime(100), cache.generation());
        cache.forget_where(|key, _| *key == 3);
        assert_eq!(cache.get(&3, UnixTime(100)), None);
        assert_eq!(cache.get(&1, UnixTime(100)), Some("one"));
        cache.clear();
        assert_eq!(cache.get(&1, UnixTime(100)), None);
    }

    #[test]
    fn a_copy_read_before_a_forget_is_not_kept_after_it() {
        let cache = Cache::<u32, &str>::new(LIMITS);
        let before = cache.generation();
        // Meanwhile another request's change drops the record…
        cache.forget(&1);
        // …so the copy read before it is stale and must not be stored.
        cache.put(1, "old", UnixTime(100), before);
        assert_eq!(cache.get(&1, UnixTime(100)), None);
        cache.put(1, "new", UnixTime(100), cache.generation());
        assert_eq!(cache.get(&1, UnixTime(100)), Some("new"));
    }

    #[test]
    fn a_confirmed_record_lives_another_ttl_and_a_changed_one_is_dropped() {
        let cache = Cache::<u32, &str>::new(LIMITS);
        cache.put(1, "one", UnixTime(100), cache.generation());
        cache.put(2, "two", UnixTime(100), cache.generation());
        assert!(cache.confirm(&1, UnixTime(103), |v| *v == "one"));
        assert!(!cache.confirm(&2, UnixTime(103), |v| *v == "deux"));
        assert!(!cache.confirm(&3, UnixTime(103), |_| true), "never held");
        assert_eq!(cache.get(&1, UnixTime(107)), Some("one"));
        assert_eq!(cache.get(&1, UnixTime(108)), None);
        assert_eq!(cache.get(&2, UnixTime(103)), None);
        assert_eq!(cache.get(&3, UnixTime(103)), None, "no placeholder left");
        // A confirmation taken before a later read never moves its time back.
        cache.put(4, "four", UnixTime(110), cache.generation());
        assert!(cache.confirm(&4, UnixTime(105), |_| true));
        assert_eq!(cache.get(&4, UnixTime(114)), Some("four"));
        let mut held = cache.snapshot();
        held.sort_unstable();
        assert_eq!(held, [(1, "one"), (4, "four")]);
    }

    #[test]
    fn a_flood_of_keys_stays_within_the_capacity() {
        let cache = Cache::<u32, u32>::new(LIMITS);
        for round in 0..10 {
            for key in 1..=1_000 {
                cache.put(round * 1_000 + key, key, UnixTime(100), cache.generation());
            }
            assert!(
                cache.len() <= 2 * LIMITS.capacity,
                "{} entries",
                cache.len()
            );
        }
        assert!(
            cache.len() >= LIMITS.capacity / 2,
            "{} entries",
            cache.len()
        );
    }
}
