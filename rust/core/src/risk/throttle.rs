//! Token-bucket throttle driven by caller-supplied nanosecond timestamps, so that a backtest
//! replays exactly the same decisions as the live run it records.

use super::limits::ThrottleLimit;

/// Bucket level unit: 10^-15 token. A refill rate in microtokens per second is then exactly
/// `rate` units per nanosecond, so refilling is one multiplication with no rounding.
const UNITS_PER_TOKEN: u128 = 1_000_000_000_000_000;

/// A bucket that starts full, refills continuously and never holds more than its capacity.
/// Timestamps that go backwards refill nothing (the latest timestamp seen is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenBucket {
    capacity: u128,
    refill_per_ns: u128,
    level: u128,
    last_ts: Option<i64>,
}

impl TokenBucket {
    pub fn new(limit: ThrottleLimit) -> Self {
        let capacity = u128::from(limit.capacity) * UNITS_PER_TOKEN;
        TokenBucket {
            capacity,
            refill_per_ns: u128::from(limit.refill_microtokens_per_second),
            level: capacity,
            last_ts: None,
        }
    }

    /// Applies a new limit, keeping the current level (capped at the new capacity).
    pub fn reconfigure(&mut self, limit: ThrottleLimit) {
        let fresh = TokenBucket::new(limit);
        self.capacity = fresh.capacity;
        self.refill_per_ns = fresh.refill_per_ns;
        self.level = self.level.min(self.capacity);
    }

    fn refill(&mut self, ts: i64) {
        if let Some(last) = self.last_ts {
            if ts > last {
                let elapsed = ts.abs_diff(last) as u128;
                self.level = self
                    .level
                    .saturating_add(elapsed.saturating_mul(self.refill_per_ns))
                    .min(self.capacity);
            }
        }
        self.last_ts = Some(self.last_ts.map_or(ts, |last| last.max(ts)));
    }

    /// Takes one token at `ts` if one is available.
    pub fn try_take(&mut self, ts: i64) -> bool {
        self.refill(ts);
        if self.level >= UNITS_PER_TOKEN {
            self.level -= UNITS_PER_TOKEN;
            true
        } else {
            false
        }
    }

    /// Whole tokens available at `ts`, without taking any. Does not advance the clock.
    pub fn available(&self, ts: i64) -> u64 {
        let mut probe = self.clone();
        probe.refill(ts);
        (probe.level / UNITS_PER_TOKEN) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000_000;

    #[test]
    fn a_full_bucket_allows_a_burst_of_its_capacity_then_refills_at_the_rate() {
        let mut bucket = TokenBucket::new(ThrottleLimit::per_second(3, 2));
        assert!(bucket.try_take(0));
        assert!(bucket.try_take(0));
        assert!(bucket.try_take(0));
        assert!(!bucket.try_take(0));
        // Two tokens per second: one token every half second.
        assert!(!bucket.try_take(SECOND / 2 - 1));
        assert!(bucket.try_take(SECOND / 2));
        assert!(!bucket.try_take(SECOND / 2));
        assert_eq!(bucket.available(100 * SECOND), 3);
    }

    #[test]
    fn fractional_rates_are_exact() {
        let limit = ThrottleLimit {
            capacity: 1,
            refill_microtokens_per_second: 500_000,
        };
        let mut bucket = TokenBucket::new(limit);
        assert!(bucket.try_take(0));
        assert!(!bucket.try_take(2 * SECOND - 1));
        assert!(bucket.try_take(2 * SECOND));
    }

    #[test]
    fn time_going_backwards_refills_nothing() {
        let mut bucket = TokenBucket::new(ThrottleLimit::per_second(1, 1));
        assert!(bucket.try_take(10 * SECOND));
        assert!(!bucket.try_take(5 * SECOND));
        // The clock stayed at 10 s: refilling resumes from there, not from 5 s.
        assert!(!bucket.try_take(10 * SECOND + SECOND / 2));
        assert!(bucket.try_take(11 * SECOND));
    }

    #[test]
    fn reconfiguring_caps_the_level_at_the_new_capacity() {
        let mut bucket = TokenBucket::new(ThrottleLimit::per_second(10, 1));
        bucket.reconfigure(ThrottleLimit::per_second(2, 1));
        assert_eq!(bucket.available(0), 2);
        assert!(bucket.try_take(0));
        assert!(bucket.try_take(0));
        assert!(!bucket.try_take(0));
    }

    #[test]
    fn extreme_timestamps_saturate_instead_of_overflowing() {
        let mut bucket = TokenBucket::new(ThrottleLimit::per_second(2, 1_000_000));
        assert!(bucket.try_take(i64::MIN));
        assert!(bucket.try_take(i64::MIN));
        assert!(bucket.try_take(i64::MAX));
        assert_eq!(bucket.available(i64::MAX), 1);
    }
}
