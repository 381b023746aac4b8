//! Login throttling (SPEC §6): five failures for one email within 15 minutes lock that email for
//! 15 minutes; one client address may try 100 logins a minute.
//!
//! The counts live in this process's memory. Several processes behind one balancer each keep
//! their own, so the effective limit is per process; the README says so.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

const EMAIL_FAILURES: usize = 5;
const EMAIL_WINDOW_MINUTES: i64 = 15;
const EMAIL_LOCK_MINUTES: i64 = 15;
const ADDRESS_ATTEMPTS_PER_MINUTE: usize = 100;
/// Past this many tracked keys, stale entries are swept so memory stays bounded.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Debug, Default)]
pub struct LoginLimiter {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    failures: HashMap<String, EmailState>,
    attempts: HashMap<IpAddr, VecDeque<DateTime<Utc>>>,
}

#[derive(Debug, Default)]
struct EmailState {
    failures: VecDeque<DateTime<Utc>>,
    locked_until: Option<DateTime<Utc>>,
}

impl LoginLimiter {
    /// Counts an attempt from `address` and says whether it may go ahead; `Err` carries the
    /// seconds to wait.
    pub fn admit(&self, email: &str, address: Option<IpAddr>, now: DateTime<Utc>) -> Result<(), u64> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.attempts.len() + state.failures.len() > SWEEP_ABOVE {
            state.sweep(now);
        }
        if let Some(address) = address {
            let window = state.attempts.entry(address).or_default();
            let minute_ago = now - Duration::minutes(1);
            while window.front().is_some_and(|t| *t <= minute_ago) {
                window.pop_front();
            }
            if window.len() >= ADDRESS_ATTEMPTS_PER_MINUTE {
                let oldest = window.front().copied().unwrap_or(now);
                return Err(seconds_until(oldest + Duration::minutes(1), now));
            }
            window.push_back(now);
        }
        if let Some(locked_until) = state.failures.get(email).and_then(|s| s.locked_until)
            && locked_until > now
        {
            return Err(seconds_until(locked_until, now));
        }
        Ok(())
    }

    /// Records a failed login for `email`, locking it when this is the fifth within the window.
    pub fn failed(&self, email: &str, now: DateTime<Utc>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let entry = state.failures.entry(email.to_owned()).or_default();
        let window_start = now - Duration::minutes(EMAIL_WINDOW_MINUTES);
        while entry.failures.front().is_some_and(|t| *t <= window_start) {
            entry.failures.pop_front();
        }
        entry.failures.push_back(now);
        if entry.failures.len() >= EMAIL_FAILURES {
            entry.locked_until = Some(now + Duration::minutes(EMAIL_LOCK_MINUTES));
            entry.failures.clear();
        }
    }

    /// A successful login forgets the earlier failures for that email.
    pub fn succeeded(&self, email: &str) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.failures.remove(email);
    }
}

impl State {
    fn sweep(&mut self, now: DateTime<Utc>) {
        let minute_ago = now - Duration::minutes(1);
        self.attempts.retain(|_, w| w.back().is_some_and(|t| *t > minute_ago));
        let window_start = now - Duration::minutes(EMAIL_WINDOW_MINUTES);
        self.failures.retain(|_, s| s.locked_until.is_some_and(|t| t > now) || s.failures.back().is_some_and(|t| *t > window_start));
    }
}

fn seconds_until(until: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    u64::try_from((until - now).num_seconds()).unwrap_or(0).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn five_failures_lock_the_email_for_fifteen_minutes() {
        let limiter = LoginLimiter::default();
        for i in 0..5 {
            assert_eq!(limiter.admit("a@x.org", None, t0() + Duration::seconds(i)), Ok(()));
            limiter.failed("a@x.org", t0() + Duration::seconds(i));
        }
        assert_eq!(limiter.admit("a@x.org", None, t0() + Duration::seconds(5)), Err(15 * 60 - 1));
        assert_eq!(limiter.admit("b@x.org", None, t0() + Duration::seconds(5)), Ok(()));
        assert_eq!(limiter.admit("a@x.org", None, t0() + Duration::minutes(16)), Ok(()));
    }

    #[test]
    fn failures_spread_beyond_the_window_do_not_lock() {
        let limiter = LoginLimiter::default();
        for i in 0..8 {
            let at = t0() + Duration::minutes(4 * i);
            assert_eq!(limiter.admit("a@x.org", None, at), Ok(()));
            limiter.failed("a@x.org", at);
        }
    }

    #[test]
    fn an_address_gets_a_hundred_attempts_a_minute() {
        let limiter = LoginLimiter::default();
        let ip: IpAddr = [127, 0, 0, 1].into();
        for i in 0..100 {
            assert_eq!(limiter.admit(&format!("u{i}@x.org"), Some(ip), t0()), Ok(()));
        }
        assert!(limiter.admit("z@x.org", Some(ip), t0()).is_err());
        assert_eq!(limiter.admit("z@x.org", Some(ip), t0() + Duration::seconds(61)), Ok(()));
    }
}
