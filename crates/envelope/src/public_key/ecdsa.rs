//! ECDSA verification (FIPS 186-5 §6.4.2) on the NIST curves P-256, P-384 and P-521, over
//! the generic Montgomery arithmetic of [`super::bignum`].
//!
//! Variable time, which is fine: verification handles only public data. Signing (which
//! needs constant time) stays with the `p256`/`p384` crates in [`crate::crypto`].

use super::bignum::{self, Limbs, Modulus};
use crate::der::NamedCurve;

/// The constants of a short Weierstrass curve `y² = x³ - 3x + b` (all NIST curves have
/// `a = -3`), big-endian hex, from FIPS 186-5 / SP 800-186 §3.2.1.
struct CurveHex {
    p: &'static str,
    b: &'static str,
    gx: &'static str,
    gy: &'static str,
    n: &'static str,
}

const P256: CurveHex = CurveHex {
    p: "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
    b: "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
    gx: "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
    gy: "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
    n: "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
};

const P384: CurveHex = CurveHex {
    p: "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe\
        ffffffff0000000000000000ffffffff",
    b: "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875a\
        c656398d8a2ed19d2a85c8edd3ec2aef",
    gx: "aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a38\
         5502f25dbf55296c3a545e3872760ab7",
    gy: "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c0\
         0a60b1ce1d7e819d7a431d7c90ea0e5f",
    n: "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf\
        581a0db248b0a77aecec196accc52973",
};

const P521: CurveHex = CurveHex {
    p: "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\
        ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    b: "0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109\
        e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00",
    gx: "00c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3d\
         baa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66",
    gy: "011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e66\
         2c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650",
    n: "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\
        fa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409",
};

/// A point in Jacobian coordinates (`x = X/Z²`, `y = Y/Z³`), Montgomery form; `Z = 0` is
/// the point at infinity.
#[derive(Clone)]
struct Point {
    x: Limbs,
    y: Limbs,
    z: Limbs,
}

/// A curve ready for arithmetic.
pub(crate) struct Curve {
    field: Modulus,
    order: Modulus,
    /// `b` in Montgomery form.
    b: Limbs,
    generator: Point,
    /// The byte length of a field element (and of a scalar: equal for the NIST curves).
    len: usize,
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        _ => c - b'a' + 10,
    };
    hex.as_bytes().chunks(2).map(|pair| (digit(pair[0]) << 4) | digit(pair[1])).collect()
}

impl Curve {
    /// The curve's arithmetic context.
    pub(crate) fn new(curve: NamedCurve) -> Curve {
        let hex = match curve {
            NamedCurve::P256 => &P256,
            NamedCurve::P384 => &P384,
            NamedCurve::P521 => &P521,
        };
        let p = hex_bytes(hex.p);
        // Invariant: the constants above are odd primes.
        #[allow(clippy::expect_used)]
        let (field, order) = (
            Modulus::new(&p).expect("the field prime is odd"),
            Modulus::new(&hex_bytes(hex.n)).expect("the group order is odd"),
        );
        let limbs = field.limbs();
        let element = |h: &str| {
            let plain = bignum::from_be_bytes(&hex_bytes(h), limbs).unwrap_or_default();
            field.to_mont(&plain)
        };
        let generator = Point { x: element(hex.gx), y: element(hex.gy), z: field.one() };
        let b = element(hex.b);
        let len = field.bits().div_ceil(8);
        Curve { field, order, b, generator, len }
    }

    /// The byte length of field elements and scalars.
    pub(crate) fn scalar_len(&self) -> usize {
        self.len
    }

    /// The affine point of an uncompressed SEC1 encoding (`04 || x || y`), if it is on
    /// the curve.
    pub(crate) fn decode_point(&self, sec1: &[u8]) -> Option<(Limbs, Limbs)> {
        let (&4, xy) = sec1.split_first()? else { return None };
        if xy.len() != 2 * self.len {
            return None;
        }
        let limbs = self.field.limbs();
        let x = bignum::from_be_bytes(&xy[..self.len], limbs)?;
        let y = bignum::from_be_bytes(&xy[self.len..], limbs)?;
        let below_p = |v: &[u32]| bignum::cmp(v, self.field.value()).is_lt();
        if !below_p(&x) || !below_p(&y) {
            return None;
        }
        let (x, y) = (self.field.to_mont(&x), self.field.to_mont(&y));
        self.on_curve(&x, &y).then_some((x, y))
    }

    /// `y² = x³ - 3x + b`.
    fn on_curve(&self, x: &[u32], y: &[u32]) -> bool {
        let f = &self.field;
        let x3 = f.mul(&f.square(x), x);
        let three_x = f.add(&f.add(x, x), x);
        let rhs = f.add(&f.sub(&x3, &three_x), &self.b);
        f.square(y) == rhs
    }

    fn infinity(&self) -> Point {
        let zero = vec![0; self.field.limbs()];
        Point { x: self.field.one(), y: self.field.one(), z: zero }
    }

    /// `2P` (formulas "dbl-2001-b" for `a = -3`).
    fn double(&self, p: &Point) -> Point {
        let f = &self.field;
        if bignum::is_zero(&p.z) || bignum::is_zero(&p.y) {
            return self.infinity();
        }
        let delta = f.square(&p.z);
        let gamma = f.square(&p.y);
        let beta = f.mul(&p.x, &gamma);
        let t = f.mul(&f.sub(&p.x, &delta), &f.add(&p.x, &delta));
        let alpha = f.add(&f.add(&t, &t), &t);
        let beta2 = f.add(&beta, &beta);
        let beta4 = f.add(&beta2, &beta2);
        let beta8 = f.add(&beta4, &beta4);
        let x3 = f.sub(&f.square(&alpha), &beta8);
        let yz = f.add(&p.y, &p.z);
        let z3 = f.sub(&f.sub(&f.square(&yz), &gamma), &delta);
        let gamma2 = f.square(&gamma);
        let g2 = f.add(&gamma2, &gamma2);
        let g4 = f.add(&g2, &g2);
        let g8 = f.add(&g4, &g4);
        let y3 = f.sub(&f.mul(&alpha, &f.sub(&beta4, &x3)), &g8);
        Point { x: x3, y: y3, z: z3 }
    }

    /// `P + Q` (formulas "add-1998-cmo-2"), with the doubling and inverse cases.
    fn add(&self, p: &Point, q: &Point) -> Point {
        let f = &self.field;
        if bignum::is_zero(&p.z) {
            return q.clone();
        }
        if bignum::is_zero(&q.z) {
            return p.clone();
        }
        let z1z1 = f.square(&p.z);
        let z2z2 = f.square(&q.z);
        let u1 = f.mul(&p.x, &z2z2);
        let u2 = f.mul(&q.x, &z1z1);
        let s1 = f.mul(&f.mul(&p.y, &q.z), &z2z2);
        let s2 = f.mul(&f.mul(&q.y, &p.z), &z1z1);
        let h = f.sub(&u2, &u1);
        let r = f.sub(&s2, &s1);
        if bignum::is_zero(&h) {
            return if bignum::is_zero(&r) { self.double(p) } else { self.infinity() };
        }
        let hh = f.square(&h);
        let hhh = f.mul(&h, &hh);
        let v = f.mul(&u1, &hh);
        let x3 = f.sub(&f.sub(&f.square(&r), &hhh), &f.add(&v, &v));
        let y3 = f.sub(&f.mul(&r, &f.sub(&v, &x3)), &f.mul(&s1, &hhh));
        let z3 = f.mul(&f.mul(&p.z, &q.z), &h);
        Point { x: x3, y: y3, z: z3 }
    }

    /// `u1·G + u2·Q` by Shamir's trick (one pass over the bits of both scalars).
    fn double_mul(&self, u1: &[u32], u2: &[u32], q: &Point) -> Point {
        let g_plus_q = self.add(&self.generator, q);
        let mut acc = self.infinity();
        for i in (0..bignum::bits(u1).max(bignum::bits(u2))).rev() {
            acc = self.double(&acc);
            let bit = |k: &[u32]| (k[i / 32] >> (i % 32)) & 1 == 1;
            match (bit(u1), bit(u2)) {
                (true, true) => acc = self.add(&acc, &g_plus_q),
                (true, false) => acc = self.add(&acc, &self.generator),
                (false, true) => acc = self.add(&acc, q),
                (false, false) => {}
            }
        }
        acc
    }

    /// Verifies the signature `r || s` (each [`Curve::scalar_len`] bytes) over `digest`
    /// for the public point `(qx, qy)` from [`Curve::decode_point`].
    pub(crate) fn verify(&self, public: &(Limbs, Limbs), digest: &[u8], r_s: &[u8]) -> bool {
        let n = &self.order;
        let limbs = n.limbs();
        if r_s.len() != 2 * self.len {
            return false;
        }
        let (Some(r), Some(s)) = (
            bignum::from_be_bytes(&r_s[..self.len], limbs),
            bignum::from_be_bytes(&r_s[self.len..], limbs),
        ) else {
            return false;
        };
        let in_range = |v: &[u32]| !bignum::is_zero(v) && bignum::cmp(v, n.value()).is_lt();
        if !in_range(&r) || !in_range(&s) {
            return false;
        }
        // e: the leftmost bits of the digest, as many as the order has (FIPS 186-5
        // §6.4.2 step 3). KMS pairs each curve with a hash no longer than its order.
        if 8 * digest.len() > n.bits() {
            return false;
        }
        let Some(e) = bignum::from_be_bytes(digest, limbs) else { return false };
        // e < 2^bits(n) < 2n.
        let e = n.reduce_once(e);

        let w = n.invert_prime(&n.to_mont(&s));
        let u1 = n.plain(&n.mul(&n.to_mont(&e), &w));
        let u2 = n.plain(&n.mul(&n.to_mont(&r), &w));
        let q = Point { x: public.0.clone(), y: public.1.clone(), z: self.field.one() };
        let sum = self.double_mul(&u1, &u2, &q);
        if bignum::is_zero(&sum.z) {
            return false;
        }
        let f = &self.field;
        let z_inv = f.invert_prime(&sum.z);
        let x = f.plain(&f.mul(&sum.x, &f.square(&z_inv)));
        // x < p < 2n for these curves (Hasse), so one subtraction reduces it modulo n;
        // field elements and scalars have the same number of limbs on the NIST curves.
        x.len() == limbs && n.reduce_once(x) == r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_are_on_their_curves_and_have_the_right_order() {
        for named in [NamedCurve::P256, NamedCurve::P384, NamedCurve::P521] {
            let curve = Curve::new(named);
            let g = &curve.generator;
            assert!(curve.on_curve(&g.x, &g.y), "{named:?}");
            // (n - 1)·G = -G: same x, negated y.
            let mut n_minus_1 = curve.order.value().to_vec();
            n_minus_1[0] -= 1;
            let zero = vec![0; curve.order.limbs()];
            let minus_g = curve.double_mul(&n_minus_1, &zero, g);
            let f = &curve.field;
            let z_inv = f.invert_prime(&minus_g.z);
            let x = f.mul(&minus_g.x, &f.square(&z_inv));
            let y = f.mul(&minus_g.y, &f.mul(&f.square(&z_inv), &z_inv));
            assert_eq!(x, g.x, "{named:?}");
            assert_eq!(f.add(&y, &g.y), vec![0; f.limbs()], "{named:?}");
        }
    }

    #[test]
    fn points_off_the_curve_or_badly_encoded_are_rejected() {
        let curve = Curve::new(NamedCurve::P256);
        let mut good = vec![4];
        good.extend(hex_bytes(P256.gx));
        good.extend(hex_bytes(P256.gy));
        assert!(curve.decode_point(&good).is_some());
        let mut off = good.clone();
        off[64] ^= 1;
        assert!(curve.decode_point(&off).is_none());
        let mut compressed = good[..33].to_vec();
        compressed[0] = 2;
        assert!(curve.decode_point(&compressed).is_none());
        assert!(curve.decode_point(&good[..64]).is_none());
    }
}
