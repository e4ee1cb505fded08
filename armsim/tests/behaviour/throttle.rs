use serde_json::json;

use crate::common::H;

#[tokio::test]
async fn reads_follow_the_2024_token_bucket_exactly() {
    let h = H::new().await;
    h.rg("rg").await;
    let path = "{sub}/resourceGroups/rg?api-version=2025-04-01";
    for i in 0..250 {
        let r = h.get(path).await;
        assert_eq!(r.status, 200, "read {i}");
        assert_eq!(r.header("x-ms-ratelimit-remaining-subscription-reads"), Some((249 - i).to_string().as_str()));
    }
    let r = h.get(path).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.code(), "SubscriptionRequestsThrottled");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(r.header("x-ms-ratelimit-remaining-subscription-reads"), Some("0"));
    // 25 reads per second: one token every 40 ms, so a client pacing itself never sees a 429.
    for _ in 0..100 {
        h.advance(0.040);
        assert_eq!(h.get(path).await.status, 200);
    }
    h.advance(0.039);
    assert_eq!(h.get(path).await.status, 429);
    // Writes have their own bucket (200, 10/s); token and admin calls are not counted.
    let w = h.put(path, json!({"location": "westeurope"})).await;
    assert_eq!(w.status, 200);
    // The group's PUT used one write 4 s ago; 10 writes/s have refilled it.
    assert_eq!(w.header("x-ms-ratelimit-remaining-subscription-writes"), Some("199"));
    assert_eq!(h.admin("GET", "health", None).await.status, 200);
    let stats = h.admin("GET", "stats", None).await;
    assert_eq!(stats.body["throttled"], 2);
    assert_eq!(stats.body["by_status"]["429"], 2);
}

#[tokio::test]
async fn throttle_off_never_throttles() {
    let h = H::with(|c| c.throttle = armsim::ThrottleMode::Off).await;
    for _ in 0..300 {
        assert_eq!(h.get("{sub}/resourcegroups?api-version=2025-04-01").await.status, 200);
    }
}
