//! `kms_api::hash` against the `sha2`, `hmac` and `hkdf` crates it replaces in the client:
//! every hash, key lengths around the block sizes, empty inputs, and HKDF outputs up to the
//! 255 * HashLen limit.

use hkdf::Hkdf as RefHkdf;
use hmac::{Hmac as RefHmac, Mac};
use kms_api::hash::{self, HashAlgorithm, Hasher, Hkdf, Hmac};
use proptest::prelude::*;
use sha2::{Digest, Sha256, Sha384, Sha512};

const ALGORITHMS: [HashAlgorithm; 3] =
    [HashAlgorithm::Sha256, HashAlgorithm::Sha384, HashAlgorithm::Sha512];

fn algorithm() -> impl Strategy<Value = HashAlgorithm> {
    prop::sample::select(ALGORITHMS.to_vec())
}

/// Lengths that matter to HMAC: empty, around the 64 and 128-byte blocks, and longer.
fn key() -> impl Strategy<Value = Vec<u8>> {
    let len = prop_oneof![Just(0usize), 60usize..=68, 124usize..=132, 0usize..300,];
    len.prop_flat_map(|n| prop::collection::vec(any::<u8>(), n))
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

fn reference_digest(algorithm: HashAlgorithm, data: &[u8]) -> Vec<u8> {
    match algorithm {
        HashAlgorithm::Sha256 => Sha256::digest(data).to_vec(),
        HashAlgorithm::Sha384 => Sha384::digest(data).to_vec(),
        HashAlgorithm::Sha512 => Sha512::digest(data).to_vec(),
    }
}

fn reference_hmac(algorithm: HashAlgorithm, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        let Ok(mut mac) = <M as hmac::digest::KeyInit>::new_from_slice(key) else {
            unreachable!("HMAC takes keys of any length");
        };
        parts.iter().for_each(|p| mac.update(p));
        mac.finalize().into_bytes().to_vec()
    }
    match algorithm {
        HashAlgorithm::Sha256 => run::<RefHmac<Sha256>>(key, parts),
        HashAlgorithm::Sha384 => run::<RefHmac<Sha384>>(key, parts),
        HashAlgorithm::Sha512 => run::<RefHmac<Sha512>>(key, parts),
    }
}

fn reference_hkdf(
    algorithm: HashAlgorithm,
    salt: Option<&[u8]>,
    ikm: &[u8],
    info: &[&[u8]],
    len: usize,
) -> Option<Vec<u8>> {
    let mut okm = vec![0u8; len];
    let ok = match algorithm {
        HashAlgorithm::Sha256 => {
            RefHkdf::<Sha256>::new(salt, ikm).expand_multi_info(info, &mut okm)
        }
        HashAlgorithm::Sha384 => {
            RefHkdf::<Sha384>::new(salt, ikm).expand_multi_info(info, &mut okm)
        }
        HashAlgorithm::Sha512 => {
            RefHkdf::<Sha512>::new(salt, ikm).expand_multi_info(info, &mut okm)
        }
    };
    ok.is_ok().then_some(okm)
}

proptest! {
    #[test]
    fn digest_matches_sha2(algorithm in algorithm(), data in bytes(400), cut in any::<usize>()) {
        let expected = reference_digest(algorithm, &data);
        let once = hash::digest(algorithm, &data);
        prop_assert_eq!(once.as_bytes(), &expected[..]);
        let (a, b) = data.split_at(cut % (data.len() + 1));
        let mut hasher = Hasher::new(algorithm);
        hasher.update(a);
        let copy = hasher.clone();
        hasher.update(b);
        let (whole, prefix) = (hasher.finalize(), copy.finalize());
        prop_assert_eq!(whole.as_bytes(), &expected[..]);
        prop_assert_eq!(prefix.as_bytes(), &reference_digest(algorithm, a)[..]);
    }

    #[test]
    fn hmac_matches_the_hmac_crate(
        algorithm in algorithm(),
        key in key(),
        data in bytes(300),
        cut in any::<usize>(),
    ) {
        let (a, b) = data.split_at(cut % (data.len() + 1));
        let expected = reference_hmac(algorithm, &key, &[a, b]);
        prop_assert_eq!(expected.len(), algorithm.output_len());
        let once = hash::hmac(algorithm, &key, &data);
        prop_assert_eq!(once.as_bytes(), &expected[..]);
        let mut mac = Hmac::new(algorithm, &key);
        mac.update(a);
        mac.update(b);
        let tag = mac.finalize();
        prop_assert_eq!(tag.as_bytes(), &expected[..]);
    }

    #[test]
    fn hkdf_matches_the_hkdf_crate(
        algorithm in algorithm(),
        salt in prop::option::of(key()),
        ikm in key(),
        info_a in bytes(80),
        info_b in bytes(80),
        len in prop_oneof![0usize..200, 16_000usize..16_400],
    ) {
        let info: [&[u8]; 2] = [&info_a, &info_b];
        let expected = reference_hkdf(algorithm, salt.as_deref(), &ikm, &info, len);
        let mut okm = vec![0u8; len];
        let got = Hkdf::extract(algorithm, salt.as_deref(), &ikm).expand(&info, &mut okm);
        prop_assert_eq!(got.is_ok(), expected.is_some());
        if let Some(expected) = expected {
            prop_assert_eq!(okm, expected);
        }
    }
}

/// The largest output each hash allows is accepted by both, one byte more by neither.
#[test]
fn hkdf_limits_match_the_hkdf_crate() {
    for algorithm in ALGORITHMS {
        let max = 255 * algorithm.output_len();
        for len in [max - 1, max, max + 1] {
            let expected = reference_hkdf(algorithm, Some(b"salt"), b"ikm", &[b"info"], len);
            let mut okm = vec![0u8; len];
            let got = Hkdf::extract(algorithm, Some(b"salt"), b"ikm").expand(&[b"info"], &mut okm);
            assert_eq!(got.is_ok(), len <= max, "{algorithm:?} {len}");
            assert_eq!(got.is_ok().then_some(okm), expected, "{algorithm:?} {len}");
        }
    }
}

/// Every input length from 0 to 300 bytes (across the padding boundaries at 55/56 and 111/112
/// bytes and several blocks), fed whole and byte by byte.
#[test]
fn digest_matches_sha2_at_every_length_to_300() {
    let data: Vec<u8> = (0..=300u32).map(|i| (i * 7 + 3) as u8).collect();
    for algorithm in ALGORITHMS {
        for len in 0..=data.len() {
            let expected = reference_digest(algorithm, &data[..len]);
            let whole = hash::digest(algorithm, &data[..len]);
            assert_eq!(whole.as_bytes(), &expected[..], "{algorithm:?} {len}");
            let mut bytewise = Hasher::new(algorithm);
            data[..len].chunks(1).for_each(|b| bytewise.update(b));
            assert_eq!(bytewise.finalize().as_bytes(), &expected[..], "{algorithm:?} {len}");
        }
    }
}
