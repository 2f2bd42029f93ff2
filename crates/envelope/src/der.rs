//! The few DER structures the crate reads and writes, by hand: public keys
//! (`SubjectPublicKeyInfo`), the public half of PKCS #8 RSA private keys, PEM armour, and
//! ECDSA signatures (`SEQUENCE { r INTEGER, s INTEGER }`).
//!
//! Hand-written rather than the `der`/`spki`/`pkcs8` crates because those cost about
//! 40 KB in the WebAssembly build for five structures. Parsing is strict DER: definite
//! minimal lengths, minimal non-negative integers, no trailing bytes.

use kms_api::base64;

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const NULL: u8 = 0x05;
const OID: u8 = 0x06;

/// `rsaEncryption` (1.2.840.113549.1.1.1).
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// `id-ecPublicKey` (1.2.840.10045.2.1).
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// `prime256v1` (1.2.840.10045.3.1.7).
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// `secp384r1` (1.3.132.0.34).
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
/// `secp521r1` (1.3.132.0.35).
const OID_P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];

/// The NIST curves KMS uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedCurve {
    /// `prime256v1` (P-256).
    P256,
    /// `secp384r1` (P-384).
    P384,
    /// `secp521r1` (P-521).
    P521,
}

/// A parsed `SubjectPublicKeyInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spki {
    /// An RSA key.
    Rsa {
        /// The modulus, big-endian without leading zeros.
        n: Vec<u8>,
        /// The public exponent, big-endian without leading zeros.
        e: Vec<u8>,
    },
    /// An EC key.
    Ec {
        /// The named curve.
        curve: NamedCurve,
        /// The SEC1 point as encoded in the key.
        point: Vec<u8>,
    },
}

/// A cursor over DER bytes; every read fails with `None` on malformed input.
struct Der<'a> {
    rest: &'a [u8],
}

impl<'a> Der<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Der { rest: bytes }
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The contents of the next element, which must have tag `tag`.
    fn read(&mut self, tag: u8) -> Option<&'a [u8]> {
        let (&t, rest) = self.rest.split_first()?;
        if t != tag {
            return None;
        }
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 3 || rest.len() < count {
                return None;
            }
            let (bytes, tail) = rest.split_at(count);
            rest = tail;
            let len = bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            // Minimal: long form only from 128 on, and no leading zero byte.
            if len < 0x80 || bytes[0] == 0 {
                return None;
            }
            len
        };
        if rest.len() < len {
            return None;
        }
        let (content, tail) = rest.split_at(len);
        self.rest = tail;
        Some(content)
    }

    /// A non-negative INTEGER, big-endian without the sign byte (zero is `[]`).
    fn unsigned(&mut self) -> Option<&'a [u8]> {
        let content = self.read(INTEGER)?;
        match content {
            [] => None,
            [b, ..] if b & 0x80 != 0 => None,
            [0, next, ..] if next & 0x80 == 0 => None,
            [0, rest @ ..] => Some(rest),
            _ => Some(content),
        }
    }

    /// The next element must be the last one.
    fn end(self) -> Option<()> {
        self.is_empty().then_some(())
    }
}

/// Parses a DER `SubjectPublicKeyInfo` holding an RSA key or an EC key on a NIST curve.
pub fn parse_spki(der: &[u8]) -> Option<Spki> {
    let mut outer = Der::new(der);
    let mut spki = Der::new(outer.read(SEQUENCE)?);
    outer.end()?;
    let mut algorithm = Der::new(spki.read(SEQUENCE)?);
    let key = spki.read(BIT_STRING)?;
    spki.end()?;
    // A whole number of bytes: no unused bits.
    let (&0, key) = key.split_first()? else { return None };
    let oid = algorithm.read(OID)?;
    if oid == OID_RSA {
        // The parameters are NULL (RFC 3279), tolerated when absent.
        if !algorithm.is_empty() {
            let null = algorithm.read(NULL)?;
            if !null.is_empty() {
                return None;
            }
        }
        algorithm.end()?;
        let mut outer = Der::new(key);
        let mut rsa = Der::new(outer.read(SEQUENCE)?);
        outer.end()?;
        let n = rsa.unsigned()?.to_vec();
        let e = rsa.unsigned()?.to_vec();
        rsa.end()?;
        return Some(Spki::Rsa { n, e });
    }
    if oid != OID_EC {
        return None;
    }
    let curve = named_curve(algorithm.read(OID)?)?;
    algorithm.end()?;
    Some(Spki::Ec { curve, point: key.to_vec() })
}

fn named_curve(oid: &[u8]) -> Option<NamedCurve> {
    match oid {
        OID_P256 => Some(NamedCurve::P256),
        OID_P384 => Some(NamedCurve::P384),
        OID_P521 => Some(NamedCurve::P521),
        _ => None,
    }
}

/// A DER PKCS #8 `PrivateKeyInfo` (RFC 5208) of version 0: its algorithm identifier's
/// contents (from the OID on) and the private key's octets. Attributes are not read.
fn pkcs8_parts(der: &[u8]) -> Option<(Der<'_>, &[u8])> {
    let mut outer = Der::new(der);
    let mut info = Der::new(outer.read(SEQUENCE)?);
    outer.end()?;
    if !info.unsigned()?.is_empty() {
        return None;
    }
    let algorithm = Der::new(info.read(SEQUENCE)?);
    Some((algorithm, info.read(OCTET_STRING)?))
}

/// The modulus and public exponent of a DER PKCS #8 `PrivateKeyInfo` RSA key (RFC 5208,
/// RFC 8017 A.1.2). The private fields are not read.
pub fn rsa_pkcs8_public_parts(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (mut algorithm, key) = pkcs8_parts(der)?;
    if algorithm.read(OID)? != OID_RSA {
        return None;
    }
    let mut key = Der::new(key);
    let mut rsa = Der::new(key.read(SEQUENCE)?);
    key.end()?;
    let _version = rsa.unsigned()?;
    let n = rsa.unsigned()?.to_vec();
    let e = rsa.unsigned()?.to_vec();
    Some((n, e))
}

/// The private scalar of a DER PKCS #8 `PrivateKeyInfo` EC key on `curve` (RFC 5208 with
/// RFC 5915's `ECPrivateKey`), as WebCrypto exports it: borrowed from `der`, which the
/// caller wipes. The optional parameters, public key and attributes are not read.
pub fn ec_pkcs8_private_scalar(der: &[u8], curve: NamedCurve) -> Option<&[u8]> {
    let (mut algorithm, key) = pkcs8_parts(der)?;
    if algorithm.read(OID)? != OID_EC || named_curve(algorithm.read(OID)?)? != curve {
        return None;
    }
    algorithm.end()?;
    let mut key = Der::new(key);
    let mut ec = Der::new(key.read(SEQUENCE)?);
    key.end()?;
    if ec.unsigned()? != [1] {
        return None;
    }
    ec.read(OCTET_STRING)
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    out.push(0x80 | (bytes.len() - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

fn push_tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    push_len(out, content.len());
    out.extend_from_slice(content);
}

/// A minimal non-negative DER INTEGER of the big-endian `value`.
fn push_unsigned(out: &mut Vec<u8>, value: &[u8]) {
    let skip = value.iter().take_while(|&&b| b == 0).count();
    let value = &value[skip..];
    let mut content = Vec::with_capacity(value.len() + 1);
    if value.first().is_none_or(|&b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(value);
    push_tlv(out, INTEGER, &content);
}

/// The DER `SubjectPublicKeyInfo` of the RSA key (`n`, `e`).
pub fn rsa_spki(n: &[u8], e: &[u8]) -> Vec<u8> {
    let mut rsa_key = Vec::new();
    push_unsigned(&mut rsa_key, n);
    push_unsigned(&mut rsa_key, e);
    let mut key = vec![0];
    push_tlv(&mut key, SEQUENCE, &rsa_key);
    let mut algorithm = Vec::new();
    push_tlv(&mut algorithm, OID, OID_RSA);
    push_tlv(&mut algorithm, NULL, &[]);
    let mut body = Vec::new();
    push_tlv(&mut body, SEQUENCE, &algorithm);
    push_tlv(&mut body, BIT_STRING, &key);
    let mut out = Vec::new();
    push_tlv(&mut out, SEQUENCE, &body);
    out
}

/// Splits a DER ECDSA signature into `r` and `s`, each left-padded to `scalar_len` bytes;
/// `None` if it is not strict DER or a value is longer than `scalar_len`.
pub fn parse_ecdsa_signature(der: &[u8], scalar_len: usize) -> Option<Vec<u8>> {
    let mut outer = Der::new(der);
    let mut sig = Der::new(outer.read(SEQUENCE)?);
    outer.end()?;
    let r = sig.unsigned()?;
    let s = sig.unsigned()?;
    sig.end()?;
    if r.len() > scalar_len || s.len() > scalar_len {
        return None;
    }
    let mut out = vec![0; 2 * scalar_len];
    out[scalar_len - r.len()..scalar_len].copy_from_slice(r);
    out[2 * scalar_len - s.len()..].copy_from_slice(s);
    Some(out)
}

/// The DER encoding of an ECDSA signature given as `r || s` (two halves of equal length).
pub fn encode_ecdsa_signature(r_s: &[u8]) -> Vec<u8> {
    let (r, s) = r_s.split_at(r_s.len() / 2);
    let mut body = Vec::new();
    push_unsigned(&mut body, r);
    push_unsigned(&mut body, s);
    let mut out = Vec::new();
    push_tlv(&mut out, SEQUENCE, &body);
    out
}

/// The DER bytes inside PEM armour with this `label` (`-----BEGIN <label>-----`).
pub fn pem_to_der(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let body = pem.trim().strip_prefix(begin.as_str())?.strip_suffix(end.as_str())?;
    let base64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::decode(base64).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_integers_are_strict() {
        assert_eq!(Der::new(&[0x02, 0x01, 0x05]).unsigned(), Some(&[5u8][..]));
        assert_eq!(Der::new(&[0x02, 0x02, 0x00, 0x80]).unsigned(), Some(&[0x80u8][..]));
        // Negative, non-minimal, empty.
        assert_eq!(Der::new(&[0x02, 0x01, 0x80]).unsigned(), None);
        assert_eq!(Der::new(&[0x02, 0x02, 0x00, 0x05]).unsigned(), None);
        assert_eq!(Der::new(&[0x02, 0x00]).unsigned(), None);
        // Long form for a short length, indefinite length, truncation.
        assert_eq!(Der::new(&[0x04, 0x81, 0x01, 0x00]).read(OCTET_STRING), None);
        assert_eq!(Der::new(&[0x04, 0x80, 0x00, 0x00]).read(OCTET_STRING), None);
        assert_eq!(Der::new(&[0x04, 0x03, 0x00]).read(OCTET_STRING), None);
        let long = [&[0x04, 0x81, 0x80][..], &[7; 0x80]].concat();
        assert_eq!(Der::new(&long).read(OCTET_STRING).map(<[u8]>::len), Some(0x80));
    }

    #[test]
    fn ec_pkcs8_scalars_are_read_for_their_curve_only() {
        use p384::pkcs8::EncodePrivateKey as _;
        let secret = p384::SecretKey::from_slice(&[7u8; 48]).unwrap();
        let der = secret.to_pkcs8_der().unwrap();
        let scalar = ec_pkcs8_private_scalar(der.as_bytes(), NamedCurve::P384);
        assert_eq!(scalar, Some(&secret.to_bytes()[..]));
        assert_eq!(ec_pkcs8_private_scalar(der.as_bytes(), NamedCurve::P256), None);
        let mut trailing = der.as_bytes().to_vec();
        trailing.push(0);
        assert_eq!(ec_pkcs8_private_scalar(&trailing, NamedCurve::P384), None);
        for cut in 0..der.as_bytes().len() {
            assert_eq!(ec_pkcs8_private_scalar(&der.as_bytes()[..cut], NamedCurve::P384), None);
        }
    }

    #[test]
    fn ecdsa_signatures_round_trip() {
        let mut r_s = vec![0u8; 64];
        r_s[0] = 0x80; // r needs a sign byte
        r_s[40] = 1; // s has leading zeros
        let der = encode_ecdsa_signature(&r_s);
        assert_eq!(parse_ecdsa_signature(&der, 32), Some(r_s.clone()));
        assert_eq!(parse_ecdsa_signature(&der, 31), None);
        let mut trailing = der.clone();
        trailing.push(0);
        assert_eq!(parse_ecdsa_signature(&trailing, 32), None);
        // Zero encodes as a single zero byte.
        let zero = encode_ecdsa_signature(&[0; 8]);
        assert_eq!(zero, [0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00]);
    }

    #[test]
    fn rsa_spki_round_trips_and_pem_unwraps() {
        let n = [0xc5u8; 256];
        let spki = rsa_spki(&n, &[1, 0, 1]);
        assert_eq!(parse_spki(&spki), Some(Spki::Rsa { n: n.to_vec(), e: vec![1, 0, 1] }));
        let pem = format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", {
            base64::encode(&spki)
        });
        assert_eq!(pem_to_der(&pem, "PUBLIC KEY"), Some(spki.clone()));
        assert_eq!(pem_to_der(&pem, "PRIVATE KEY"), None);
        assert_eq!(parse_spki(&spki[..spki.len() - 1]), None);
        assert_eq!(parse_spki(b"garbage"), None);
    }

    /// The public parts of a PKCS #8 key, and the SPKI built from them, match the `rsa`
    /// crate's encodings byte for byte.
    #[test]
    fn pkcs8_public_parts_and_spki_match_the_rsa_crate() {
        use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
        use rsa::traits::PublicKeyParts;
        let private = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).unwrap();
        let pkcs8 = private.to_pkcs8_der().unwrap();
        let (n, e) = rsa_pkcs8_public_parts(pkcs8.as_bytes()).unwrap();
        assert_eq!(n, private.n().to_bytes_be());
        assert_eq!(e, private.e().to_bytes_be());
        let spki = private.to_public_key().to_public_key_der().unwrap();
        assert_eq!(rsa_spki(&n, &e), spki.as_bytes());
        assert!(rsa_pkcs8_public_parts(spki.as_bytes()).is_none());
        assert!(rsa_pkcs8_public_parts(&pkcs8.as_bytes()[..100]).is_none());
        let pem = private.to_pkcs8_pem(Default::default()).unwrap();
        assert_eq!(pem_to_der(&pem, "PRIVATE KEY").as_deref(), Some(pkcs8.as_bytes()));
    }
}
