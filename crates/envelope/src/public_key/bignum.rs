//! Modular arithmetic on big unsigned integers, for signature verification only.
//!
//! **Variable time.** Every input here is public (keys, signatures, digests), so the
//! running time may depend on the values. Never use this module with secrets: private
//! keys, plaintexts or anything derived from them.
//!
//! Numbers are little-endian `u32` limbs; residues modulo a [`Modulus`] have exactly as
//! many limbs as the modulus and are kept in Montgomery form (`a·R mod m`, `R = 2^(32·L)`).

use std::cmp::Ordering;

/// A big unsigned integer as little-endian 32-bit limbs.
pub(crate) type Limbs = Vec<u32>;

/// Big-endian bytes to `limbs` limbs; `None` if the value does not fit.
pub(crate) fn from_be_bytes(bytes: &[u8], limbs: usize) -> Option<Limbs> {
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    let bytes = &bytes[skip..];
    if bytes.len() > 4 * limbs {
        return None;
    }
    let mut out = vec![0u32; limbs];
    for (i, &b) in bytes.iter().rev().enumerate() {
        out[i / 4] |= u32::from(b) << (8 * (i % 4));
    }
    Some(out)
}

/// The value as `len` big-endian bytes; `None` if it needs more.
pub(crate) fn to_be_bytes(a: &[u32], len: usize) -> Option<Vec<u8>> {
    let mut out = vec![0u8; len];
    for (i, limb) in a.iter().enumerate() {
        for k in 0..4 {
            let byte = (limb >> (8 * k)) as u8;
            let pos = 4 * i + k;
            if pos < len {
                out[len - 1 - pos] = byte;
            } else if byte != 0 {
                return None;
            }
        }
    }
    Some(out)
}

/// The number of significant bits.
pub(crate) fn bits(a: &[u32]) -> usize {
    a.iter().rposition(|&l| l != 0).map_or(0, |i| 32 * i + 32 - a[i].leading_zeros() as usize)
}

/// Compares two numbers of the same length.
pub(crate) fn cmp(a: &[u32], b: &[u32]) -> Ordering {
    a.iter().rev().cmp(b.iter().rev())
}

pub(crate) fn is_zero(a: &[u32]) -> bool {
    a.iter().all(|&l| l == 0)
}

/// `a -= b` (same length); returns the borrow out.
fn sub_assign(a: &mut [u32], b: &[u32]) -> bool {
    let mut borrow = 0u64;
    for (x, &y) in a.iter_mut().zip(b) {
        let d = u64::from(*x).wrapping_sub(u64::from(y)).wrapping_sub(borrow);
        *x = d as u32;
        borrow = (d >> 63) & 1;
    }
    borrow != 0
}

/// `a += b` (same length); returns the carry out.
fn add_assign(a: &mut [u32], b: &[u32]) -> bool {
    let mut carry = 0u64;
    for (x, &y) in a.iter_mut().zip(b) {
        let s = u64::from(*x) + u64::from(y) + carry;
        *x = s as u32;
        carry = s >> 32;
    }
    carry != 0
}

/// An odd modulus with its Montgomery constants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Modulus {
    m: Limbs,
    /// `-m⁻¹ mod 2^32`.
    m0_inv: u32,
    /// `R² mod m`, to enter Montgomery form.
    r2: Limbs,
}

impl Modulus {
    /// The modulus with these big-endian bytes; `None` unless it is odd and above 1.
    pub(crate) fn new(be: &[u8]) -> Option<Self> {
        let limbs = be.len().div_ceil(4).max(1);
        let m = from_be_bytes(be, limbs)?;
        if m[0] & 1 == 0 || bits(&m) < 2 {
            return None;
        }
        // Newton's iteration doubles the correct low bits each step: 1 → 2 → ... → 32.
        let mut inv = 1u32;
        for _ in 0..5 {
            inv = inv.wrapping_mul(2u32.wrapping_sub(m[0].wrapping_mul(inv)));
        }
        let mut modulus = Modulus { m, m0_inv: inv.wrapping_neg(), r2: Vec::new() };
        modulus.r2 = modulus.compute_r2();
        Some(modulus)
    }

    /// `x = 2x mod m` for `x < m`.
    fn double_mod(&self, x: &mut [u32]) {
        let carry = x.iter_mut().fold(0u32, |carry, l| {
            let next = *l >> 31;
            *l = (*l << 1) | carry;
            next
        });
        if carry != 0 || cmp(x, &self.m) != Ordering::Less {
            sub_assign(x, &self.m);
        }
    }

    /// `R² mod m`. With `32·L = odd · 2^k`: doubling gives `2^odd · R mod m` (the
    /// Montgomery form of `2^odd`), then `k` Montgomery squarings give the form of
    /// `2^(32·L) = R`, which is `R² mod m`. About `bits + k` cheap steps instead of
    /// `2·32·L` doublings.
    fn compute_r2(&self) -> Limbs {
        let limbs = self.m.len();
        let total = 32 * limbs;
        let k = total.trailing_zeros();
        let odd = total >> k;
        // Start below m at 2^(bits-1), then double up to 2^(32·L + odd) mod m.
        let top = bits(&self.m) - 1;
        let mut x = vec![0u32; limbs];
        x[top / 32] = 1 << (top % 32);
        for _ in top..total + odd {
            self.double_mod(&mut x);
        }
        for _ in 0..k {
            x = self.square(&x);
        }
        x
    }

    #[cfg(test)]
    fn r2_by_doubling(&self) -> Limbs {
        let mut r2 = vec![0u32; self.m.len()];
        r2[0] = 1;
        for _ in 0..64 * self.m.len() {
            self.double_mod(&mut r2);
        }
        r2
    }

    /// The number of limbs of a residue.
    pub(crate) fn limbs(&self) -> usize {
        self.m.len()
    }

    /// The modulus's bit length.
    pub(crate) fn bits(&self) -> usize {
        bits(&self.m)
    }

    /// The modulus itself.
    pub(crate) fn value(&self) -> &[u32] {
        &self.m
    }

    /// `a mod m` for `a < 2m` (one subtraction at most); `a` has the modulus's length.
    pub(crate) fn reduce_once(&self, mut a: Limbs) -> Limbs {
        if cmp(&a, &self.m) != Ordering::Less {
            sub_assign(&mut a, &self.m);
        }
        a
    }

    /// Montgomery product `a·b·R⁻¹ mod m` of two residues (CIOS method).
    pub(crate) fn mul(&self, a: &[u32], b: &[u32]) -> Limbs {
        let n = self.m.len();
        let mut t = vec![0u32; n + 2];
        for &bi in b {
            let mut carry = 0u64;
            for (tj, &aj) in t.iter_mut().zip(a) {
                let s = u64::from(*tj) + u64::from(aj) * u64::from(bi) + carry;
                *tj = s as u32;
                carry = s >> 32;
            }
            let s = u64::from(t[n]) + carry;
            t[n] = s as u32;
            t[n + 1] = (s >> 32) as u32;

            let q = t[0].wrapping_mul(self.m0_inv);
            let s = u64::from(t[0]) + u64::from(q) * u64::from(self.m[0]);
            let mut carry = s >> 32;
            for j in 1..n {
                let s = u64::from(t[j]) + u64::from(q) * u64::from(self.m[j]) + carry;
                t[j - 1] = s as u32;
                carry = s >> 32;
            }
            let s = u64::from(t[n]) + carry;
            t[n - 1] = s as u32;
            t[n] = t[n + 1] + (s >> 32) as u32;
            t[n + 1] = 0;
        }
        let high = t[n] != 0;
        t.truncate(n);
        if high || cmp(&t, &self.m) != Ordering::Less {
            sub_assign(&mut t, &self.m);
        }
        t
    }

    /// `a² · R⁻¹ mod m`.
    pub(crate) fn square(&self, a: &[u32]) -> Limbs {
        self.mul(a, a)
    }

    /// `(a + b) mod m` of two residues.
    pub(crate) fn add(&self, a: &[u32], b: &[u32]) -> Limbs {
        let mut s = a.to_vec();
        let carry = add_assign(&mut s, b);
        if carry || cmp(&s, &self.m) != Ordering::Less {
            sub_assign(&mut s, &self.m);
        }
        s
    }

    /// `(a - b) mod m` of two residues.
    pub(crate) fn sub(&self, a: &[u32], b: &[u32]) -> Limbs {
        let mut d = a.to_vec();
        if sub_assign(&mut d, b) {
            add_assign(&mut d, &self.m);
        }
        d
    }

    /// Montgomery form of a plain number below the modulus.
    pub(crate) fn to_mont(&self, a: &[u32]) -> Limbs {
        self.mul(a, &self.r2)
    }

    /// The plain number of a residue.
    pub(crate) fn plain(&self, a: &[u32]) -> Limbs {
        let mut one = vec![0u32; self.m.len()];
        one[0] = 1;
        self.mul(a, &one)
    }

    /// `1` in Montgomery form.
    pub(crate) fn one(&self) -> Limbs {
        let mut one = vec![0u32; self.m.len()];
        one[0] = 1;
        self.to_mont(&one)
    }

    /// `base^exponent` for a residue `base` and a plain exponent (any length).
    pub(crate) fn pow(&self, base: &[u32], exponent: &[u32]) -> Limbs {
        let mut acc = self.one();
        for i in (0..bits(exponent)).rev() {
            acc = self.square(&acc);
            if (exponent[i / 32] >> (i % 32)) & 1 == 1 {
                acc = self.mul(&acc, base);
            }
        }
        acc
    }

    /// The inverse of a non-zero residue, for a **prime** modulus (Fermat: `a^(m-2)`).
    pub(crate) fn invert_prime(&self, a: &[u32]) -> Limbs {
        let mut exponent = self.m.clone();
        let mut two = vec![0u32; exponent.len()];
        two[0] = 2;
        sub_assign(&mut exponent, &two);
        self.pow(a, &exponent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(v: u128, limbs: usize) -> Limbs {
        from_be_bytes(&v.to_be_bytes(), limbs).unwrap()
    }

    /// Small cases checked against native `u128` arithmetic.
    #[test]
    fn montgomery_arithmetic_matches_u128() {
        let m_val: u128 = 0xffff_fffb_0000_0001_2345_6789; // odd
        let m = Modulus::new(&m_val.to_be_bytes()).unwrap();
        assert_eq!(m.bits(), 128 - m_val.leading_zeros() as usize);
        let l = m.limbs();
        let (a, b) = (0x1234_5678_9abc_def0_1111u128, 0xfedc_ba98_7654_3210_2222u128);
        let (am, bm) = (m.to_mont(&num(a, l)), m.to_mont(&num(b, l)));
        let mulmod = |x: u128, y: u128| -> u128 {
            // Double-and-add to avoid u128 overflow.
            let (mut acc, mut x) = (0u128, x % m_val);
            let mut y = y % m_val;
            while y > 0 {
                if y & 1 == 1 {
                    acc = (acc + x) % m_val;
                }
                x = (x + x) % m_val;
                y >>= 1;
            }
            acc
        };
        assert_eq!(m.plain(&m.mul(&am, &bm)), num(mulmod(a, b), l));
        assert_eq!(m.plain(&m.add(&am, &bm)), num((a + b) % m_val, l));
        assert_eq!(m.plain(&m.sub(&am, &bm)), num((a + m_val - b) % m_val, l));
        let pow = m.plain(&m.pow(&am, &num(65537, 1)));
        let mut expected = 1u128;
        for _ in 0..65537 {
            expected = mulmod(expected, a);
        }
        assert_eq!(pow, num(expected, l));
    }

    #[test]
    fn r2_shortcut_matches_plain_doubling() {
        for hex_len in [2usize, 7, 16, 33, 66, 128, 256, 512] {
            let mut be: Vec<u8> =
                (0..hex_len).map(|i| (i as u8).wrapping_mul(37).wrapping_add(11)).collect();
            be[0] |= 0x80;
            *be.last_mut().unwrap() |= 1;
            let m = Modulus::new(&be).unwrap();
            assert_eq!(m.r2, m.r2_by_doubling(), "{hex_len} bytes");
            // And with a top limb that is not full.
            be[0] = 0x01;
            let m = Modulus::new(&be).unwrap();
            assert_eq!(m.r2, m.r2_by_doubling(), "{hex_len} bytes, short top limb");
        }
    }

    #[test]
    fn fermat_inverse_for_a_prime() {
        let p: u128 = (1 << 127) - 1; // a Mersenne prime
        let m = Modulus::new(&p.to_be_bytes()).unwrap();
        let a = m.to_mont(&num(123_456_789, m.limbs()));
        assert_eq!(m.mul(&a, &m.invert_prime(&a)), m.one());
    }

    #[test]
    fn byte_conversions_and_bad_moduli() {
        assert_eq!(from_be_bytes(&[0, 0, 1, 2, 3, 4, 5], 2), Some(vec![0x0203_0405, 1]));
        assert_eq!(from_be_bytes(&[1, 2, 3, 4, 5], 1), None);
        assert_eq!(to_be_bytes(&[0x0203_0405, 1], 5), Some(vec![1, 2, 3, 4, 5]));
        assert_eq!(to_be_bytes(&[0x0203_0405, 1], 4), None);
        assert_eq!(bits(&[0, 1]), 33);
        assert!(Modulus::new(&[4]).is_none());
        assert!(Modulus::new(&[1]).is_none());
        assert!(Modulus::new(&[]).is_none());
    }
}
