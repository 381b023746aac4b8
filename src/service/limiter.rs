//! Login throttling (SPEC §6): five failures for one email within 15 minutes lock that email for
//! 15 minutes; one client address may try 100 logins a minute. And the limit on public writes
//! (registrations, signups, RSVP answers, password-reset requests) per client address.
//!
//! A guess is counted as a failure before its password is checked, and forgotten if it turns
//! out right, so parallel guesses cannot all be checked before the lock takes: at most five
//! per email and window ever reach Argon2. Password checks run at most
//! [`CONCURRENT_PASSWORD_CHECKS`] at a time, and the table of emails is bounded: an email over
//! the length limit is never recorded, and past [`MAX_TRACKED`] emails the least-failed ones
//! are forgotten first.
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
const ADDRESS_ATTEMPTS_PER_MINUTE: u32 = 100;
/// Past this many tracked keys, stale entries are swept so memory stays bounded.
const SWEEP_ABOVE: usize = 10_000;
/// The most emails tracked at once, whatever a client sends.
pub const MAX_TRACKED: usize = 20_000;
/// The longest email a login can be for (RFC 5321's limit on a path); a longer one is no one's.
pub const EMAIL_MAX: usize = 254;
/// Argon2 checks running at once; more wait. Each takes a core for tens of milliseconds.
pub const CONCURRENT_PASSWORD_CHECKS: usize = 4;

#[derive(Debug)]
pub struct LoginLimiter {
    state: Mutex<State>,
    addresses: AddressLimiter,
    /// Taken for each password check.
    pub password_checks: tokio::sync::Semaphore,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            addresses: AddressLimiter::new(ADDRESS_ATTEMPTS_PER_MINUTE),
            password_checks: tokio::sync::Semaphore::new(CONCURRENT_PASSWORD_CHECKS),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    failures: HashMap<String, EmailState>,
    /// Sweeping reads the whole table, so it is done at most once a second.
    last_sweep: Option<DateTime<Utc>>,
}

/// At most `per_minute` actions a minute from one client address (a sliding window); 0 means
/// no limit. The table of addresses is swept of idle ones, at most once a second.
#[derive(Debug)]
pub struct AddressLimiter {
    per_minute: usize,
    state: Mutex<Windows>,
}

/// Each address's recent actions, and when the table was last swept.
type Windows = (HashMap<IpAddr, VecDeque<DateTime<Utc>>>, Option<DateTime<Utc>>);

impl AddressLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self { per_minute: per_minute as usize, state: Mutex::default() }
    }

    /// Counts an action from `address` if it may go ahead; `Err` carries the seconds to wait.
    pub fn admit(&self, address: Option<IpAddr>, now: DateTime<Utc>) -> Result<(), u64> {
        let (Some(address), true) = (address, self.per_minute > 0) else { return Ok(()) };
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (windows, last_sweep) = &mut *guard;
        let minute_ago = now - Duration::minutes(1);
        if windows.len() > SWEEP_ABOVE && last_sweep.is_none_or(|t| now - t >= Duration::seconds(1)) {
            windows.retain(|_, w| w.back().is_some_and(|t| *t > minute_ago));
            *last_sweep = Some(now);
        }
        let window = windows.entry(address).or_default();
        while window.front().is_some_and(|t| *t <= minute_ago) {
            window.pop_front();
        }
        if window.len() >= self.per_minute {
            let oldest = window.front().copied().unwrap_or(now);
            return Err(seconds_until(oldest + Duration::minutes(1), now));
        }
        window.push_back(now);
        Ok(())
    }
}

#[derive(Debug, Default)]
struct EmailState {
    failures: VecDeque<DateTime<Utc>>,
    locked_until: Option<DateTime<Utc>>,
}

impl LoginLimiter {
    /// Counts an attempt from `address` and, for an email within [`EMAIL_MAX`], a failure ahead
    /// of the check (see [`LoginLimiter::succeeded`]); says whether it may go ahead. `Err`
    /// carries the seconds to wait.
    pub fn admit(&self, email: &str, address: Option<IpAddr>, now: DateTime<Utc>) -> Result<(), u64> {
        self.addresses.admit(address, now)?;
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.failures.len() > SWEEP_ABOVE && state.last_sweep.is_none_or(|t| now - t >= Duration::seconds(1)) {
            state.sweep(now);
        }
        if let Some(locked_until) = state.failures.get(email).and_then(|s| s.locked_until)
            && locked_until > now
        {
            return Err(seconds_until(locked_until, now));
        }
        if email.len() <= EMAIL_MAX {
            state.failed(email, now);
        }
        Ok(())
    }

    /// A successful login forgets the earlier failures for that email, the one counted ahead
    /// for it included.
    pub fn succeeded(&self, email: &str) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.failures.remove(email);
    }

    /// How many emails are tracked.
    pub fn tracked(&self) -> usize {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).failures.len()
    }
}

impl State {
    /// Records a failure for `email`, locking it when this is the fifth within the window.
    fn failed(&mut self, email: &str, now: DateTime<Utc>) {
        if !self.failures.contains_key(email) && self.failures.len() >= MAX_TRACKED {
            self.sweep(now);
            if self.failures.len() >= MAX_TRACKED {
                self.forget_least_failed();
            }
        }
        let entry = self.failures.entry(email.to_owned()).or_default();
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

    /// Makes room for one more email: forgets a tenth of the table, the emails with the fewest
    /// failures and no lock first, so a flood of made-up emails cannot unlock a real one.
    fn forget_least_failed(&mut self) {
        let mut keys: Vec<(bool, usize, String)> =
            self.failures.iter().map(|(k, s)| (s.locked_until.is_some(), s.failures.len(), k.clone())).collect();
        keys.sort_unstable();
        for (_, _, key) in keys.into_iter().take(MAX_TRACKED / 10) {
            self.failures.remove(&key);
        }
    }

    fn sweep(&mut self, now: DateTime<Utc>) {
        self.last_sweep = Some(now);
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
        }
    }

    #[test]
    fn a_right_guess_forgets_the_failure_counted_ahead() {
        let limiter = LoginLimiter::default();
        for i in 0..20 {
            assert_eq!(limiter.admit("a@x.org", None, t0() + Duration::seconds(i)), Ok(()));
            limiter.succeeded("a@x.org");
        }
    }

    #[test]
    fn the_table_of_emails_stays_bounded() {
        let limiter = LoginLimiter::default();
        let long = "x".repeat(EMAIL_MAX + 1);
        assert_eq!(limiter.admit(&long, None, t0()), Ok(()));
        assert_eq!(limiter.tracked(), 0, "an email no one can have is not recorded");
        for _ in 0..4 {
            assert_eq!(limiter.admit("real@x.org", None, t0()), Ok(()));
        }
        for i in 0..(MAX_TRACKED + 500) {
            let _ = limiter.admit(&format!("u{i}@x.org"), None, t0());
        }
        assert!(limiter.tracked() <= MAX_TRACKED);
        assert_eq!(limiter.admit("real@x.org", None, t0()), Ok(()), "the fifth guess");
        assert!(limiter.admit("real@x.org", None, t0()).is_err(), "the real email's failures were kept");
    }

    #[test]
    fn public_writes_are_limited_per_address_unless_turned_off() {
        let limiter = AddressLimiter::new(3);
        let (a, b): (IpAddr, IpAddr) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
        for _ in 0..3 {
            assert_eq!(limiter.admit(Some(a), t0()), Ok(()));
        }
        assert_eq!(limiter.admit(Some(a), t0() + Duration::seconds(10)), Err(50));
        assert_eq!(limiter.admit(Some(b), t0()), Ok(()));
        assert_eq!(limiter.admit(Some(a), t0() + Duration::seconds(60)), Ok(()));
        let off = AddressLimiter::new(0);
        for _ in 0..1000 {
            assert_eq!(off.admit(Some(a), t0()), Ok(()));
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
