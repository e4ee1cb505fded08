//! The simulator's clock: the system clock, or a manual one tests move forward.

use std::sync::Arc;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

static MONO_BASE: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Time source for operation deadlines, token expiry and throttling buckets.
///
/// `System` is wall-clock time (deadlines persist across restarts); `Manual` only moves when
/// [`Clock::advance`] is called, which makes long-running operations and token buckets exactly
/// reproducible in tests.
#[derive(Clone, Debug, Default)]
pub enum Clock {
    /// Real time.
    #[default]
    System,
    /// A clock that only moves when told to (milliseconds since the Unix epoch).
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// A manual clock starting at `unix_ms`.
    pub fn manual_at(unix_ms: i64) -> Self {
        Clock::Manual(Arc::new(AtomicI64::new(unix_ms)))
    }

    /// A manual clock starting at 2026-01-01T00:00:00Z, the default for reproducible tests.
    pub fn manual() -> Self {
        Self::manual_at(1_767_225_600_000)
    }

    /// Moves a manual clock forward; the system clock cannot be moved and ignores this.
    pub fn advance(&self, by: Duration) {
        if let Clock::Manual(ms) = self {
            ms.fetch_add(by.as_millis() as i64, Ordering::SeqCst);
        }
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        match self {
            Clock::System => SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_millis() as i64,
            Clock::Manual(ms) => ms.load(Ordering::SeqCst),
        }
    }

    /// Monotonic milliseconds (for token buckets: wall-clock jumps must not mint tokens).
    pub fn mono_ms(&self) -> i64 {
        match self {
            Clock::System => MONO_BASE.elapsed().as_millis() as i64,
            Clock::Manual(ms) => ms.load(Ordering::SeqCst),
        }
    }
}

/// RFC 3339 UTC timestamp with 7 fractional digits, as ARM writes them.
pub(crate) fn rfc3339(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}0000Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// HTTP `Date` header value.
pub(crate) fn http_date(ms: i64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64))
}
