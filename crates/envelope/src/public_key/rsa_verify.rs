//! RSA signature verification (RFC 8017 §8.1.2 RSASSA-PSS, §8.2.2 RSASSA-PKCS1-v1_5) over
//! the Montgomery arithmetic of [`super::bignum`]: the public operation `s^e mod n` and
//! the encoding checks. Public data only, so variable time is acceptable.

use super::bignum::{self, Limbs, Modulus};
use super::Hash;

/// An RSA public key prepared for verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RsaKey {
    n: Modulus,
    e: Limbs,
    /// `k`: the modulus length in bytes.
    len: usize,
}

/// The DER `DigestInfo` prefixes of RFC 8017 §9.2 note 1, before the hash value.
fn digest_info_prefix(hash: Hash) -> &'static [u8] {
    match hash {
        Hash::Sha256 => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
        Hash::Sha384 => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        Hash::Sha512 => &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
    }
}

/// MGF1 (RFC 8017 B.2.1) with `hash`: `len` bytes of mask from `seed`.
fn mgf1(hash: Hash, seed: &[u8], len: usize) -> Vec<u8> {
    let mut mask = Vec::with_capacity(len + hash.len());
    let mut counter = 0u32;
    while mask.len() < len {
        mask.extend(hash.digest_parts(&[seed, &counter.to_be_bytes()]));
        counter += 1;
    }
    mask.truncate(len);
    mask
}

impl RsaKey {
    /// The key with modulus `n` and exponent `e` (big-endian); `None` for an even or
    /// trivial modulus, or an exponent below 3 or even.
    pub(crate) fn new(n: &[u8], e: &[u8]) -> Option<Self> {
        let n = Modulus::new(n)?;
        let e = bignum::from_be_bytes(e, e.len().div_ceil(4).max(1))?;
        // Odd with at least two bits: 3 or more.
        if e[0] & 1 == 0 || bignum::bits(&e) < 2 {
            return None;
        }
        let len = n.bits().div_ceil(8);
        Some(RsaKey { n, e, len })
    }

    /// The modulus length in bits.
    pub(crate) fn bits(&self) -> usize {
        self.n.bits()
    }

    /// The modulus length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// `s^e mod n` as `k` bytes; `None` unless the signature is `k` bytes and below `n`.
    fn open(&self, signature: &[u8]) -> Option<Vec<u8>> {
        if signature.len() != self.len {
            return None;
        }
        let s = bignum::from_be_bytes(signature, self.n.limbs())?;
        if bignum::cmp(&s, self.n.value()).is_ge() {
            return None;
        }
        let m = self.n.plain(&self.n.pow(&self.n.to_mont(&s), &self.e));
        bignum::to_be_bytes(&m, self.len)
    }

    /// RSASSA-PKCS1-v1_5 verification of `digest` (a `hash` value).
    pub(crate) fn verify_pkcs1v15(&self, hash: Hash, digest: &[u8], signature: &[u8]) -> bool {
        let Some(em) = self.open(signature) else { return false };
        let prefix = digest_info_prefix(hash);
        let t_len = prefix.len() + digest.len();
        if self.len < t_len + 11 {
            return false;
        }
        // EM = 0x00 || 0x01 || PS (0xff…, at least 8) || 0x00 || DigestInfo.
        let mut expected = vec![0xff; self.len];
        expected[0] = 0;
        expected[1] = 1;
        expected[self.len - t_len - 1] = 0;
        expected[self.len - t_len..self.len - digest.len()].copy_from_slice(prefix);
        expected[self.len - digest.len()..].copy_from_slice(digest);
        em == expected
    }

    /// RSASSA-PSS verification of `digest` with MGF1 over the same hash and a salt as
    /// long as the hash (what KMS uses).
    pub(crate) fn verify_pss(&self, hash: Hash, digest: &[u8], signature: &[u8]) -> bool {
        let Some(k_bytes) = self.open(signature) else { return false };
        let h_len = hash.len();
        let s_len = h_len;
        let em_bits = self.n.bits() - 1;
        let em_len = em_bits.div_ceil(8);
        // EM is the low emLen bytes; a leading byte beyond them must be zero.
        let (high, em) = k_bytes.split_at(self.len - em_len);
        if high.iter().any(|&b| b != 0) || em_len < h_len + s_len + 2 {
            return false;
        }
        if em[em_len - 1] != 0xbc {
            return false;
        }
        let (masked_db, rest) = em.split_at(em_len - h_len - 1);
        let h = &rest[..h_len];
        let unused_bits = 8 * em_len - em_bits;
        let top_mask = 0xffu8.checked_shr(unused_bits as u32).unwrap_or(0);
        if masked_db[0] & !top_mask != 0 {
            return false;
        }
        let mut db = mgf1(hash, h, masked_db.len());
        for (d, m) in db.iter_mut().zip(masked_db) {
            *d ^= m;
        }
        db[0] &= top_mask;
        let ps_len = em_len - h_len - s_len - 2;
        if db[..ps_len].iter().any(|&b| b != 0) || db[ps_len] != 1 {
            return false;
        }
        let salt = &db[ps_len + 1..];
        hash.digest_parts(&[&[0u8; 8], digest, salt]) == h
    }
}
