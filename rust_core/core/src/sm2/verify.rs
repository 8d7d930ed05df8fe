//! Verification (GB/T 32918.2-2016 §7.1). Variable-time: every input (public
//! key, message digest, signature) is public, so branching on values and
//! using them as table indices reveals nothing secret.
//! OWNER: SM2 helper. Contract below is fixed; fill in bodies.

use super::field::FieldElement;
use super::keys::PublicKey;
use super::point::{JacobianPoint, PointTable};
use super::scalar::{canonical_plus_n, plus_n_below_p, Scalar};
use super::signature::Signature;
use crate::error::{Error, Result};
use crate::sm3::Sm3;
use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};
use std::sync::{Arc, Mutex};

/// Steps B1, B2, B5–B7 on a digest `e`, with `mul(s, t)` computing
/// `s·G + t·P_A` (so a caller with a per-key table can supply a faster
/// one). Variable-time.
pub(crate) fn verify_prehashed(
    e: &[u8; 32],
    signature: &Signature,
    mul: impl FnOnce(&Scalar, &Scalar) -> JacobianPoint,
) -> Result<()> {
    // B1, B2: r, s ∈ [1, n−1].
    let r =
        Option::<Scalar>::from(Scalar::from_bytes(signature.r())).ok_or(Error::InvalidSignature)?;
    let s =
        Option::<Scalar>::from(Scalar::from_bytes(signature.s())).ok_or(Error::InvalidSignature)?;
    if bool::from(r.is_zero() | s.is_zero()) {
        return Err(Error::InvalidSignature);
    }
    // B5: t = (r + s) mod n ≠ 0.
    let t = r.add(&s);
    if bool::from(t.is_zero()) {
        return Err(Error::InvalidSignature);
    }
    // B6: (x1, y1) = s·G + t·P_A.
    let point = mul(&s, &t);
    if bool::from(point.is_identity()) {
        return Err(Error::InvalidSignature);
    }
    // B7: (e + x1) mod n = r  ⟺  x1 ≡ r − e (mod n). With c = (r − e) mod n
    // and x1 ∈ [0, p), x1 mod n = c means x1 = c or x1 = c + n (the latter
    // only possible when c + n < p). x1 = X/Z², so compare X with c·Z² and
    // (c + n)·Z²: no field inversion.
    let c = r.sub(&Scalar::from_bytes_reduced(e));
    let (x, _, z) = point.coordinates();
    let z2 = z.square();
    let c_fe = FieldElement::from_canonical(&c.canonical_limbs());
    if *x == c_fe.mul(&z2) {
        return Ok(());
    }
    if plus_n_below_p(&c) {
        let cn_fe = FieldElement::from_canonical(&canonical_plus_n(&c));
        if *x == cn_fe.mul(&z2) {
            return Ok(());
        }
    }
    Err(Error::InvalidSignature)
}

/// A verifier for a recurring key: caches the validated point, Z_A for one
/// signer ID and (fast-SM2 issue) a precomputed table for the point.
#[derive(Clone, Debug)]
pub struct Verifier {
    key: PublicKey,
    za: [u8; 32],
    /// Per-key precomputed multiples of the public point (see
    /// [`PointTable`]); the place to grow a bigger per-key structure.
    table: PointTable,
}

impl Verifier {
    /// Builds a verifier for `key` and signer ID `uid`.
    pub fn new(key: PublicKey, uid: &[u8]) -> Result<Self> {
        let za = key.za(uid)?;
        let table = PointTable::new(&key.point());
        Ok(Verifier { key, za, table })
    }
    /// The key.
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }
    /// Verifies `signature` over `message` (with the cached Z_A).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<()> {
        let mut h = Sm3::new();
        h.update(&self.za);
        h.update(message);
        self.verify_digest(&h.finalize(), signature)
    }
    /// Verifies over a precomputed digest.
    pub fn verify_digest(&self, e: &[u8; 32], signature: &Signature) -> Result<()> {
        verify_prehashed(e, signature, |s, t| {
            self.table.double_mul_base_vartime(s, t)
        })
    }
}

/// Verifies many `(public key bytes, message, signature bytes)` items with
/// the same signer ID, spread over all cores (see [`batch_pool`]). Each
/// result is true only if the item parsed and verified.
pub fn verify_batch(items: &[(&[u8], &[u8], &[u8])], uid: &[u8]) -> Vec<bool> {
    let one = |(key, message, signature): &(&[u8], &[u8], &[u8])| {
        let Ok(key) = PublicKey::from_bytes(key) else {
            return false;
        };
        let Ok(signature) = Signature::from_bytes(signature) else {
            return false;
        };
        key.verify(message, &signature, uid).is_ok()
    };
    // A handful of items is cheaper than waking the pool.
    if items.len() < 4 {
        return items.iter().map(one).collect();
    }
    // ~60 µs per item: chunks of 16 keep the scheduling overhead far below
    // 1% while still balancing the tail across threads.
    batch_pool().install(|| items.par_iter().with_min_len(16).map(one).collect())
}

/// The thread pool of [`verify_batch`], created lazily and owned by the
/// current process.
///
/// Why not rayon's global pool: the Python service forks worker processes.
/// After `fork()` only the forking thread exists in the child, but rayon's
/// global registry (a process-wide static, created once) still refers to
/// the parent's worker threads, so a child that inherited an initialised
/// global pool would queue jobs that no thread ever runs — a hang. Here the
/// pool is keyed by `std::process::id()`: a child sees a different PID and
/// builds its own pool on first use. The inherited pool is leaked, not
/// dropped: its threads do not exist in the child and its locks may have
/// been held by them at the fork, so dropping it could block.
fn batch_pool() -> Arc<ThreadPool> {
    static POOL: Mutex<Option<(u32, Arc<ThreadPool>)>> = Mutex::new(None);
    pool_for_pid(&POOL, std::process::id())
}

fn pool_for_pid(slot: &Mutex<Option<(u32, Arc<ThreadPool>)>>, pid: u32) -> Arc<ThreadPool> {
    // A poisoned lock only means another thread panicked while holding it;
    // the slot itself is always in a consistent state.
    let mut guard = slot.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((owner, pool)) = guard.as_ref() {
        if *owner == pid {
            return Arc::clone(pool);
        }
    }
    if let Some((_, inherited)) = guard.take() {
        std::mem::forget(inherited);
    }
    let pool = Arc::new(
        ThreadPoolBuilder::new()
            .thread_name(|i| format!("sidian-sm2-{i}"))
            .build()
            .expect("cannot start the SM2 batch thread pool"),
    );
    *guard = Some((pid, Arc::clone(&pool)));
    pool
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sm2::field::limbs_to_be;
    use crate::sm2::point::AffinePoint;
    use crate::sm2::scalar::N;
    use subtle::Choice;

    /// A point whose x coordinate lies in [n, p), scaled to Z ≠ 1. Such an
    /// x1 occurs with probability ~2^-128 for real signatures, so the
    /// `c + n` branch of the final check is exercised through the `mul`
    /// hook instead.
    fn point_with_x_at_least_n() -> (JacobianPoint, [u8; 32]) {
        for extra in 0u64..1000 {
            let mut x = N;
            x[0] += extra;
            let x_bytes = limbs_to_be(&x);
            let fe = FieldElement::from_bytes(&x_bytes).unwrap();
            if let Some(p) =
                Option::<AffinePoint>::from(AffinePoint::decompress(&fe, Choice::from(0)))
            {
                // 2P − P: same point, non-trivial Z.
                let pj = JacobianPoint::from_affine(&p);
                let q = pj.double().add_vartime(&pj.neg());
                assert_ne!(*q.coordinates().2, FieldElement::ONE);
                return (q, x_bytes);
            }
        }
        unreachable!("half of all x are on the curve");
    }

    #[test]
    fn batch_pool_is_rebuilt_when_the_pid_changes() {
        let slot = Mutex::new(None);
        let a = pool_for_pid(&slot, 100);
        let b = pool_for_pid(&slot, 100);
        assert!(Arc::ptr_eq(&a, &b));
        // As after fork(): a new PID gets a new pool that works.
        let c = pool_for_pid(&slot, 101);
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(c.install(|| (0..100u32).into_par_iter().sum::<u32>()), 4950);
        assert!(Arc::ptr_eq(&c, &pool_for_pid(&slot, 101)));
    }

    #[test]
    fn final_check_handles_x1_at_least_n() {
        let (point, x_bytes) = point_with_x_at_least_n();
        let x1 = Scalar::from_bytes_reduced(&x_bytes); // x1 − n
        let r = Scalar::from_u64(12345);
        let s = Scalar::from_u64(678);
        // e = r − x1 (mod n) makes R = (e + x1) mod n = r.
        let e = r.sub(&x1).to_bytes();
        let sig = Signature::from_scalars(r.to_bytes(), s.to_bytes());
        assert_eq!(verify_prehashed(&e, &sig, |_, _| point), Ok(()));
        // c = r − e = x1 − n here, so only the c + n comparison matches.
        assert!(plus_n_below_p(&r.sub(&Scalar::from_bytes_reduced(&e))));
        let e_wrong = r.sub(&x1).add(&Scalar::ONE).to_bytes();
        assert_eq!(
            verify_prehashed(&e_wrong, &sig, |_, _| point),
            Err(Error::InvalidSignature)
        );
        // The point at infinity never verifies.
        assert_eq!(
            verify_prehashed(&e, &sig, |_, _| JacobianPoint::IDENTITY),
            Err(Error::InvalidSignature)
        );
    }
}
