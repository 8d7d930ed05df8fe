//! SM2 arithmetic against an independent num-bigint reference: field and
//! scalar operations on random and edge inputs, point special cases, and
//! scalar multiplication against an affine double-and-add written here.

use num_bigint::BigUint;
use proptest::prelude::*;
use sidian_core::sm2::field::FieldElement;
use sidian_core::sm2::point::{batch_to_affine, AffinePoint, JacobianPoint, PointTable};
use sidian_core::sm2::scalar::Scalar;
use std::sync::OnceLock;

fn big(hex: &str) -> BigUint {
    BigUint::parse_bytes(hex.as_bytes(), 16).unwrap()
}

fn p() -> BigUint {
    big("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF")
}

fn n() -> BigUint {
    big("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123")
}

fn b() -> BigUint {
    big("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93")
}

fn gx() -> BigUint {
    big("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7")
}

fn gy() -> BigUint {
    big("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0")
}

fn to32(x: &BigUint) -> [u8; 32] {
    let v = x.to_bytes_be();
    assert!(v.len() <= 32);
    let mut out = [0u8; 32];
    out[32 - v.len()..].copy_from_slice(&v);
    out
}

fn fe(x: &BigUint) -> FieldElement {
    FieldElement::from_bytes(&to32(x)).expect("reference value below p")
}

fn fe_big(x: &FieldElement) -> BigUint {
    BigUint::from_bytes_be(&x.to_bytes())
}

fn sc(x: &BigUint) -> Scalar {
    Scalar::from_bytes(&to32(x)).expect("reference value below n")
}

fn sc_big(x: &Scalar) -> BigUint {
    BigUint::from_bytes_be(&x.to_bytes())
}

/// Edge values for a modulus m: small values, m − small, powers of two,
/// limb-boundary patterns.
fn edges(m: &BigUint) -> Vec<BigUint> {
    let one = BigUint::from(1u32);
    let mut v: Vec<BigUint> = vec![
        BigUint::from(0u32),
        one.clone(),
        BigUint::from(2u32),
        BigUint::from(3u32),
        m - 1u32,
        m - 2u32,
        m - 3u32,
        m >> 1,
        (m >> 1) + 1u32,
    ];
    for k in [32u32, 63, 64, 65, 96, 127, 128, 160, 192, 224, 255] {
        let x = &one << k;
        if &x < m {
            v.push(x.clone());
            v.push(&x - 1u32);
        }
    }
    let r = (&one << 256u32) % m; // R mod m
    v.push(r.clone());
    v.push(m - r);
    v
}

// ---------------------------------------------------------------------------
// Field
// ---------------------------------------------------------------------------

fn check_field_pair(a: &BigUint, b: &BigUint) {
    let p = p();
    let (fa, fb) = (fe(a), fe(b));
    assert_eq!(fe_big(&fa), *a, "round trip");
    assert_eq!(fe_big(&fa.add(&fb)), (a + b) % &p, "add {a:x} {b:x}");
    assert_eq!(fe_big(&fa.sub(&fb)), (a + &p - b) % &p, "sub {a:x} {b:x}");
    assert_eq!(fe_big(&fa.mul(&fb)), (a * b) % &p, "mul {a:x} {b:x}");
    assert_eq!(fe_big(&fa.square()), (a * a) % &p, "square {a:x}");
    assert_eq!(fe_big(&fa.neg()), (&p - a) % &p, "neg {a:x}");
    assert_eq!(fe_big(&fa.double()), (a * 2u32) % &p, "double {a:x}");
    // Operator forms agree with the methods.
    assert_eq!(fa + fb, fa.add(&fb));
    assert_eq!(fa * fb, fa.mul(&fb));
    assert_eq!(fa - fb, fa.sub(&fb));
    assert_eq!(-fa, fa.neg());
}

fn check_field_unary(a: &BigUint) {
    let p = p();
    let fa = fe(a);
    let inv = Option::<FieldElement>::from(fa.invert());
    if *a == BigUint::from(0u32) {
        assert!(inv.is_none(), "0 has no inverse");
    } else {
        let want = a.modpow(&(&p - 2u32), &p);
        assert_eq!(fe_big(&inv.unwrap()), want, "invert {a:x}");
    }
    // Euler's criterion decides whether a square root exists.
    let euler = a.modpow(&((&p - 1u32) >> 1), &p);
    let is_square = euler != &p - 1u32;
    let root = Option::<FieldElement>::from(fa.sqrt());
    assert_eq!(root.is_some(), is_square, "sqrt existence for {a:x}");
    if let Some(r) = root {
        assert_eq!(fe_big(&r.square()), *a, "sqrt {a:x}");
    }
    assert_eq!(bool::from(fa.is_zero()), *a == BigUint::from(0u32));
    assert_eq!(bool::from(fa.is_odd()), a.bit(0));
}

#[test]
fn field_edge_values() {
    let p = p();
    let e = edges(&p);
    for a in &e {
        check_field_unary(a);
        for b in &e {
            check_field_pair(a, b);
        }
    }
}

#[test]
fn field_rejects_values_at_or_above_p() {
    let p = p();
    for x in [
        p.clone(),
        &p + 1u32,
        &p + (BigUint::from(1u32) << 64u32),
        (BigUint::from(1u32) << 256u32) - 1u32,
    ] {
        assert!(
            bool::from(FieldElement::from_bytes(&to32(&x)).is_none()),
            "{x:x} must be rejected"
        );
        assert!(FieldElement::from_slice(&to32(&x)).is_none());
    }
    assert!(FieldElement::from_slice(&[0u8; 31]).is_none());
    assert!(FieldElement::from_slice(&[0u8; 33]).is_none());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn field_random(a in any::<[u8; 32]>(), b in any::<[u8; 32]>()) {
        let p = p();
        let a = BigUint::from_bytes_be(&a) % &p;
        let b = BigUint::from_bytes_be(&b) % &p;
        check_field_pair(&a, &b);
        check_field_unary(&a);
    }

    #[test]
    fn field_from_bytes_matches_range(a in any::<[u8; 32]>()) {
        let x = BigUint::from_bytes_be(&a);
        let got = Option::<FieldElement>::from(FieldElement::from_bytes(&a));
        prop_assert_eq!(got.is_some(), x < p());
        if let Some(f) = got {
            prop_assert_eq!(f.to_bytes(), a);
        }
    }
}

// ---------------------------------------------------------------------------
// Scalar
// ---------------------------------------------------------------------------

fn check_scalar_pair(a: &BigUint, b: &BigUint) {
    let n = n();
    let (sa, sb) = (sc(a), sc(b));
    assert_eq!(sc_big(&sa), *a);
    assert_eq!(sc_big(&sa.add(&sb)), (a + b) % &n, "add {a:x} {b:x}");
    assert_eq!(sc_big(&sa.sub(&sb)), (a + &n - b) % &n, "sub {a:x} {b:x}");
    assert_eq!(sc_big(&sa.mul(&sb)), (a * b) % &n, "mul {a:x} {b:x}");
    assert_eq!(sc_big(&sa.square()), (a * a) % &n, "square {a:x}");
    assert_eq!(sc_big(&sa.neg()), (&n - a) % &n, "neg {a:x}");
    assert_eq!(sa + sb, sa.add(&sb));
    assert_eq!(sa * sb, sa.mul(&sb));
}

fn check_scalar_unary(a: &BigUint) {
    let n = n();
    let inv = Option::<Scalar>::from(sc(a).invert());
    if *a == BigUint::from(0u32) {
        assert!(inv.is_none());
    } else {
        assert_eq!(
            sc_big(&inv.unwrap()),
            a.modpow(&(&n - 2u32), &n),
            "invert {a:x}"
        );
    }
}

#[test]
fn scalar_edge_values() {
    let n = n();
    let e = edges(&n);
    for a in &e {
        check_scalar_unary(a);
        for b in &e {
            check_scalar_pair(a, b);
        }
    }
}

#[test]
fn scalar_reduction_of_256_bit_values() {
    let n = n();
    let top = (BigUint::from(1u32) << 256u32) - 1u32;
    for x in [
        n.clone(),
        &n + 1u32,
        &n - 1u32,
        top.clone(),
        &top - &n,
        p(),
        BigUint::from(0u32),
    ] {
        let want = &x % &n;
        assert_eq!(
            sc_big(&Scalar::from_bytes_reduced(&to32(&x))),
            want,
            "{x:x}"
        );
        assert_eq!(
            bool::from(Scalar::from_bytes(&to32(&x)).is_some()),
            x < n,
            "range check {x:x}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn scalar_random(a in any::<[u8; 32]>(), b in any::<[u8; 32]>()) {
        let n = n();
        let ra = BigUint::from_bytes_be(&a);
        prop_assert_eq!(sc_big(&Scalar::from_bytes_reduced(&a)), &ra % &n);
        prop_assert_eq!(bool::from(Scalar::from_bytes(&a).is_some()), ra < n);
        let a = ra % &n;
        let b = BigUint::from_bytes_be(&b) % &n;
        check_scalar_pair(&a, &b);
        check_scalar_unary(&a);
    }
}

// ---------------------------------------------------------------------------
// Points: an independent affine reference over BigUint.
// ---------------------------------------------------------------------------

type RefPoint = Option<(BigUint, BigUint)>;

fn ref_inv(x: &BigUint) -> BigUint {
    let p = p();
    x.modpow(&(&p - 2u32), &p)
}

fn ref_add(a: &RefPoint, b: &RefPoint) -> RefPoint {
    let p = p();
    let (a, b) = match (a, b) {
        (None, _) => return b.clone(),
        (_, None) => return a.clone(),
        (Some(a), Some(b)) => (a, b),
    };
    let lambda = if a.0 == b.0 {
        if (&a.1 + &b.1) % &p == BigUint::from(0u32) {
            return None;
        }
        // (3x² − 3) / 2y
        let num = (BigUint::from(3u32) * &a.0 * &a.0 + &p * 3u32 - 3u32) % &p;
        num * ref_inv(&((&a.1 * 2u32) % &p)) % &p
    } else {
        let num = (&b.1 + &p - &a.1) % &p;
        num * ref_inv(&((&b.0 + &p - &a.0) % &p)) % &p
    };
    let x3 = (&lambda * &lambda + &p * 2u32 - &a.0 - &b.0) % &p;
    let y3 = (&lambda * ((&a.0 + &p - &x3) % &p) + &p - &a.1) % &p;
    Some((x3, y3))
}

/// Plain double-and-add, most significant bit first.
fn ref_mul(k: &BigUint, pt: &RefPoint) -> RefPoint {
    let mut acc: RefPoint = None;
    for i in (0..k.bits()).rev() {
        acc = ref_add(&acc, &acc);
        if k.bit(i) {
            acc = ref_add(&acc, pt);
        }
    }
    acc
}

fn ref_g() -> RefPoint {
    Some((gx(), gy()))
}

fn to_ref(p: &JacobianPoint) -> RefPoint {
    Option::<AffinePoint>::from(p.to_affine()).map(|a| (fe_big(a.x()), fe_big(a.y())))
}

fn from_ref(p: &RefPoint) -> AffinePoint {
    let (x, y) = p.as_ref().expect("finite point");
    AffinePoint::from_coordinates(fe(x), fe(y)).expect("on curve")
}

#[test]
fn generator_matches_reference_and_has_order_n() {
    let g = JacobianPoint::GENERATOR;
    assert_eq!(to_ref(&g), ref_g());
    let n = n();
    // n·G = ∞ and (n−1)·G = −G, by the reference (independent check).
    assert_eq!(ref_mul(&n, &ref_g()), None);
    let nm1 = ref_mul(&(&n - 1u32), &ref_g()).unwrap();
    assert_eq!(nm1.0, gx());
    assert_eq!(nm1.1, p() - gy());
    // b on the curve: G satisfies y² = x³ − 3x + b.
    let p = p();
    assert_eq!(
        (gy() * gy()) % &p,
        (gx() * gx() * gx() + &p * 3u32 - gx() * 3u32 % &p + b()) % &p
    );
}

#[test]
fn point_special_cases() {
    let g = JacobianPoint::GENERATOR;
    let ga = AffinePoint::GENERATOR;
    let inf = JacobianPoint::IDENTITY;
    let g2 = g.double();
    let g3 = g2.add_vartime(&g);

    // P + P = 2P (full and mixed), P + (−P) = ∞, P + ∞ = ∞ + P = P.
    assert_eq!(g.add_vartime(&g), g2);
    assert_eq!(g.add_mixed_vartime(&ga), g2);
    assert_eq!(g2.add_vartime(&g2), g2.double());
    assert!(bool::from(g.add_vartime(&g.neg()).is_identity()));
    assert!(bool::from(g.add_mixed_vartime(&ga.neg()).is_identity()));
    assert!(bool::from(g3.add_vartime(&g3.neg()).is_identity()));
    assert_eq!(g.add_vartime(&inf), g);
    assert_eq!(inf.add_vartime(&g), g);
    assert_eq!(inf.add_mixed_vartime(&ga), g);
    assert!(bool::from(inf.add_vartime(&inf).is_identity()));
    assert!(bool::from(inf.double().is_identity()));
    assert!(Option::<AffinePoint>::from(inf.to_affine()).is_none());

    // Non-trivial Z: 2P + P computed in Jacobian equals the reference 3G.
    assert_eq!(to_ref(&g3), ref_mul(&BigUint::from(3u32), &ref_g()));
    assert_eq!(to_ref(&g2), ref_add(&ref_g(), &ref_g()));
    // Mixed add into a point with Z ≠ 1, including the equal case.
    let g3a = Option::<AffinePoint>::from(g3.to_affine()).unwrap();
    assert_eq!(g3.add_mixed_vartime(&g3a), g3.double());
    assert!(bool::from(g3.add_mixed_vartime(&g3a.neg()).is_identity()));
    assert_eq!(
        to_ref(&g2.add_mixed_vartime(&g3a)),
        ref_mul(&BigUint::from(5u32), &ref_g())
    );
    // Equality ignores the Jacobian scaling, and ∞ equals only itself.
    assert_ne!(g, inf);
    assert_eq!(inf, JacobianPoint::IDENTITY.double());
    assert_ne!(g2, g3);
}

#[test]
fn decompression_and_encoding() {
    for k in [1u32, 2, 3, 1000, 123_456_789] {
        let pt = from_ref(&ref_mul(&BigUint::from(k), &ref_g()));
        let c = pt.to_compressed();
        let x = FieldElement::from_slice(&c[1..]).unwrap();
        let back = AffinePoint::decompress(&x, subtle_choice(c[0] & 1)).unwrap();
        assert_eq!(back, pt);
        let other = AffinePoint::decompress(&x, subtle_choice((c[0] & 1) ^ 1)).unwrap();
        assert_eq!(other, pt.neg());
        let u = pt.to_uncompressed();
        assert_eq!(u[0], 4);
        assert_eq!(&u[1..33], &c[1..]);
    }
    // x = 0: 0³ − 0 + b must be a non-square for no point to exist, or give one
    // on the curve; either way decompress agrees with Euler's criterion.
    let p = p();
    for xv in 0u32..20 {
        let x = BigUint::from(xv);
        let rhs = (&x * &x * &x + &p * 3u32 - &x * 3u32 + b()) % &p;
        let square = rhs == BigUint::from(0u32)
            || rhs.modpow(&((&p - 1u32) >> 1), &p) == BigUint::from(1u32);
        let got = AffinePoint::decompress(&fe(&x), subtle_choice(0));
        assert_eq!(bool::from(got.is_some()), square, "x = {xv}");
        if let Some(pt) = Option::<AffinePoint>::from(got) {
            assert!(bool::from(pt.is_on_curve()));
        }
    }
    // Off-curve coordinates are rejected.
    let g = AffinePoint::GENERATOR;
    assert!(bool::from(
        AffinePoint::from_coordinates(*g.x(), g.y().add(&FieldElement::ONE)).is_none()
    ));
}

fn subtle_choice(b: u8) -> subtle::Choice {
    subtle::Choice::from(b)
}

/// Scalars that exercise window and wNAF boundaries.
fn special_scalars() -> Vec<BigUint> {
    let n = n();
    let one = BigUint::from(1u32);
    vec![
        one.clone(),
        BigUint::from(2u32),
        BigUint::from(15u32),
        BigUint::from(16u32),
        BigUint::from(17u32),
        BigUint::from(255u32),
        &n - 1u32,
        &n - 2u32,
        &n >> 1,
        (&one << 252u32) - 1u32,
        &one << 255u32,
        big("0FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"),
        big("F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0") % &n,
        big("8000000000000000000000000000000000000000000000000000000000000001"),
    ]
}

fn check_scalar_mults(k: &BigUint) {
    let want = ref_mul(k, &ref_g());
    let ks = sc(k);
    let ct = JacobianPoint::mul_base(&ks);
    assert_eq!(to_ref(&ct), want, "mul_base k = {k:x}");
    assert_eq!(
        JacobianPoint::GENERATOR.mul_vartime(&ks),
        ct,
        "vartime vs CT, k = {k:x}"
    );
}

#[test]
fn scalar_mult_special_scalars() {
    for k in special_scalars() {
        check_scalar_mults(&k);
    }
    // 0·G = ∞ on every path.
    assert!(bool::from(
        JacobianPoint::mul_base(&Scalar::ZERO).is_identity()
    ));
    assert!(bool::from(
        JacobianPoint::GENERATOR
            .mul_vartime(&Scalar::ZERO)
            .is_identity()
    ));
}

/// A few fixed public points Q = q·G from the reference.
fn q_points() -> &'static Vec<(BigUint, RefPoint)> {
    static Q: OnceLock<Vec<(BigUint, RefPoint)>> = OnceLock::new();
    Q.get_or_init(|| {
        [
            big("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8"),
            BigUint::from(7u32),
        ]
        .into_iter()
        .map(|q| {
            let pt = ref_mul(&q, &ref_g());
            (q, pt)
        })
        .collect()
    })
}

#[test]
fn double_scalar_mult_special_cases() {
    let n = n();
    for (q, qpt) in q_points() {
        let qa = from_ref(qpt);
        let table = PointTable::new(&qa);
        assert_eq!(*table.point(), qa);
        // u1·G + u2·Q = (u1 + u2·q)·G; include cancellations to ∞ and
        // sums that hit the doubling case inside the ladder.
        let cases = [
            (BigUint::from(1u32), BigUint::from(1u32)),
            (&n - (q % &n), BigUint::from(1u32)), // → ∞
            (q.clone(), BigUint::from(1u32)),     // → 2Q
            (BigUint::from(0u32), BigUint::from(5u32)),
            (BigUint::from(5u32), BigUint::from(0u32)),
            (&n - 1u32, &n - 1u32),
        ];
        for (u1, u2) in cases {
            let want = ref_mul(&((&u1 + &u2 * q) % &n), &ref_g());
            let got = JacobianPoint::double_mul_base_vartime(&sc(&u1), &sc(&u2), &qa);
            assert_eq!(to_ref(&got), want, "u1 = {u1:x}, u2 = {u2:x}");
            let got_t = table.double_mul_base_vartime(&sc(&u1), &sc(&u2));
            assert_eq!(got_t, got, "table, u1 = {u1:x}, u2 = {u2:x}");
        }
    }
}

#[test]
fn batch_to_affine_matches_single() {
    let g = JacobianPoint::GENERATOR;
    let pts: Vec<JacobianPoint> = (0..9).map(|i| g.double_n(i).add_vartime(&g)).collect();
    let aff = batch_to_affine(&pts);
    for (p, a) in pts.iter().zip(&aff) {
        assert_eq!(Option::<AffinePoint>::from(p.to_affine()).unwrap(), *a);
    }
}

proptest! {
    // Each case runs a few bigint double-and-adds (~ms); keep the count low.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn scalar_mult_random(k in any::<[u8; 32]>()) {
        let k = BigUint::from_bytes_be(&k) % n();
        check_scalar_mults(&k);
    }

    #[test]
    fn double_scalar_mult_random(u1 in any::<[u8; 32]>(), u2 in any::<[u8; 32]>(), which in 0usize..2) {
        let n = n();
        let (q, qpt) = &q_points()[which];
        let (u1, u2) = (BigUint::from_bytes_be(&u1) % &n, BigUint::from_bytes_be(&u2) % &n);
        let want = ref_mul(&((&u1 + &u2 * q) % &n), &ref_g());
        let qa = from_ref(qpt);
        let got = JacobianPoint::double_mul_base_vartime(&sc(&u1), &sc(&u2), &qa);
        prop_assert_eq!(to_ref(&got), want);
        let via_table = PointTable::new(&qa).double_mul_base_vartime(&sc(&u1), &sc(&u2));
        prop_assert_eq!(via_table, got);
        // And the plain single-scalar paths compose to the same point.
        let sum = JacobianPoint::mul_base(&sc(&u1))
            .add_vartime(&JacobianPoint::from_affine(&qa).mul_vartime(&sc(&u2)));
        prop_assert_eq!(sum, got);
    }
}
