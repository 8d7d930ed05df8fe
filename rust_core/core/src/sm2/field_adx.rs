//! x86-64 backend for the Montgomery product of [`super::field`]: the
//! 256×256 → 512-bit product with MULX (BMI2) and two independent carry
//! chains (ADCX/ADOX, ADX), then the shift-only reduction for this p and the
//! final conditional subtraction, all in one `asm!` block, chosen at run
//! time. This is the crate's only `unsafe` code: inline assembly
//! cannot be written without it, and the instructions fault on CPUs that
//! lack BMI2/ADX, so every call goes through [`mont_mul`]/[`mont_square`],
//! which check the (cached) CPU features and otherwise fall back to the
//! portable `u128` code (`mul_wide`/`square_wide` + `montgomery_reduce`),
//! whose results are identical bit for bit.
//!
//! Safety argument for the `asm!` block: it reads exactly four `u64` from
//! each of two pointers derived from `&[u64; 4]` references (valid, aligned,
//! live for the call), writes only its declared register outputs, touches
//! no stack (`nostack`) and no other memory (`readonly`), and clobbers the
//! flags (not declared `preserves_flags`). It is constant-time: a fixed
//! instruction sequence without branches or secret-dependent addresses.
//!
//! Tested against the portable path in this module's tests (edge values
//! and well over 10^6 random products).

use super::field::{
    montgomery_reduce, mul_wide as mul_wide_portable, square_wide as square_wide_portable,
};

/// Montgomery reduction of `[t0..t7]` (the 512-bit product) to the fully
/// reduced result in `t0..t3`; shared by the product and the square. Uses
/// `lo`, `hi`, `rdx` and `t4..t7` as scratch.
macro_rules! reduce_asm {
    () => {
        concat!(
            // Montgomery reduction of the low half, four steps of
            // `field::redc_step` with m = the low limb: r ← (r >> 64)
            // + [m, 0, 0, m] − [m<<32, m>>32, m<<32, m>>32]. The
            // register holding m becomes the new top limb, so the
            // limbs rotate: after step 4, r = [t0, t1, t2, t3] again.
            "mov {lo}, {t0}\n",
            "shl {lo}, 32\n",
            "mov {hi}, {t0}\n",
            "shr {hi}, 32\n",
            "add {t1}, {t0}\n",
            "adc {t2}, 0\n",
            "adc {t3}, 0\n",
            "adc {t0}, 0\n",
            "sub {t1}, {lo}\n",
            "sbb {t2}, {hi}\n",
            "sbb {t3}, {lo}\n",
            "sbb {t0}, {hi}\n",
            "mov {lo}, {t1}\n",
            "shl {lo}, 32\n",
            "mov {hi}, {t1}\n",
            "shr {hi}, 32\n",
            "add {t2}, {t1}\n",
            "adc {t3}, 0\n",
            "adc {t0}, 0\n",
            "adc {t1}, 0\n",
            "sub {t2}, {lo}\n",
            "sbb {t3}, {hi}\n",
            "sbb {t0}, {lo}\n",
            "sbb {t1}, {hi}\n",
            "mov {lo}, {t2}\n",
            "shl {lo}, 32\n",
            "mov {hi}, {t2}\n",
            "shr {hi}, 32\n",
            "add {t3}, {t2}\n",
            "adc {t0}, 0\n",
            "adc {t1}, 0\n",
            "adc {t2}, 0\n",
            "sub {t3}, {lo}\n",
            "sbb {t0}, {hi}\n",
            "sbb {t1}, {lo}\n",
            "sbb {t2}, {hi}\n",
            "mov {lo}, {t3}\n",
            "shl {lo}, 32\n",
            "mov {hi}, {t3}\n",
            "shr {hi}, 32\n",
            "add {t0}, {t3}\n",
            "adc {t1}, 0\n",
            "adc {t2}, 0\n",
            "adc {t3}, 0\n",
            "sub {t0}, {lo}\n",
            "sbb {t1}, {hi}\n",
            "sbb {t2}, {lo}\n",
            "sbb {t3}, {hi}\n",
            // + high half (sum < 2p), carry in lo
            "mov {lo:e}, 0\n",
            "add {t0}, {t4}\n",
            "adc {t1}, {t5}\n",
            "adc {t2}, {t6}\n",
            "adc {t3}, {t7}\n",
            "adc {lo}, 0\n",
            // s = sum − p; keep the sum only if that borrowed past the
            // carry (CF after `sbb lo, 0`).
            "mov {t4}, {t0}\n",
            "mov {t5}, {t1}\n",
            "mov {t6}, {t2}\n",
            "mov {t7}, {t3}\n",
            "mov {hi}, 0xFFFFFFFF00000000\n",
            "mov rdx, 0xFFFFFFFEFFFFFFFF\n",
            "sub {t4}, -1\n",
            "sbb {t5}, {hi}\n",
            "sbb {t6}, -1\n",
            "sbb {t7}, rdx\n",
            "sbb {lo}, 0\n",
            "cmovnc {t0}, {t4}\n",
            "cmovnc {t1}, {t5}\n",
            "cmovnc {t2}, {t6}\n",
            "cmovnc {t3}, {t7}\n",
        )
    };
}

#[cfg(target_arch = "x86_64")]
mod imp {
    use core::sync::atomic::{AtomicU8, Ordering};

    /// 0 = not yet checked, 1 = BMI2 and ADX present, 2 = absent.
    static HAS_ADX: AtomicU8 = AtomicU8::new(0);

    #[inline(always)]
    pub(super) fn has_adx() -> bool {
        match HAS_ADX.load(Ordering::Relaxed) {
            1 => true,
            2 => false,
            _ => detect(),
        }
    }

    /// Forces the portable path (`false`) or goes back to detection
    /// (`true`; never enables the assembly on a CPU without BMI2/ADX).
    pub(super) fn set_enabled(enabled: bool) {
        HAS_ADX.store(if enabled { 0 } else { 2 }, Ordering::Relaxed);
    }

    #[cold]
    fn detect() -> bool {
        let yes = std::is_x86_feature_detected!("bmi2") && std::is_x86_feature_detected!("adx");
        HAS_ADX.store(if yes { 1 } else { 2 }, Ordering::Relaxed);
        yes
    }

    /// Schoolbook product, row by row: row 0 with one ADD/ADC chain, rows
    /// 1–3 with the low halves on the OF chain (ADOX) and the high halves
    /// on the CF chain (ADCX). Both chains end in the row's new top limb,
    /// which cannot overflow because the partial product after row i is
    /// `< 2^(64(i+5))`.
    ///
    /// Caller must ensure the CPU supports BMI2 and ADX.
    #[inline(always)]
    pub(super) fn mont_mul_adx(a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
        let (t0, t1, t2, t3): (u64, u64, u64, u64);
        // SAFETY: see the module documentation; `has_adx()` was checked by
        // the only caller (`super::mul_wide` / `super::square_wide`).
        #[allow(unsafe_code)]
        unsafe {
            core::arch::asm!(
                // row 0
                "mov rdx, {t5}", // a0 (t5 is free until row 1 writes it)
                "mulx {t1}, {t0}, qword ptr [{pb}]",
                "mulx {t2}, {lo}, qword ptr [{pb} + 8]",
                "add {t1}, {lo}",
                "mulx {t3}, {hi}, qword ptr [{pb} + 16]",
                "adc {t2}, {hi}",
                "mulx {t4}, {lo}, qword ptr [{pb} + 24]",
                "adc {t3}, {lo}",
                "adc {t4}, 0",
                // row 1
                "mov rdx, {t6}", // a1 (t6 is free until row 2)
                "xor {lo:e}, {lo:e}",
                "mulx {hi}, {lo}, qword ptr [{pb}]",
                "adox {t1}, {lo}",
                "adcx {t2}, {hi}",
                "mulx {hi}, {lo}, qword ptr [{pb} + 8]",
                "adox {t2}, {lo}",
                "adcx {t3}, {hi}",
                "mulx {hi}, {lo}, qword ptr [{pb} + 16]",
                "adox {t3}, {lo}",
                "adcx {t4}, {hi}",
                "mulx {t5}, {lo}, qword ptr [{pb} + 24]",
                "adox {t4}, {lo}",
                "mov {lo:e}, 0",
                "adcx {t5}, {lo}",
                "adox {t5}, {lo}",
                // row 2
                "mov rdx, {t7}", // a2 (t7 is free until row 3)
                "xor {lo:e}, {lo:e}",
                "mulx {hi}, {lo}, qword ptr [{pb}]",
                "adox {t2}, {lo}",
                "adcx {t3}, {hi}",
                "mulx {hi}, {lo}, qword ptr [{pb} + 8]",
                "adox {t3}, {lo}",
                "adcx {t4}, {hi}",
                "mulx {hi}, {lo}, qword ptr [{pb} + 16]",
                "adox {t4}, {lo}",
                "adcx {t5}, {hi}",
                "mulx {t6}, {lo}, qword ptr [{pb} + 24]",
                "adox {t5}, {lo}",
                "mov {lo:e}, 0",
                "adcx {t6}, {lo}",
                "adox {t6}, {lo}",
                // row 3
                "mov rdx, {a3}",
                "xor {lo:e}, {lo:e}",
                "mulx {hi}, {lo}, qword ptr [{pb}]",
                "adox {t3}, {lo}",
                "adcx {t4}, {hi}",
                "mulx {hi}, {lo}, qword ptr [{pb} + 8]",
                "adox {t4}, {lo}",
                "adcx {t5}, {hi}",
                "mulx {hi}, {lo}, qword ptr [{pb} + 16]",
                "adox {t5}, {lo}",
                "adcx {t6}, {hi}",
                "mulx {t7}, {lo}, qword ptr [{pb} + 24]",
                "adox {t6}, {lo}",
                "mov {lo:e}, 0",
                "adcx {t7}, {lo}",
                "adox {t7}, {lo}",
                reduce_asm!(),
                // `a` arrives in registers (its limbs double as t5..t7
                // scratch once consumed); `b` is read from memory.
                a3 = in(reg) a[3],
                pb = in(reg) b.as_ptr(),
                t0 = out(reg) t0,
                t1 = out(reg) t1,
                t2 = out(reg) t2,
                t3 = out(reg) t3,
                t4 = out(reg) _,
                t5 = inout(reg) a[0] => _,
                t6 = inout(reg) a[1] => _,
                t7 = inout(reg) a[2] => _,
                lo = out(reg) _,
                hi = out(reg) _,
                out("rdx") _,
                options(pure, readonly, nostack),
            );
        }
        [t0, t1, t2, t3]
    }

    /// Squaring: the six cross products once (doubled by an ADD/ADC
    /// chain), then the four diagonal squares, then the same reduction.
    ///
    /// Caller must ensure the CPU supports BMI2 and ADX.
    #[inline(always)]
    pub(super) fn mont_square_adx(a: &[u64; 4]) -> [u64; 4] {
        let (t0, t1, t2, t3): (u64, u64, u64, u64);
        // SAFETY: as for `mont_mul_adx` (reads four `u64` through one
        // pointer from a live `&[u64; 4]`).
        #[allow(unsafe_code)]
        unsafe {
            core::arch::asm!(
                // cross products a0·(a1, a2, a3) → t1..t4
                "mov rdx, qword ptr [{pa}]",
                "mulx {t2}, {t1}, qword ptr [{pa} + 8]",
                "mulx {t3}, {lo}, qword ptr [{pa} + 16]",
                "add {t2}, {lo}",
                "mulx {t4}, {lo}, qword ptr [{pa} + 24]",
                "adc {t3}, {lo}",
                "adc {t4}, 0",
                // a1·(a2, a3) → t3..t5
                "mov rdx, qword ptr [{pa} + 8]",
                "xor {lo:e}, {lo:e}",
                "mulx {hi}, {lo}, qword ptr [{pa} + 16]",
                "adox {t3}, {lo}",
                "adcx {t4}, {hi}",
                "mulx {t5}, {lo}, qword ptr [{pa} + 24]",
                "adox {t4}, {lo}",
                "mov {lo:e}, 0",
                "adcx {t5}, {lo}",
                "adox {t5}, {lo}",
                // a2·a3 → t5..t6
                "mov rdx, qword ptr [{pa} + 16]",
                "mulx {t6}, {lo}, qword ptr [{pa} + 24]",
                "add {t5}, {lo}",
                "adc {t6}, 0",
                // double the cross products: t1..t6 → t1..t7
                "mov {t7:e}, 0",
                "add {t1}, {t1}",
                "adc {t2}, {t2}",
                "adc {t3}, {t3}",
                "adc {t4}, {t4}",
                "adc {t5}, {t5}",
                "adc {t6}, {t6}",
                "adc {t7}, 0",
                // + the diagonal squares (MULX leaves the flags alone)
                "mov rdx, qword ptr [{pa}]",
                "mulx {hi}, {t0}, rdx",
                "add {t1}, {hi}",
                "mov rdx, qword ptr [{pa} + 8]",
                "mulx {hi}, {lo}, rdx",
                "adc {t2}, {lo}",
                "adc {t3}, {hi}",
                "mov rdx, qword ptr [{pa} + 16]",
                "mulx {hi}, {lo}, rdx",
                "adc {t4}, {lo}",
                "adc {t5}, {hi}",
                "mov rdx, qword ptr [{pa} + 24]",
                "mulx {hi}, {lo}, rdx",
                "adc {t6}, {lo}",
                "adc {t7}, {hi}",
                reduce_asm!(),
                pa = in(reg) a.as_ptr(),
                t0 = out(reg) t0,
                t1 = out(reg) t1,
                t2 = out(reg) t2,
                t3 = out(reg) t3,
                t4 = out(reg) _,
                t5 = out(reg) _,
                t6 = out(reg) _,
                t7 = out(reg) _,
                lo = out(reg) _,
                hi = out(reg) _,
                out("rdx") _,
                options(pure, readonly, nostack),
            );
        }
        [t0, t1, t2, t3]
    }
}

/// `(a + b) mod p` for `a, b < p`, baseline x86-64 (ADD/ADC/SBB/CMOV:
/// every x86-64 CPU has them, so no detection). Constant-time.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn add_mod_p(a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
    let [mut t0, mut t1, mut t2, mut t3] = *a;
    // SAFETY: registers only (no memory, no stack).
    #[allow(unsafe_code)]
    unsafe {
        core::arch::asm!(
            "xor {c:e}, {c:e}",
            "add {t0}, {b0}",
            "adc {t1}, {b1}",
            "adc {t2}, {b2}",
            "adc {t3}, {b3}",
            "adc {c}, 0",
            // s = sum − p (in b0..b3); keep the sum if that borrowed past
            // the carry.
            "mov {b0}, {t0}", "mov {b1}, {t1}", "mov {b2}, {t2}", "mov {b3}, {t3}",
            "mov {k1}, 0xFFFFFFFF00000000",
            "mov {k3}, 0xFFFFFFFEFFFFFFFF",
            "sub {b0}, -1", "sbb {b1}, {k1}", "sbb {b2}, -1", "sbb {b3}, {k3}",
            "sbb {c}, 0",
            "cmovnc {t0}, {b0}", "cmovnc {t1}, {b1}", "cmovnc {t2}, {b2}", "cmovnc {t3}, {b3}",
            t0 = inout(reg) t0,
            t1 = inout(reg) t1,
            t2 = inout(reg) t2,
            t3 = inout(reg) t3,
            b0 = inout(reg) b[0] => _,
            b1 = inout(reg) b[1] => _,
            b2 = inout(reg) b[2] => _,
            b3 = inout(reg) b[3] => _,
            c = out(reg) _,
            k1 = out(reg) _,
            k3 = out(reg) _,
            options(pure, nomem, nostack),
        );
    }
    [t0, t1, t2, t3]
}

/// `(a − b) mod p` for `a, b < p`, baseline x86-64. Constant-time: `p` is
/// added under a mask made from the borrow.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn sub_mod_p(a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
    let [mut t0, mut t1, mut t2, mut t3] = *a;
    // SAFETY: registers only (no memory, no stack).
    #[allow(unsafe_code)]
    unsafe {
        core::arch::asm!(
            "sub {t0}, {b0}",
            "sbb {t1}, {b1}",
            "sbb {t2}, {b2}",
            "sbb {t3}, {b3}",
            "sbb {m}, {m}",
            "mov {b1}, 0xFFFFFFFF00000000",
            "and {b1}, {m}",
            "mov {b3}, 0xFFFFFFFEFFFFFFFF",
            "and {b3}, {m}",
            "add {t0}, {m}", "adc {t1}, {b1}", "adc {t2}, {m}", "adc {t3}, {b3}",
            t0 = inout(reg) t0,
            t1 = inout(reg) t1,
            t2 = inout(reg) t2,
            t3 = inout(reg) t3,
            b0 = in(reg) b[0],
            b1 = inout(reg) b[1] => _,
            b2 = in(reg) b[2],
            b3 = inout(reg) b[3] => _,
            m = out(reg) _,
            options(pure, nomem, nostack),
        );
    }
    [t0, t1, t2, t3]
}

/// `(a + b) mod p`, portable.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub(crate) fn add_mod_p(a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
    super::field::add_mod(a, b, &super::field::P)
}

/// `(a − b) mod p`, portable.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub(crate) fn sub_mod_p(a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
    super::field::sub_mod(a, b, &super::field::P)
}

/// True if the MULX/ADX path is in use on this CPU.
pub fn adx_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        imp::has_adx()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Testing and benchmarking switch: `false` makes field multiplication and
/// squaring use the portable code from now on (process-wide); `true` returns
/// to run-time detection, so it can never enable the assembly on a CPU
/// that lacks BMI2/ADX. Results are identical either way, only the speed
/// changes.
pub fn set_adx_enabled(enabled: bool) {
    #[cfg(target_arch = "x86_64")]
    imp::set_enabled(enabled);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = enabled;
}

/// Montgomery product `a·b·R⁻¹ mod p` (inputs `< p`, output fully
/// reduced), MULX/ADX when available, else portable.
#[inline(always)]
pub(crate) fn mont_mul(a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
    #[cfg(target_arch = "x86_64")]
    {
        if imp::has_adx() {
            return imp::mont_mul_adx(a, b);
        }
    }
    montgomery_reduce(&mul_wide_portable(a, b))
}

/// Montgomery square `a²·R⁻¹ mod p`, MULX/ADX when available, else portable.
#[inline(always)]
pub(crate) fn mont_square(a: &[u64; 4]) -> [u64; 4] {
    #[cfg(target_arch = "x86_64")]
    {
        if imp::has_adx() {
            return imp::mont_square_adx(a);
        }
    }
    montgomery_reduce(&square_wide_portable(a))
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::super::field::{sub_limbs, P};
    use super::*;

    /// xorshift64*: deterministic, fast, good enough to spread limbs.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        /// Limbs biased towards edge patterns (0, all-ones, top/bottom bits).
        fn limbs(&mut self) -> [u64; 4] {
            let mut out = [0u64; 4];
            for limb in out.iter_mut() {
                let r = self.next();
                *limb = match r % 8 {
                    0 => 0,
                    1 => u64::MAX,
                    2 => 1 << (r >> 58),
                    3 => u64::MAX >> (r >> 58),
                    _ => self.next(),
                };
            }
            out
        }
        /// Edge-biased limbs reduced below p (one subtraction suffices).
        fn below_p(&mut self) -> [u64; 4] {
            let l = self.limbs();
            let (d, borrow) = sub_limbs(&l, &P);
            if borrow == 1 {
                l
            } else {
                d
            }
        }
    }

    #[test]
    fn add_sub_match_portable() {
        use super::super::field::{add_mod, sub_mod};
        let mut rng = Rng(0x0123_4567_89AB_CDEF);
        let mut pm1 = P;
        pm1[0] -= 1;
        let edges = [
            [0u64; 4],
            [1, 0, 0, 0],
            pm1,
            [0, 0, 0, 1 << 63],
            [u64::MAX, 0, 0, 0],
        ];
        for a in &edges {
            for b in &edges {
                assert_eq!(add_mod_p(a, b), add_mod(a, b, &P));
                assert_eq!(sub_mod_p(a, b), sub_mod(a, b, &P));
            }
        }
        for _ in 0..1_000_000 {
            let a = rng.below_p();
            let b = rng.below_p();
            assert_eq!(add_mod_p(&a, &b), add_mod(&a, &b, &P), "{a:x?} {b:x?}");
            assert_eq!(sub_mod_p(&a, &b), sub_mod(&a, &b, &P), "{a:x?} {b:x?}");
        }
    }

    #[test]
    fn adx_matches_portable() {
        if !adx_available() {
            eprintln!("BMI2/ADX not available: only the portable path runs here");
            return;
        }
        let mut pm1 = P;
        pm1[0] -= 1;
        let edges = [
            [0u64; 4],
            [1, 0, 0, 0],
            [2, 0, 0, 0],
            pm1,
            [pm1[0] - 1, pm1[1], pm1[2], pm1[3]],
            [0, 0, 0, 1 << 63],
            [u64::MAX, 0, u64::MAX, 0],
            [0, u64::MAX, 0, u64::MAX],
            [0, 0, 0, 0xFFFF_FFFE_FFFF_FFFF],
            [u64::MAX, u64::MAX, u64::MAX, 0xFFFF_FFFE_FFFF_FFFE],
            [1, 0x0000_0000_FFFF_FFFF, 0, 0x0000_0001_0000_0000],
        ];
        let portable = |a: &[u64; 4], b: &[u64; 4]| montgomery_reduce(&mul_wide_portable(a, b));
        for a in &edges {
            for b in &edges {
                assert_eq!(imp::mont_mul_adx(a, b), portable(a, b), "{a:x?} {b:x?}");
            }
            assert_eq!(
                imp::mont_mul_adx(a, a),
                montgomery_reduce(&square_wide_portable(a))
            );
            assert_eq!(
                imp::mont_square_adx(a),
                montgomery_reduce(&square_wide_portable(a))
            );
        }
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..1_500_000 {
            let a = rng.below_p();
            let b = rng.below_p();
            assert_eq!(imp::mont_mul_adx(&a, &b), portable(&a, &b), "{a:x?} {b:x?}");
            assert_eq!(
                imp::mont_mul_adx(&a, &a),
                montgomery_reduce(&square_wide_portable(&a)),
                "{a:x?}"
            );
            assert_eq!(
                imp::mont_square_adx(&a),
                montgomery_reduce(&square_wide_portable(&a)),
                "{a:x?}"
            );
        }
        // Chained: outputs fed back as inputs (the way the field uses it).
        let mut x = rng.below_p();
        let mut y = x;
        for _ in 0..200_000 {
            x = imp::mont_square_adx(&x);
            y = montgomery_reduce(&square_wide_portable(&y));
            assert_eq!(x, y);
            let z = rng.below_p();
            x = imp::mont_mul_adx(&x, &z);
            y = portable(&y, &z);
            assert_eq!(x, y);
        }
    }
}
