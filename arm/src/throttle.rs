//! Client-side token buckets shaped like ARM's 2024 limits (per subscription:
//! reads 250 burst / 25 per s, writes and deletes 200 / 10 per s), so a large
//! refresh paces itself instead of collecting 429s. The first response of
//! each class calibrates the bucket from `x-ms-ratelimit-remaining-*`, and
//! every later one can only lower it: ARM's count is the truth when other
//! clients share the subscription.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Request class, as ARM counts them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpClass {
    /// GET (and HEAD).
    Read,
    /// PUT, PATCH, POST.
    Write,
    /// DELETE.
    Delete,
}

impl OpClass {
    /// The class of an HTTP method.
    pub fn of(method: &str) -> OpClass {
        match method {
            "GET" | "HEAD" => OpClass::Read,
            "DELETE" => OpClass::Delete,
            _ => OpClass::Write,
        }
    }
    /// ARM's header reporting what is left of this class.
    pub fn remaining_header(self) -> &'static str {
        match self {
            OpClass::Read => "x-ms-ratelimit-remaining-subscription-reads",
            OpClass::Write => "x-ms-ratelimit-remaining-subscription-writes",
            OpClass::Delete => "x-ms-ratelimit-remaining-subscription-deletes",
        }
    }
    /// ARM's (burst, refill per second).
    pub fn limits(self) -> (f64, f64) {
        match self {
            OpClass::Read => (250.0, 25.0),
            OpClass::Write | OpClass::Delete => (200.0, 10.0),
        }
    }
}

#[derive(Debug)]
struct State {
    tokens: f64,
    at: Instant,
    calibrated: bool,
    probe_out: bool,
}

/// One bucket. Reservations may drive `tokens` below zero: each caller
/// then waits its own turn, so pacing is exact and first come, first served.
#[derive(Debug)]
pub struct Bucket {
    capacity: f64,
    rate: f64,
    state: Mutex<State>,
    calibrated: tokio::sync::Notify,
}

/// What a caller must do before sending.
#[derive(Debug, PartialEq)]
pub enum Admit {
    /// Send after waiting this long (zero: now).
    After(Duration),
    /// Another request is calibrating the bucket; wait for it and ask again.
    WaitForProbe,
}

impl Bucket {
    /// A bucket with ARM's limits for `class`.
    pub fn new(class: OpClass) -> Bucket {
        let (capacity, rate) = class.limits();
        Bucket::with_limits(capacity, rate)
    }

    /// A bucket with explicit limits.
    pub fn with_limits(capacity: f64, rate: f64) -> Bucket {
        Bucket {
            capacity,
            rate,
            state: Mutex::new(State { tokens: capacity, at: Instant::now(), calibrated: false, probe_out: false }),
            calibrated: tokio::sync::Notify::new(),
        }
    }

    fn refill(&self, s: &mut State, now: Instant) {
        let dt = now.saturating_duration_since(s.at).as_secs_f64();
        s.tokens = (s.tokens + dt * self.rate).min(self.capacity);
        s.at = now;
    }

    /// Reserves one token at `now`.
    pub fn admit(&self, now: Instant) -> Admit {
        let mut s = self.state.lock().expect("bucket lock");
        if !s.calibrated {
            if s.probe_out {
                return Admit::WaitForProbe;
            }
            s.probe_out = true;
        }
        self.refill(&mut s, now);
        s.tokens -= 1.0;
        if s.tokens >= 0.0 { Admit::After(Duration::ZERO) } else { Admit::After(Duration::from_secs_f64(-s.tokens / self.rate)) }
    }

    /// Waits (cancellably) until a request may be sent.
    pub async fn acquire(&self, cancel: &tokio_util::sync::CancellationToken) -> Result<(), ()> {
        loop {
            let notified = self.calibrated.notified();
            match self.admit(Instant::now()) {
                Admit::After(d) if d.is_zero() => return Ok(()),
                Admit::After(d) => {
                    tokio::select! {
                        _ = tokio::time::sleep(d) => return Ok(()),
                        _ = cancel.cancelled() => return Err(()),
                    }
                }
                Admit::WaitForProbe => {
                    // A probe that never reports back (lost response) must not
                    // stall everyone: give up waiting after a short while.
                    tokio::select! {
                        _ = notified => {}
                        _ = tokio::time::sleep(Duration::from_secs(2)) => self.observe(None, Instant::now()),
                        _ = cancel.cancelled() => return Err(()),
                    }
                }
            }
        }
    }

    /// Feeds back what ARM said is left (`None`: the response did not say).
    pub fn observe(&self, remaining: Option<f64>, now: Instant) {
        let mut s = self.state.lock().expect("bucket lock");
        self.refill(&mut s, now);
        if let Some(r) = remaining {
            // In-flight reservations are already subtracted from ours; ARM's
            // number can only make us more careful.
            s.tokens = s.tokens.min(r);
        }
        if !s.calibrated {
            s.calibrated = true;
            s.probe_out = false;
            drop(s);
            self.calibrated.notify_waiters();
        }
    }

    /// A throttling response: ARM's bucket is empty, so is ours.
    pub fn drain(&self, now: Instant) {
        let mut s = self.state.lock().expect("bucket lock");
        self.refill(&mut s, now);
        s.tokens = s.tokens.min(0.0);
    }

    /// Tokens now (for tests and logs).
    pub fn tokens(&self, now: Instant) -> f64 {
        let mut s = self.state.lock().expect("bucket lock");
        self.refill(&mut s, now);
        s.tokens
    }
}

/// The three buckets of one subscription.
#[derive(Debug)]
pub struct SubscriptionBuckets {
    read: Bucket,
    write: Bucket,
    delete: Bucket,
}

impl Default for SubscriptionBuckets {
    fn default() -> Self {
        SubscriptionBuckets { read: Bucket::new(OpClass::Read), write: Bucket::new(OpClass::Write), delete: Bucket::new(OpClass::Delete) }
    }
}

impl SubscriptionBuckets {
    /// The bucket for a class.
    pub fn get(&self, c: OpClass) -> &Bucket {
        match c {
            OpClass::Read => &self.read,
            OpClass::Write => &self.write,
            OpClass::Delete => &self.delete,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_steady_rate_like_arm() {
        let b = Bucket::with_limits(250.0, 25.0);
        let t0 = Instant::now();
        b.observe(Some(250.0), t0);
        for _ in 0..250 {
            assert_eq!(b.admit(t0), Admit::After(Duration::ZERO));
        }
        // The 251st waits 1/25 s, the 260th 10/25 s.
        assert_eq!(b.admit(t0), Admit::After(Duration::from_millis(40)));
        for _ in 0..8 {
            b.admit(t0);
        }
        assert_eq!(b.admit(t0), Admit::After(Duration::from_millis(400)));
        // A second later 25 more tokens have arrived.
        assert!((b.tokens(t0 + Duration::from_secs(1)) - 15.0).abs() < 1e-6);
    }

    #[test]
    fn only_one_probe_until_arm_reports() {
        let b = Bucket::with_limits(200.0, 10.0);
        let t0 = Instant::now();
        assert_eq!(b.admit(t0), Admit::After(Duration::ZERO));
        assert_eq!(b.admit(t0), Admit::WaitForProbe);
        // ARM says a previous process left only 5.
        b.observe(Some(5.0), t0);
        for _ in 0..5 {
            assert_eq!(b.admit(t0), Admit::After(Duration::ZERO));
        }
        assert!(matches!(b.admit(t0), Admit::After(d) if d > Duration::ZERO));
    }

    #[test]
    fn arm_can_only_lower_the_count_and_429_drains() {
        let b = Bucket::with_limits(200.0, 10.0);
        let t0 = Instant::now();
        b.observe(Some(150.0), t0);
        b.observe(Some(190.0), t0);
        assert!((b.tokens(t0) - 150.0).abs() < 1e-6);
        b.drain(t0);
        assert!(b.tokens(t0) <= 0.0);
    }
}
