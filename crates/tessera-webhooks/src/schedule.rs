//! When a failed delivery is tried again: a named schedule of delays, with jitter.

use std::time::Duration;

/// The delays between attempts of the standard schedule, in seconds: 13 attempts spread over
/// about a day (10 s, 30 s, 1 min, 2 min, 5 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h, 8 h;
/// 23.8 h in all), so a receiver down for a deploy gets its delivery within seconds and one
/// down overnight still gets it.
pub const STANDARD_DELAYS_SECONDS: &[u64] = &[
    10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800, 28800,
];

/// The most delays a schedule may have.
pub const MAX_DELAYS: usize = 50;

/// The longest single delay, in seconds (a week).
pub const MAX_DELAY_SECONDS: u64 = 7 * 24 * 3600;

/// Why a schedule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// No delay: a delivery would have one attempt only.
    #[error("a retry schedule lists at least one delay")]
    Empty,
    /// Too many delays.
    #[error("a retry schedule lists at most {MAX_DELAYS} delays")]
    TooLong,
    /// A delay of 0 or more than a week.
    #[error("each delay of a retry schedule is 1 to {MAX_DELAY_SECONDS} seconds")]
    OutOfRange,
}

/// The delays before the second, third… attempt. A delivery has `delays + 1` attempts; after
/// the last one fails it is dead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    delays: Vec<u64>,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self::standard()
    }
}

impl RetrySchedule {
    /// [`STANDARD_DELAYS_SECONDS`].
    pub fn standard() -> Self {
        Self {
            delays: STANDARD_DELAYS_SECONDS.to_vec(),
        }
    }

    /// A schedule of these delays, in seconds (configuration, tests).
    pub fn from_seconds(delays: &[u64]) -> Result<Self, ScheduleError> {
        if delays.is_empty() {
            return Err(ScheduleError::Empty);
        }
        if delays.len() > MAX_DELAYS {
            return Err(ScheduleError::TooLong);
        }
        if delays.iter().any(|&d| d == 0 || d > MAX_DELAY_SECONDS) {
            return Err(ScheduleError::OutOfRange);
        }
        Ok(Self {
            delays: delays.to_vec(),
        })
    }

    /// How many attempts a delivery gets.
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.delays.len() + 1).unwrap_or(u32::MAX)
    }

    /// The delay after the `attempts`-th attempt failed, in whole seconds, spread by `jitter`
    /// (0.0 to 1.0, uniform) over ±20 % so that receivers coming back from an outage are not
    /// hit by every retry at once; `None` when that was the last attempt.
    pub fn delay_after(&self, attempts: u32, jitter: f64) -> Option<i64> {
        let index = usize::try_from(attempts.checked_sub(1)?).ok()?;
        let base = *self.delays.get(index)? as f64;
        let spread = base * (0.8 + 0.4 * jitter.clamp(0.0, 1.0));
        Some((spread.round() as i64).max(1))
    }

    /// The whole schedule, for logs.
    pub fn total(&self) -> Duration {
        Duration::from_secs(self.delays.iter().sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_schedule_spans_about_a_day_in_thirteen_attempts() {
        let standard = RetrySchedule::standard();
        assert_eq!(standard.max_attempts(), 13);
        let hours = standard.total().as_secs_f64() / 3600.0;
        assert!((20.0..=28.0).contains(&hours), "{hours}");
    }

    #[test]
    fn delays_follow_the_schedule_within_the_jitter_and_end_after_the_last_attempt() {
        let schedule = RetrySchedule::from_seconds(&[10, 100]).unwrap();
        assert_eq!(schedule.delay_after(0, 0.5), None);
        assert_eq!(schedule.delay_after(1, 0.0), Some(8));
        assert_eq!(schedule.delay_after(1, 0.5), Some(10));
        assert_eq!(schedule.delay_after(1, 1.0), Some(12));
        assert_eq!(schedule.delay_after(2, 0.5), Some(100));
        assert_eq!(
            schedule.delay_after(3, 0.5),
            None,
            "three attempts, then dead"
        );
        assert_eq!(
            RetrySchedule::from_seconds(&[1])
                .unwrap()
                .delay_after(1, 0.0),
            Some(1),
            "never zero"
        );
    }

    #[test]
    fn bad_schedules_are_refused() {
        assert_eq!(RetrySchedule::from_seconds(&[]), Err(ScheduleError::Empty));
        assert_eq!(
            RetrySchedule::from_seconds(&[1, 0]),
            Err(ScheduleError::OutOfRange)
        );
        assert_eq!(
            RetrySchedule::from_seconds(&[1; 51]),
            Err(ScheduleError::TooLong)
        );
    }
}
