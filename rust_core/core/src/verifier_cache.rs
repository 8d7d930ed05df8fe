//! A bounded cache of SM2 [`Verifier`]s for keys that recur (the tax
//! bureau's seal and signer keys sign every invoice of a province).
//!
//! A [`Verifier`] costs about two fresh verifications to build and makes each
//! later one about three times faster, so a key gets one only on its second
//! sighting; keys seen once are verified directly. At most `capacity` keys
//! are remembered (the map is cleared when full). The lock is only ever
//! tried, never waited for: under contention, or in a forked child whose
//! parent held it, verification simply takes the uncached path, so the cache
//! can never block or deadlock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::Result;
use crate::sm2::{PublicKey, Signature, Verifier, DEFAULT_UID};

enum Slot {
    Seen,
    Ready(Arc<Verifier>),
}

/// See the module docs. Verifies with the default signer ID only.
pub struct VerifierCache {
    slots: Mutex<HashMap<[u8; 65], Slot>>,
    capacity: usize,
}

impl std::fmt::Debug for VerifierCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifierCache")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl VerifierCache {
    /// An empty cache remembering at most `capacity` keys.
    pub fn new(capacity: usize) -> Self {
        VerifierCache {
            slots: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// How many keys have a ready verifier.
    pub fn ready(&self) -> usize {
        self.slots.try_lock().map_or(0, |m| {
            m.values().filter(|s| matches!(s, Slot::Ready(_))).count()
        })
    }

    /// Verifies `signature` over `message` with `key` and the default ID;
    /// the same result as `key.verify(message, signature, DEFAULT_UID)`.
    pub fn verify(&self, key: &PublicKey, message: &[u8], signature: &Signature) -> Result<()> {
        let id = key.to_uncompressed();
        // None: verify directly. Some(None): build a verifier. Some(Some(v)): use v.
        let plan = match self.slots.try_lock() {
            Ok(mut slots) => match slots.get(&id) {
                Some(Slot::Ready(v)) => Some(Some(Arc::clone(v))),
                Some(Slot::Seen) => Some(None),
                None => {
                    if slots.len() >= self.capacity {
                        slots.clear();
                    }
                    slots.insert(id, Slot::Seen);
                    None
                }
            },
            Err(_) => None,
        };
        match plan {
            Some(Some(v)) => v.verify(message, signature),
            Some(None) => {
                let v = Arc::new(Verifier::new(*key, DEFAULT_UID)?);
                let out = v.verify(message, signature);
                if let Ok(mut slots) = self.slots.try_lock() {
                    slots.insert(id, Slot::Ready(v));
                }
                out
            }
            None => key.verify(message, signature, DEFAULT_UID),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sm2::PrivateKey;

    #[test]
    fn same_results_as_direct_verification_and_bounded() {
        let cache = VerifierCache::new(2);
        let keys: Vec<PrivateKey> = (0..3).map(|_| PrivateKey::generate().unwrap()).collect();
        for round in 0..3 {
            for k in &keys {
                let sig = k.sign(b"msg", DEFAULT_UID).unwrap();
                assert_eq!(cache.verify(k.public_key(), b"msg", &sig), Ok(()));
                assert!(cache.verify(k.public_key(), b"other", &sig).is_err());
                let _ = round;
            }
        }
        assert!(cache.ready() <= 2);
        // A key seen twice in a row gets a verifier.
        let cache = VerifierCache::new(8);
        let k = &keys[0];
        let sig = k.sign(b"m", DEFAULT_UID).unwrap();
        cache.verify(k.public_key(), b"m", &sig).unwrap();
        assert_eq!(cache.ready(), 0);
        cache.verify(k.public_key(), b"m", &sig).unwrap();
        assert_eq!(cache.ready(), 1);
    }
}
