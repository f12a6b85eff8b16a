//! Time as Tessera stores it: whole seconds since the Unix epoch (DESIGN.md §4).

use std::sync::atomic::{AtomicI64, Ordering};

/// A point in time, in whole seconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(pub i64);

impl UnixTime {
    /// The time `seconds` later.
    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds))
    }
}

/// Where the current time comes from. Only the server crate reads the wall clock; everything
/// else receives a `Clock`, so tests can fix or advance time.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> UnixTime;
}

/// A clock that says what it is told, for tests and deterministic tools.
#[derive(Debug, Default)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
    /// A clock standing at `time`.
    pub fn at(time: UnixTime) -> Self {
        Self(AtomicI64::new(time.0))
    }

    /// Moves the clock forward.
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        UnixTime(self.0.load(Ordering::SeqCst))
    }
}
