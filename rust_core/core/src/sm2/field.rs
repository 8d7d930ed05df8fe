//! Arithmetic mod p = 2^256 − 2^224 − 2^96 + 2^64 − 1 (the sm2p256v1 prime).
//!
//! Elements are four little-endian 64-bit limbs in Montgomery form
//! (`a·R mod p`, `R = 2^256`), always fully reduced (`< p`), so limb equality
//! is value equality.
//!
//! Because `p ≡ −1 (mod 2^64)`, `−p⁻¹ mod 2^64 = 1`: each Montgomery
//! reduction step uses the low limb itself as the multiplier `m`, and
//! `(t + m·p) / 2^64 = (t >> 64) + m·(p + 1)/2^64`, where
//! `(p + 1)/2^64 = 2^192 − 2^160 − 2^32 + 1`. So `m·(p+1)/2^64` is formed
//! from shifts of `m` and a few additions and subtractions — no
//! multiplication by `p` at all (see `redc_step`).
//!
//! `mul`/`square` go through `field_adx` (MULX/ADX
//! inline assembly when the CPU has BMI2 and ADX, else the portable code
//! below); `mul_portable`/`square_portable` are the `const` portable forms.
//!
//! Everything here is constant-time (no branch or memory index depends on
//! an element's value); there is no `_vartime` function in this module.
//! Portable Rust with `u128` (measured: schoolbook operand scanning beats a
//! product-scanning/Comba variant here). Faster backends would replace
//! `mul_wide`, `square_wide` and `montgomery_reduce`; note that MULX/ADX
//! code behind runtime CPU detection lives in `field_adx`.

use core::fmt;
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq, CtOption};
use zeroize::Zeroize;

// ---------------------------------------------------------------------------
// Limb helpers, shared with `scalar`.
// ---------------------------------------------------------------------------

/// `a + b + carry` → (sum, carry out). `carry` may be any `u64`.
#[inline(always)]
pub(crate) const fn adc(a: u64, b: u64, carry: u64) -> (u64, u64) {
    // Wrapping u128 arithmetic: the sum always fits, and explicit wrapping
    // keeps the workspace's `overflow-checks = true` from adding branches.
    let t = (a as u128)
        .wrapping_add(b as u128)
        .wrapping_add(carry as u128);
    (t as u64, (t >> 64) as u64)
}

/// `a − b − borrow` → (difference, borrow out ∈ {0, 1}); `borrow ∈ {0, 1}`.
/// Written with `overflowing_sub` so that LLVM emits a `sub`/`sbb` chain.
#[inline(always)]
pub(crate) const fn sbb(a: u64, b: u64, borrow: u64) -> (u64, u64) {
    let (d, b1) = a.overflowing_sub(b);
    let (d, b2) = d.overflowing_sub(borrow);
    (d, (b1 | b2) as u64)
}

/// `acc + a·b + carry` → (low, high). Never overflows `u128`.
#[inline(always)]
pub(crate) const fn mac(acc: u64, a: u64, b: u64, carry: u64) -> (u64, u64) {
    let t = ((a as u128).wrapping_mul(b as u128))
        .wrapping_add(acc as u128)
        .wrapping_add(carry as u128);
    (t as u64, (t >> 64) as u64)
}

/// Full 256×256 → 512-bit product (schoolbook, 16 multiplications).
#[inline(always)]
pub(crate) const fn mul_wide(a: &[u64; 4], b: &[u64; 4]) -> [u64; 8] {
    let mut t = [0u64; 8];
    let mut i = 0;
    while i < 4 {
        let mut carry = 0;
        let mut j = 0;
        while j < 4 {
            let (lo, hi) = mac(t[i + j], a[i], b[j], carry);
            t[i + j] = lo;
            carry = hi;
            j += 1;
        }
        t[i + 4] = carry;
        i += 1;
    }
    t
}

/// Full 256-bit square → 512 bits (6 cross products doubled + 4 squares).
#[inline(always)]
pub(crate) const fn square_wide(a: &[u64; 4]) -> [u64; 8] {
    let (t1, c) = mac(0, a[0], a[1], 0);
    let (t2, c) = mac(0, a[0], a[2], c);
    let (t3, t4) = mac(0, a[0], a[3], c);
    let (t3, c) = mac(t3, a[1], a[2], 0);
    let (t4, t5) = mac(t4, a[1], a[3], c);
    let (t5, t6) = mac(t5, a[2], a[3], 0);

    let t7 = t6 >> 63;
    let t6 = (t6 << 1) | (t5 >> 63);
    let t5 = (t5 << 1) | (t4 >> 63);
    let t4 = (t4 << 1) | (t3 >> 63);
    let t3 = (t3 << 1) | (t2 >> 63);
    let t2 = (t2 << 1) | (t1 >> 63);
    let t1 = t1 << 1;

    let (t0, c) = mac(0, a[0], a[0], 0);
    let (t1, c) = adc(t1, 0, c);
    let (t2, c) = mac(t2, a[1], a[1], c);
    let (t3, c) = adc(t3, 0, c);
    let (t4, c) = mac(t4, a[2], a[2], c);
    let (t5, c) = adc(t5, 0, c);
    let (t6, c) = mac(t6, a[3], a[3], c);
    let (t7, _) = adc(t7, 0, c);
    [t0, t1, t2, t3, t4, t5, t6, t7]
}

/// `a − b` on 256-bit values → (difference mod 2^256, borrow ∈ {0, 1}).
#[inline(always)]
pub(crate) const fn sub_limbs(a: &[u64; 4], b: &[u64; 4]) -> ([u64; 4], u64) {
    let (d0, bw) = sbb(a[0], b[0], 0);
    let (d1, bw) = sbb(a[1], b[1], bw);
    let (d2, bw) = sbb(a[2], b[2], bw);
    let (d3, bw) = sbb(a[3], b[3], bw);
    ([d0, d1, d2, d3], bw)
}

/// `a + b` on 256-bit values → (sum mod 2^256, carry ∈ {0, 1}).
#[inline(always)]
pub(crate) const fn add_limbs(a: &[u64; 4], b: &[u64; 4]) -> ([u64; 4], u64) {
    let (s0, c) = adc(a[0], b[0], 0);
    let (s1, c) = adc(a[1], b[1], c);
    let (s2, c) = adc(a[2], b[2], c);
    let (s3, c) = adc(a[3], b[3], c);
    ([s0, s1, s2, s3], c)
}

/// All-ones if `bit` is 1, zero if it is 0, hidden from the optimiser: on a
/// plain `0 − bit` mask LLVM sees a two-valued value and may turn `x & mask`
/// into a branch or a table select on `bit` (it did, for the constant
/// moduli: found by `make ct-grind`). The barrier keeps the select
/// arithmetic, so it stays constant-time.
#[inline(always)]
pub(crate) const fn ct_mask(bit: u64) -> u64 {
    core::hint::black_box(0u64.wrapping_sub(bit))
}

/// Given the 257-bit value `carry·2^256 + a` known to be `< 2m`, returns it
/// reduced mod `m` (one masked conditional subtraction).
#[inline(always)]
pub(crate) const fn reduce_once(a: &[u64; 4], carry: u64, m: &[u64; 4]) -> [u64; 4] {
    let (d, borrow) = sub_limbs(a, m);
    // The subtraction is wrong (keep `a`) only if it borrowed and there was
    // no carry bit to absorb the borrow.
    let keep_a = ct_mask(borrow & !carry & 1);
    [
        (a[0] & keep_a) | (d[0] & !keep_a),
        (a[1] & keep_a) | (d[1] & !keep_a),
        (a[2] & keep_a) | (d[2] & !keep_a),
        (a[3] & keep_a) | (d[3] & !keep_a),
    ]
}

/// `(a + b) mod m` for `a, b < m`.
#[inline(always)]
pub(crate) const fn add_mod(a: &[u64; 4], b: &[u64; 4], m: &[u64; 4]) -> [u64; 4] {
    let (s, carry) = add_limbs(a, b);
    reduce_once(&s, carry, m)
}

/// `(a − b) mod m` for `a, b < m`.
#[inline(always)]
pub(crate) const fn sub_mod(a: &[u64; 4], b: &[u64; 4], m: &[u64; 4]) -> [u64; 4] {
    let (d, borrow) = sub_limbs(a, b);
    let mask = ct_mask(borrow);
    let (r0, c) = adc(d[0], m[0] & mask, 0);
    let (r1, c) = adc(d[1], m[1] & mask, c);
    let (r2, c) = adc(d[2], m[2] & mask, c);
    let (r3, _) = adc(d[3], m[3] & mask, c);
    [r0, r1, r2, r3]
}

/// Big-endian 32 bytes → little-endian limbs.
#[inline(always)]
pub(crate) const fn limbs_from_be(bytes: &[u8; 32]) -> [u64; 4] {
    let mut out = [0u64; 4];
    let mut i = 0;
    while i < 4 {
        let mut w = 0u64;
        let mut j = 0;
        while j < 8 {
            w = (w << 8) | bytes[(3 - i) * 8 + j] as u64;
            j += 1;
        }
        out[i] = w;
        i += 1;
    }
    out
}

/// Little-endian limbs → big-endian 32 bytes.
#[inline(always)]
pub(crate) const fn limbs_to_be(limbs: &[u64; 4]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 4 {
        let b = limbs[3 - i].to_be_bytes();
        let mut j = 0;
        while j < 8 {
            out[i * 8 + j] = b[j];
            j += 1;
        }
        i += 1;
    }
    out
}

/// 1 if `a < b` (as 256-bit integers), else 0. Constant-time.
#[inline(always)]
pub(crate) const fn lt_limbs(a: &[u64; 4], b: &[u64; 4]) -> u64 {
    sub_limbs(a, b).1
}

/// `R^2 mod m` by 512 modular doublings of `R mod m = 2^256 − m`
/// (compile-time only). `m` must have its top bit set.
pub(crate) const fn r2_mod(m: &[u64; 4]) -> [u64; 4] {
    // R mod m = 2^256 − m (valid since m > 2^255).
    let (mut x, _) = sub_limbs(&[0, 0, 0, 0], m);
    let mut i = 0;
    while i < 256 {
        x = add_mod(&x, &x, m);
        i += 1;
    }
    x
}

// ---------------------------------------------------------------------------
// The field prime and Montgomery reduction.
// ---------------------------------------------------------------------------

/// p, little-endian limbs.
pub const P: [u64; 4] = [
    0xFFFF_FFFF_FFFF_FFFF,
    0xFFFF_FFFF_0000_0000,
    0xFFFF_FFFF_FFFF_FFFF,
    0xFFFF_FFFE_FFFF_FFFF,
];

/// R mod p = 2^256 − p = 2^224 + 2^96 − 2^64 + 1 (Montgomery form of 1).
const R1: [u64; 4] = [1, 0x0000_0000_FFFF_FFFF, 0, 0x0000_0001_0000_0000];

/// R^2 mod p (converts into Montgomery form).
const R2: [u64; 4] = r2_mod(&P);

/// One Montgomery step: returns `(r + m·p) / 2^64` with `m = r[0]`, i.e.
/// `(r >> 64) + m·(2^192 − 2^160 − 2^32 + 1)`.
///
/// `m·(2^192 − 2^160 − 2^32 + 1) = m·2^192 + m − (m·2^160 + m·2^32)`, and
/// `m·2^160 + m·2^32` has limbs `[m<<32, m>>32, m<<32, m>>32]` (no overlap).
/// The true result is `< 2^256` (`r >> 64 < 2^192`,
/// `m·(p+1)/2^64 < 2^256 − 2^224`), so computing mod 2^256 with wrapping
/// carries and borrows is exact.
#[inline(always)]
const fn redc_step(r: [u64; 4]) -> [u64; 4] {
    let m = r[0];
    let lo = m << 32;
    let hi = m >> 32;
    // [r1, r2, r3, 0] + [m, 0, 0, m]
    let (a0, c) = adc(r[1], m, 0);
    let (a1, c) = adc(r[2], 0, c);
    let (a2, c) = adc(r[3], 0, c);
    let a3 = m.wrapping_add(c);
    // − [lo, hi, lo, hi]
    let (b0, bw) = sbb(a0, lo, 0);
    let (b1, bw) = sbb(a1, hi, bw);
    let (b2, bw) = sbb(a2, lo, bw);
    let b3 = a3.wrapping_sub(hi).wrapping_sub(bw);
    [b0, b1, b2, b3]
}

/// Montgomery reduction of a 512-bit `t < p·2^256`: `t·R⁻¹ mod p`, fully
/// reduced.
#[inline(always)]
pub(crate) const fn montgomery_reduce(t: &[u64; 8]) -> [u64; 4] {
    // REDC of the low half: four steps give (t_lo + M·p)/2^256 ≤ p.
    let mut r = [t[0], t[1], t[2], t[3]];
    r = redc_step(r);
    r = redc_step(r);
    r = redc_step(r);
    r = redc_step(r);
    // Add the high half (< p): the sum is < 2p.
    let (s, carry) = add_limbs(&r, &[t[4], t[5], t[6], t[7]]);
    reduce_once(&s, carry, &P)
}

#[inline(always)]
const fn mont_mul(a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
    montgomery_reduce(&mul_wide(a, b))
}

// ---------------------------------------------------------------------------
// FieldElement
// ---------------------------------------------------------------------------

/// An element of GF(p) in Montgomery form. Constant-time throughout.
#[derive(Clone, Copy, Default, Zeroize)]
pub struct FieldElement(pub(crate) [u64; 4]);

impl FieldElement {
    /// 0.
    pub const ZERO: Self = FieldElement([0; 4]);
    /// 1.
    pub const ONE: Self = FieldElement(R1);

    /// From a canonical 32-byte big-endian value; `None` if `≥ p`.
    pub fn from_bytes(bytes: &[u8; 32]) -> CtOption<Self> {
        let limbs = limbs_from_be(bytes);
        let in_range = Choice::from(lt_limbs(&limbs, &P) as u8);
        CtOption::new(FieldElement(mont_mul(&limbs, &R2)), in_range)
    }

    /// From a 32-byte big-endian slice; `None` if the length is not 32 or
    /// the value is `≥ p`. Not constant-time in the length only.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let arr: &[u8; 32] = bytes.try_into().ok()?;
        Self::from_bytes(arr).into()
    }

    /// Compile-time constructor from canonical big-endian bytes.
    /// Panics (at compile time when used in a `const`) if the value is `≥ p`.
    pub const fn from_be_bytes_const(bytes: &[u8; 32]) -> Self {
        let limbs = limbs_from_be(bytes);
        assert!(lt_limbs(&limbs, &P) == 1, "field constant out of range");
        FieldElement(mont_mul(&limbs, &R2))
    }

    /// From canonical little-endian limbs the caller knows to be `< p`.
    pub(crate) const fn from_canonical(limbs: &[u64; 4]) -> Self {
        FieldElement(mont_mul(limbs, &R2))
    }

    /// From a small integer.
    pub const fn from_u64(v: u64) -> Self {
        FieldElement(mont_mul(&[v, 0, 0, 0], &R2))
    }

    /// The canonical 32-byte big-endian encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        limbs_to_be(&self.canonical_limbs())
    }

    /// Canonical (non-Montgomery) little-endian limbs.
    pub(crate) const fn canonical_limbs(&self) -> [u64; 4] {
        let a = &self.0;
        montgomery_reduce(&[a[0], a[1], a[2], a[3], 0, 0, 0, 0])
    }

    /// 1 if zero.
    pub fn is_zero(&self) -> Choice {
        self.ct_eq(&Self::ZERO)
    }

    /// 1 if the canonical value is odd.
    pub fn is_odd(&self) -> Choice {
        Choice::from((self.canonical_limbs()[0] & 1) as u8)
    }

    /// `self + rhs` (x86-64: a short assembly sequence in `field_adx`).
    #[inline(always)]
    pub fn add(&self, rhs: &Self) -> Self {
        FieldElement(super::field_adx::add_mod_p(&self.0, &rhs.0))
    }

    /// `self − rhs`.
    #[inline(always)]
    pub fn sub(&self, rhs: &Self) -> Self {
        FieldElement(super::field_adx::sub_mod_p(&self.0, &rhs.0))
    }

    /// `2·self`.
    #[inline(always)]
    pub fn double(&self) -> Self {
        self.add(self)
    }

    /// `−self`.
    #[inline(always)]
    pub fn neg(&self) -> Self {
        FieldElement(super::field_adx::sub_mod_p(&[0; 4], &self.0))
    }

    /// `self · rhs` (MULX/ADX product when the CPU has it, see
    /// [`super::field_adx`]; identical results either way).
    #[inline(always)]
    pub fn mul(&self, rhs: &Self) -> Self {
        FieldElement(super::field_adx::mont_mul(&self.0, &rhs.0))
    }

    /// `self²` (MULX/ADX product when the CPU has it).
    #[inline(always)]
    pub fn square(&self) -> Self {
        FieldElement(super::field_adx::mont_square(&self.0))
    }

    /// `self · rhs` with the portable code only (usable in `const`).
    #[inline(always)]
    pub const fn mul_portable(&self, rhs: &Self) -> Self {
        FieldElement(mont_mul(&self.0, &rhs.0))
    }

    /// `self²` with the portable code only (usable in `const`).
    #[inline(always)]
    pub const fn square_portable(&self) -> Self {
        FieldElement(montgomery_reduce(&square_wide(&self.0)))
    }

    /// `self^(2^k)` (k squarings).
    #[inline(always)]
    pub fn pow2k(&self, k: u32) -> Self {
        let mut x = *self;
        for _ in 0..k {
            x = x.square();
        }
        x
    }

    /// `self^(2^k) · mul`.
    #[inline(always)]
    fn sqn_mul(&self, k: u32, mul: &Self) -> Self {
        self.pow2k(k).mul(mul)
    }

    /// Returns `(x30, x31, x32)` with `xk = self^(2^k − 1)`, the building
    /// blocks of both exponent chains below.
    fn ones_chain(&self) -> (Self, Self, Self) {
        let x1 = *self;
        let x2 = x1.sqn_mul(1, &x1);
        let x3 = x2.sqn_mul(1, &x1);
        let x6 = x3.sqn_mul(3, &x3);
        let x12 = x6.sqn_mul(6, &x6);
        let x15 = x12.sqn_mul(3, &x3);
        let x30 = x15.sqn_mul(15, &x15);
        let x31 = x30.sqn_mul(1, &x1);
        let x32 = x31.sqn_mul(1, &x1);
        (x30, x31, x32)
    }

    /// `self^(p−2)`: the inverse, or 0 for 0 (`None` then). Fixed addition
    /// chain (constant-time). `p − 2` in binary, from the top:
    /// 31 ones, 0, 128 ones, 32 zeros, 32 ones, 30 ones, 0, 1.
    pub fn invert(&self) -> CtOption<Self> {
        let (x30, x31, x32) = self.ones_chain();
        let mut t = x31.pow2k(1); // 31 ones, 0
        for _ in 0..4 {
            t = t.sqn_mul(32, &x32); // 128 ones
        }
        t = t.pow2k(32); // 32 zeros
        t = t.sqn_mul(32, &x32); // 32 ones
        t = t.sqn_mul(30, &x30); // 30 ones
        t = t.pow2k(1); // 0
        t = t.sqn_mul(1, self); // 1
        CtOption::new(t, !self.is_zero())
    }

    /// A square root (`p ≡ 3 mod 4`: `self^((p+1)/4)`), `None` if `self` is
    /// not a square. `(p+1)/4` in binary, from the top: 31 ones, 0,
    /// 128 ones, 31 zeros, 1, 62 zeros. Fixed chain (constant-time).
    pub fn sqrt(&self) -> CtOption<Self> {
        let (_, x31, x32) = self.ones_chain();
        let mut t = x31.pow2k(1); // 31 ones, 0
        for _ in 0..4 {
            t = t.sqn_mul(32, &x32); // 128 ones
        }
        t = t.sqn_mul(32, self); // 31 zeros, 1
        t = t.pow2k(62); // 62 zeros
        let ok = t.square().ct_eq(self);
        CtOption::new(t, ok)
    }
}

impl ConditionallySelectable for FieldElement {
    #[inline(always)]
    fn conditional_select(a: &Self, b: &Self, choice: Choice) -> Self {
        FieldElement([
            u64::conditional_select(&a.0[0], &b.0[0], choice),
            u64::conditional_select(&a.0[1], &b.0[1], choice),
            u64::conditional_select(&a.0[2], &b.0[2], choice),
            u64::conditional_select(&a.0[3], &b.0[3], choice),
        ])
    }
}

impl ConstantTimeEq for FieldElement {
    #[inline(always)]
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0[0].ct_eq(&other.0[0])
            & self.0[1].ct_eq(&other.0[1])
            & self.0[2].ct_eq(&other.0[2])
            & self.0[3].ct_eq(&other.0[3])
    }
}

impl PartialEq for FieldElement {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for FieldElement {}

impl fmt::Debug for FieldElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FieldElement(0x")?;
        for b in self.to_bytes() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

impl core::ops::Add for FieldElement {
    type Output = Self;
    #[inline(always)]
    fn add(self, rhs: Self) -> Self {
        FieldElement::add(&self, &rhs)
    }
}

impl core::ops::Sub for FieldElement {
    type Output = Self;
    #[inline(always)]
    fn sub(self, rhs: Self) -> Self {
        FieldElement::sub(&self, &rhs)
    }
}

impl core::ops::Mul for FieldElement {
    type Output = Self;
    #[inline(always)]
    fn mul(self, rhs: Self) -> Self {
        FieldElement::mul(&self, &rhs)
    }
}

impl core::ops::Neg for FieldElement {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        FieldElement::neg(&self)
    }
}

impl core::ops::AddAssign for FieldElement {
    #[inline(always)]
    fn add_assign(&mut self, rhs: Self) {
        *self = FieldElement::add(self, &rhs);
    }
}

impl core::ops::SubAssign for FieldElement {
    #[inline(always)]
    fn sub_assign(&mut self, rhs: Self) {
        *self = FieldElement::sub(self, &rhs);
    }
}

impl core::ops::MulAssign for FieldElement {
    #[inline(always)]
    fn mul_assign(&mut self, rhs: Self) {
        *self = FieldElement::mul(self, &rhs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn montgomery_one_round_trips() {
        let mut one = [0u8; 32];
        one[31] = 1;
        assert_eq!(FieldElement::from_bytes(&one).unwrap(), FieldElement::ONE);
        assert_eq!(FieldElement::ONE.to_bytes(), one);
        assert_eq!(FieldElement::from_u64(1), FieldElement::ONE);
    }

    #[test]
    fn p_is_rejected_and_p_minus_1_is_minus_one() {
        let p = limbs_to_be(&P);
        assert!(bool::from(FieldElement::from_bytes(&p).is_none()));
        let mut pm1 = P;
        pm1[0] -= 1;
        let x = FieldElement::from_bytes(&limbs_to_be(&pm1)).unwrap();
        assert_eq!(x, -FieldElement::ONE);
        assert_eq!(x + FieldElement::ONE, FieldElement::ZERO);
    }

    #[test]
    fn inverse_and_sqrt_small() {
        for v in [1u64, 2, 3, 4, 7, 12345, u64::MAX] {
            let x = FieldElement::from_u64(v);
            assert_eq!(x * x.invert().unwrap(), FieldElement::ONE, "{v}");
            let sq = x.square();
            let r = sq.sqrt().unwrap();
            assert!(r == x || r == -x, "{v}");
        }
        assert!(bool::from(FieldElement::ZERO.invert().is_none()));
    }
}
