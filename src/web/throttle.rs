//! Sign-in throttling that slows guessing down without letting anyone lock an admin out.
//!
//! Three keyed quotas (governor, GCRA): per client address, per (username, address), and per
//! username across all addresses. The first two refuse (429 with Retry-After): they stop one
//! source. The per-username one never refuses, because anyone can type someone else's
//! username: past its quota every attempt for that username waits a short backoff first, so
//! a distributed guesser is slowed while the real admin, from an address of their own, still
//! signs in.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

/// The longest wait the per-username backoff imposes on one attempt.
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// What a sign-in attempt may do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go on, after waiting this long (zero unless the username is under attack).
    Proceed(Duration),
    /// Refused: this source is over its quota; it may try again after this long.
    Refuse(Duration),
}

pub struct LoginLimiter {
    by_address: DefaultKeyedRateLimiter<String>,
    by_user_address: DefaultKeyedRateLimiter<(String, String)>,
    by_username: DefaultKeyedRateLimiter<String>,
}

impl LoginLimiter {
    /// `per_minute` attempts per (username, address); four times that per address and three
    /// times that per username before the backoff starts.
    pub fn new(per_minute: u32) -> Self {
        let quota =
            |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN));
        let n = per_minute.max(1);
        Self {
            by_address: DefaultKeyedRateLimiter::keyed(quota(n * 4)),
            by_user_address: DefaultKeyedRateLimiter::keyed(quota(n)),
            by_username: DefaultKeyedRateLimiter::keyed(quota(n * 3)),
        }
    }

    /// Takes one attempt of `username` from `address`.
    pub fn attempt(&self, username: &str, address: &str) -> Verdict {
        let now = DefaultClock::default().now();
        let username = username.to_lowercase();
        let address = address.to_string();
        let source = [
            self.by_address.check_key(&address),
            self.by_user_address
                .check_key(&(username.clone(), address.clone())),
        ];
        if let Some(Err(over)) = source.into_iter().find(Result::is_err) {
            return Verdict::Refuse(over.wait_time_from(now));
        }
        match self.by_username.check_key(&username) {
            Ok(()) => Verdict::Proceed(Duration::ZERO),
            Err(over) => Verdict::Proceed(over.wait_time_from(now).min(MAX_BACKOFF)),
        }
    }

    /// Forgets keys whose quota has fully refilled, so memory stays bounded.
    pub fn retain_recent(&self) {
        self.by_address.retain_recent();
        self.by_user_address.retain_recent();
        self.by_username.retain_recent();
    }
}

/// Forgets stale limiter keys every minute, forever (run it as a task).
pub async fn prune(limiter: Arc<LoginLimiter>) {
    let mut interval = tokio::time::interval(Duration::from_secs(60));
    loop {
        interval.tick().await;
        limiter.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_source_is_refused_but_the_username_only_slows_down() {
        let limiter = LoginLimiter::new(2);
        assert_eq!(
            limiter.attempt("root", "a"),
            Verdict::Proceed(Duration::ZERO)
        );
        assert_eq!(
            limiter.attempt("ROOT", "a"),
            Verdict::Proceed(Duration::ZERO)
        );
        assert!(matches!(limiter.attempt("root", "a"), Verdict::Refuse(_)));
        // Other addresses may still try root; past 3 × 2 a minute they wait, never refused.
        for address in ["b", "c", "d", "e"] {
            assert!(matches!(
                limiter.attempt("root", address),
                Verdict::Proceed(_)
            ));
        }
        match limiter.attempt("root", "f") {
            Verdict::Proceed(wait) => assert!(wait > Duration::ZERO && wait <= MAX_BACKOFF),
            Verdict::Refuse(_) => panic!("a username is never locked"),
        }
    }
}
