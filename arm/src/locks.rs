//! Per-key async locks: one write at a time per VNet, per firewall policy,
//! per user-assigned identity, as Azure requires (concurrent writes there
//! fail with `AnotherOperationInProgress` or worse).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;

/// A map of async mutexes keyed by (lower-cased) resource id.
#[derive(Default, Debug)]
pub struct KeyedLocks {
    map: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl KeyedLocks {
    /// Waits for and holds the lock for `key` until the guard drops.
    pub async fn lock(&self, key: &str) -> OwnedMutexGuard<()> {
        let m = self.map.lock().expect("locks map").entry(key.to_ascii_lowercase()).or_default().clone();
        m.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn same_key_serialises_other_keys_do_not() {
        let locks = Arc::new(KeyedLocks::default());
        let g = locks.lock("/subscriptions/x/vnet/A").await;
        let l2 = locks.clone();
        let blocked = tokio::spawn(async move { l2.lock("/SUBSCRIPTIONS/X/VNET/a").await });
        let other = locks.lock("/subscriptions/x/vnet/B").await;
        drop(other);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!blocked.is_finished(), "same key (any case) waits");
        drop(g);
        tokio::time::timeout(Duration::from_secs(1), blocked).await.unwrap().unwrap();
    }
}
