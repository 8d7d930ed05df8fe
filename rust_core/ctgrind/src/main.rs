//! Secret-taint check ("ctgrind") of the constant-time building blocks of
//! SM2 signing, run under valgrind memcheck by `make ct-grind`.
//!
//! Each check marks its secret inputs *undefined* with a memcheck client
//! request, runs one operation, and asks memcheck how many errors it has
//! reported so far. Memcheck reports every conditional jump and every
//! memory address that depends on undefined bytes, so a non-zero count
//! means secret data reached a branch or a table index. This is
//! deterministic, unlike the timing test of `make ct-check`.
//!
//! What it cannot see: the two public-outcome branches of signing itself
//! (r = 0 or r + k = n, s = 0: probability ~2^-256, outcome published in
//! the signature anyway) and the rejection of a candidate nonce ≥ n
//! (~2^-32, reveals nothing of the nonce used). Those are checked by reading
//! `sm2/sign.rs`; every operation between them is covered here.
//!
//! Outside valgrind the client requests are no-ops and the counts are 0.

use sidian_core::gcm::sm4_gcm_encrypt;
use sidian_core::hmac::hmac_sm3;
use sidian_core::sm2::field::FieldElement;
use sidian_core::sm2::field_adx;
use sidian_core::sm2::point::{AffinePoint, JacobianPoint};
use sidian_core::sm2::scalar::Scalar;
use sidian_core::sm3::sm3;
use sidian_core::sm4::Sm4;
use std::hint::black_box;
use std::process::ExitCode;

/// Memcheck's tool base `('M' << 24) | ('C' << 16)` (memcheck.h).
const MC_BASE: u64 = (b'M' as u64) << 24 | (b'C' as u64) << 16;
const MAKE_MEM_UNDEFINED: u64 = MC_BASE + 1;
const MAKE_MEM_DEFINED: u64 = MC_BASE + 2;
/// Core request (valgrind.h): number of errors reported so far.
const COUNT_ERRORS: u64 = 0x1201;

/// One valgrind client request (amd64 calling convention of valgrind.h:
/// `rax` points at `[request, arg1..arg5]`, the answer comes back in `rdx`,
/// which holds `default` when not running under valgrind).
#[cfg(target_arch = "x86_64")]
fn client_request(default: u64, request: u64, arg1: u64, arg2: u64) -> u64 {
    let args: [u64; 6] = [request, arg1, arg2, 0, 0, 0];
    let result: u64;
    // SAFETY: the sequence rotates rdi by 128 bits in total (a no-op) and
    // exchanges rbx with itself; natively it changes nothing but rdi's
    // flags-free rotation, under valgrind it is the client-request marker.
    // It reads the six words of `args`, which live across the block.
    #[allow(unsafe_code)]
    unsafe {
        core::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            in("rax") args.as_ptr(),
            inout("rdx") default => result,
            inout("rdi") 0u64 => _,
            options(nostack),
        );
    }
    result
}

#[cfg(not(target_arch = "x86_64"))]
fn client_request(default: u64, _request: u64, _arg1: u64, _arg2: u64) -> u64 {
    default
}

fn mark<T>(value: &T, request: u64) {
    client_request(
        0,
        request,
        value as *const T as u64,
        std::mem::size_of_val(value) as u64,
    );
}

fn secret<T>(value: &T) {
    mark(value, MAKE_MEM_UNDEFINED);
}

fn public<T>(value: &T) {
    mark(value, MAKE_MEM_DEFINED);
}

fn error_count() -> u64 {
    client_request(0, COUNT_ERRORS, 0, 0)
}

fn random32() -> [u8; 32] {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("OS randomness");
    b
}

/// Runs `op` on fresh secret bytes; returns the errors memcheck reported
/// during it. The result is declassified before it is dropped so that its
/// destruction is not counted against the operation.
fn check<R>(op: impl FnOnce(&[u8; 32], &[u8; 32]) -> R) -> u64 {
    let a = random32();
    let b = random32();
    secret(&a);
    secret(&b);
    let before = error_count();
    let out = black_box(op(black_box(&a), black_box(&b)));
    let after = error_count();
    public(&out);
    after - before
}

fn nonzero_scalar(bytes: &[u8; 32]) -> Scalar {
    // Adding one to a reduced value keeps the op branch-free; a zero sum
    // (probability 2^-256) would only make `invert` return none.
    Scalar::from_bytes_reduced(bytes).add(&Scalar::ONE)
}

fn run_all() -> Vec<(&'static str, u64)> {
    vec![
        ("sm3(secret)", check(|a, _| sm3(a))),
        (
            "hmac_sm3(secret key, secret data)",
            check(|a, b| hmac_sm3(a, b)),
        ),
        (
            "Sm4 key schedule + encrypt_block",
            check(|a, b| {
                let key: [u8; 16] = a[..16].try_into().expect("16 bytes");
                let mut block: [u8; 16] = b[..16].try_into().expect("16 bytes");
                Sm4::new(&key).encrypt_block(&mut block);
                block
            }),
        ),
        (
            "sm4_gcm_encrypt(secret key, secret plaintext)",
            check(|a, b| {
                let sealed = sm4_gcm_encrypt(&a[..16], &[0u8; 12], b, b"aad").expect("valid sizes");
                let mut out = [0u8; 48];
                out.copy_from_slice(&sealed);
                out
            }),
        ),
        (
            "Scalar::from_bytes_reduced",
            check(|a, _| Scalar::from_bytes_reduced(a)),
        ),
        (
            "Scalar add/sub/mul",
            check(|a, b| {
                let (x, y) = (Scalar::from_bytes_reduced(a), Scalar::from_bytes_reduced(b));
                x.add(&y).mul(&x.sub(&y))
            }),
        ),
        (
            "Scalar::invert",
            check(|a, _| nonzero_scalar(a).invert().unwrap_or(Scalar::ONE)),
        ),
        (
            "FieldElement mul/square/add/sub",
            check(|a, b| {
                let x = FieldElement::from_bytes(a).unwrap_or(FieldElement::ONE);
                let y = FieldElement::from_bytes(b).unwrap_or(FieldElement::ONE);
                x.mul(&y).add(&x.square()).sub(&y)
            }),
        ),
        (
            "FieldElement::invert",
            check(|a, _| {
                let x = FieldElement::from_bytes(a).unwrap_or(FieldElement::ONE);
                x.invert().unwrap_or(FieldElement::ONE)
            }),
        ),
        (
            "JacobianPoint::mul_base (k·G, comb)",
            check(|a, _| JacobianPoint::mul_base(&nonzero_scalar(a))),
        ),
        (
            "k·G to affine x (r's input)",
            check(|a, _| {
                let p = JacobianPoint::mul_base(&nonzero_scalar(a));
                p.to_affine()
                    .unwrap_or(AffinePoint::GENERATOR)
                    .x()
                    .to_bytes()
            }),
        ),
        (
            "s = (1 + d)^-1 (k - r d)",
            check(|d, k| {
                let d = nonzero_scalar(d);
                let k = nonzero_scalar(k);
                let r = Scalar::from_bytes_reduced(&[7u8; 32]);
                let inv = d.add(&Scalar::ONE).invert().unwrap_or(Scalar::ONE);
                inv.mul(&k.sub(&r.mul(&d)))
            }),
        ),
    ]
}

fn main() -> ExitCode {
    let backends: &[(&str, bool)] = if field_adx::adx_available() {
        &[
            ("MULX/ADX field code", true),
            ("portable field code", false),
        ]
    } else {
        // Valgrind's virtual CPU does not advertise ADX, so under valgrind
        // only the portable field code runs. The MULX/ADX blocks in
        // `sm2/field_adx.rs` are straight-line asm (no jumps, no loads at
        // data-dependent addresses), which is what this check would verify.
        println!("(MULX/ADX not offered by this CPU or by valgrind: portable field code only)");
        &[("portable field code", false)]
    };
    let mut failed = false;
    for &(name, adx) in backends {
        field_adx::set_adx_enabled(adx);
        println!("== {name}");
        for (check_name, errors) in run_all() {
            let verdict = if errors == 0 {
                "ok"
            } else {
                "SECRET-DEPENDENT"
            };
            println!("{check_name:<40} memcheck errors: {errors:>3}  {verdict}");
            failed |= errors != 0;
        }
    }
    if failed {
        println!("RESULT: FAIL (secret data reached a branch or an address)");
        ExitCode::FAILURE
    } else {
        println!("RESULT: PASS (no secret-dependent branch or address)");
        ExitCode::SUCCESS
    }
}
