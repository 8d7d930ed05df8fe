//! Arithmetic mod the group order
//! n = FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123.
//!
//! Scalars are four little-endian 64-bit limbs in Montgomery form
//! (`a·R mod n`, `R = 2^256`), always fully reduced. Generic CIOS Montgomery
//! multiplication (n has no special shape). Everything here is
//! constant-time except the functions whose names end in `_vartime`.

use super::field::{
    add_limbs, add_mod, limbs_from_be, limbs_to_be, lt_limbs, mac, r2_mod, reduce_once, sub_limbs,
    sub_mod,
};
use core::fmt;
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq, CtOption};
use zeroize::Zeroize;

/// n, little-endian limbs.
pub const N: [u64; 4] = [
    0x53BB_F409_39D5_4123,
    0x7203_DF6B_21C6_052B,
    0xFFFF_FFFF_FFFF_FFFF,
    0xFFFF_FFFE_FFFF_FFFF,
];

/// `−n⁻¹ mod 2^64` (Newton iteration at compile time).
const N0_INV: u64 = {
    let n0 = N[0];
    let mut inv: u64 = 1;
    let mut i = 0;
    while i < 6 {
        inv = inv.wrapping_mul(2u64.wrapping_sub(n0.wrapping_mul(inv)));
        i += 1;
    }
    inv.wrapping_neg()
};

/// R mod n = 2^256 − n.
const R1: [u64; 4] = sub_limbs(&[0; 4], &N).0;
/// R² mod n.
const R2: [u64; 4] = r2_mod(&N);

/// Montgomery product `a·b·R⁻¹ mod n` (CIOS), fully reduced.
#[inline(always)]
const fn mont_mul(a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
    let mut t = [0u64; 6];
    let mut i = 0;
    while i < 4 {
        // t += a[i]·b
        let mut c = 0;
        let mut j = 0;
        while j < 4 {
            let (lo, hi) = mac(t[j], a[i], b[j], c);
            t[j] = lo;
            c = hi;
            j += 1;
        }
        let (lo, hi) = super::field::adc(t[4], c, 0);
        t[4] = lo;
        t[5] = hi;
        // t = (t + m·n) / 2^64
        let m = t[0].wrapping_mul(N0_INV);
        let (_, mut c) = mac(t[0], m, N[0], 0);
        let mut j = 1;
        while j < 4 {
            let (lo, hi) = mac(t[j], m, N[j], c);
            t[j - 1] = lo;
            c = hi;
            j += 1;
        }
        let (lo, hi) = super::field::adc(t[4], c, 0);
        t[3] = lo;
        t[4] = t[5] + hi;
        i += 1;
    }
    reduce_once(&[t[0], t[1], t[2], t[3]], t[4], &N)
}

/// An integer mod n in Montgomery form.
#[derive(Clone, Copy, Default, Zeroize)]
pub struct Scalar(pub(crate) [u64; 4]);

impl Scalar {
    /// 0.
    pub const ZERO: Self = Scalar([0; 4]);
    /// 1.
    pub const ONE: Self = Scalar(R1);

    /// From a canonical 32-byte big-endian value; `None` if `≥ n`.
    pub fn from_bytes(bytes: &[u8; 32]) -> CtOption<Self> {
        let limbs = limbs_from_be(bytes);
        let in_range = Choice::from(lt_limbs(&limbs, &N) as u8);
        CtOption::new(Scalar(mont_mul(&limbs, &R2)), in_range)
    }

    /// Any 256-bit big-endian value reduced mod n (one conditional
    /// subtraction suffices since `2^256 < 2n`).
    pub fn from_bytes_reduced(bytes: &[u8; 32]) -> Self {
        let limbs = reduce_once(&limbs_from_be(bytes), 0, &N);
        Scalar(mont_mul(&limbs, &R2))
    }

    /// From a small integer.
    pub const fn from_u64(v: u64) -> Self {
        Scalar(mont_mul(&[v, 0, 0, 0], &R2))
    }

    /// Canonical 32-byte big-endian encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        limbs_to_be(&self.canonical_limbs())
    }

    /// Canonical (non-Montgomery) little-endian limbs.
    pub(crate) const fn canonical_limbs(&self) -> [u64; 4] {
        mont_mul(&self.0, &[1, 0, 0, 0])
    }

    /// 1 if zero.
    pub fn is_zero(&self) -> Choice {
        self.ct_eq(&Self::ZERO)
    }

    /// `self + rhs`.
    #[inline(always)]
    pub const fn add(&self, rhs: &Self) -> Self {
        Scalar(add_mod(&self.0, &rhs.0, &N))
    }

    /// `self − rhs`.
    #[inline(always)]
    pub const fn sub(&self, rhs: &Self) -> Self {
        Scalar(sub_mod(&self.0, &rhs.0, &N))
    }

    /// `−self`.
    #[inline(always)]
    pub const fn neg(&self) -> Self {
        Scalar(sub_mod(&[0; 4], &self.0, &N))
    }

    /// `self · rhs`.
    #[inline(always)]
    pub const fn mul(&self, rhs: &Self) -> Self {
        Scalar(mont_mul(&self.0, &rhs.0))
    }

    /// `self²`.
    #[inline(always)]
    pub const fn square(&self) -> Self {
        Scalar(mont_mul(&self.0, &self.0))
    }

    /// `self^(n−2)`: the inverse, or `None` for 0. Constant-time: a fixed
    /// 4-bit window over the public exponent `n − 2`, so the sequence of
    /// operations and table indices depends only on that constant.
    pub fn invert(&self) -> CtOption<Self> {
        // table[i] = self^i, i = 0..16
        let mut table = [Scalar::ONE; 16];
        table[1] = *self;
        for i in 2..16 {
            table[i] = table[i - 1].mul(self);
        }
        let (e, _) = sub_limbs(&N, &[2, 0, 0, 0]);
        let mut acc = Scalar::ONE;
        for limb in e.iter().rev() {
            for nib in (0..16).rev() {
                acc = acc.square().square().square().square();
                let idx = ((limb >> (nib * 4)) & 0xf) as usize;
                acc = acc.mul(&table[idx]);
            }
        }
        table.zeroize();
        CtOption::new(acc, !self.is_zero())
    }
}

/// `p − n` as canonical limbs: `c + n < p` ⟺ `c < p − n` (used by the
/// inversion-free final check of verification).
pub(crate) const P_MINUS_N: [u64; 4] = sub_limbs(&super::field::P, &N).0;

/// 1 if the canonical value `c` of `s` satisfies `c + n < p`.
pub(crate) fn plus_n_below_p(s: &Scalar) -> bool {
    lt_limbs(&s.canonical_limbs(), &P_MINUS_N) == 1
}

/// `c + n` for canonical limbs `c < p − n` (so the sum is `< p < 2^256`).
pub(crate) fn canonical_plus_n(s: &Scalar) -> [u64; 4] {
    add_limbs(&s.canonical_limbs(), &N).0
}

impl ConditionallySelectable for Scalar {
    #[inline(always)]
    fn conditional_select(a: &Self, b: &Self, choice: Choice) -> Self {
        Scalar([
            u64::conditional_select(&a.0[0], &b.0[0], choice),
            u64::conditional_select(&a.0[1], &b.0[1], choice),
            u64::conditional_select(&a.0[2], &b.0[2], choice),
            u64::conditional_select(&a.0[3], &b.0[3], choice),
        ])
    }
}

impl ConstantTimeEq for Scalar {
    #[inline(always)]
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0[0].ct_eq(&other.0[0])
            & self.0[1].ct_eq(&other.0[1])
            & self.0[2].ct_eq(&other.0[2])
            & self.0[3].ct_eq(&other.0[3])
    }
}

impl PartialEq for Scalar {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for Scalar {}

impl fmt::Debug for Scalar {
    /// Prints only a placeholder: scalars are often secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Scalar(..)")
    }
}

impl core::ops::Add for Scalar {
    type Output = Self;
    #[inline(always)]
    fn add(self, rhs: Self) -> Self {
        Scalar::add(&self, &rhs)
    }
}

impl core::ops::Sub for Scalar {
    type Output = Self;
    #[inline(always)]
    fn sub(self, rhs: Self) -> Self {
        Scalar::sub(&self, &rhs)
    }
}

impl core::ops::Mul for Scalar {
    type Output = Self;
    #[inline(always)]
    fn mul(self, rhs: Self) -> Self {
        Scalar::mul(&self, &rhs)
    }
}

impl core::ops::Neg for Scalar {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        Scalar::neg(&self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n0_inv_is_correct() {
        assert_eq!(N[0].wrapping_mul(N0_INV), u64::MAX);
    }

    #[test]
    fn n_is_rejected_and_reduces_to_zero() {
        let n = limbs_to_be(&N);
        assert!(bool::from(Scalar::from_bytes(&n).is_none()));
        assert_eq!(Scalar::from_bytes_reduced(&n), Scalar::ZERO);
        let x = Scalar::from_u64(5);
        assert_eq!(x * x.invert().unwrap(), Scalar::ONE);
    }
}
