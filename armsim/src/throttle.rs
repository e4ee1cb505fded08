//! ARM's 2024 per-subscription token buckets, in exact integer arithmetic (milli-tokens per
//! millisecond), so a client pacing itself at the refill rate never sees a 429.

use std::collections::HashMap;

/// Which bucket a request draws from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Category {
    Reads,
    Writes,
    Deletes,
}

impl Category {
    pub fn of(method: &str) -> Self {
        match method {
            "GET" | "HEAD" | "OPTIONS" => Category::Reads,
            "DELETE" => Category::Deletes,
            _ => Category::Writes,
        }
    }
    /// (burst, refill per second).
    pub fn limits(self) -> (i64, i64) {
        match self {
            Category::Reads => (250, 25),
            Category::Writes => (200, 10),
            Category::Deletes => (200, 10),
        }
    }
    pub fn header(self) -> &'static str {
        match self {
            Category::Reads => "x-ms-ratelimit-remaining-subscription-reads",
            Category::Writes => "x-ms-ratelimit-remaining-subscription-writes",
            Category::Deletes => "x-ms-ratelimit-remaining-subscription-deletes",
        }
    }
    pub fn word(self) -> &'static str {
        match self {
            Category::Reads => "read",
            Category::Writes => "write",
            Category::Deletes => "delete",
        }
    }
}

struct Bucket {
    /// Tokens × 1000.
    milli: i64,
    last_ms: i64,
}

#[derive(Default)]
pub(crate) struct Buckets {
    map: HashMap<(String, Category), Bucket>,
}

/// Outcome of drawing a token.
pub(crate) enum Draw {
    /// Allowed; tokens left afterwards.
    Ok(i64),
    /// Throttled; milliseconds until a token is available.
    Throttled(i64),
}

impl Buckets {
    pub fn draw(&mut self, sub: &str, cat: Category, now_ms: i64) -> Draw {
        let (burst, rate) = cat.limits();
        let b = self.map.entry((sub.to_string(), cat)).or_insert(Bucket { milli: burst * 1000, last_ms: now_ms });
        let elapsed = (now_ms - b.last_ms).max(0);
        // `rate` tokens per second is exactly `rate` milli-tokens per millisecond.
        b.milli = (b.milli + elapsed * rate).min(burst * 1000);
        b.last_ms = now_ms;
        if b.milli >= 1000 {
            b.milli -= 1000;
            Draw::Ok(b.milli / 1000)
        } else {
            Draw::Throttled((1000 - b.milli + rate - 1) / rate)
        }
    }

    pub fn clear(&mut self) {
        self.map.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_exact_refill() {
        let mut b = Buckets::default();
        for i in 0..250 {
            match b.draw("s", Category::Reads, 0) {
                Draw::Ok(left) => assert_eq!(left, 249 - i),
                Draw::Throttled(_) => panic!("throttled inside the burst at {i}"),
            }
        }
        let Draw::Throttled(wait) = b.draw("s", Category::Reads, 0) else { panic!("burst exceeded") };
        assert_eq!(wait, 40, "one read token every 40 ms");
        // A client pacing at exactly 25/s is never throttled.
        for step in 1..=100 {
            assert!(matches!(b.draw("s", Category::Reads, step * 40), Draw::Ok(0)));
        }
        assert!(matches!(b.draw("s", Category::Reads, 100 * 40 + 39), Draw::Throttled(1)));
    }
}
