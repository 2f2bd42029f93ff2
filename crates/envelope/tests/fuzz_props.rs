//! Property tests over the fuzz entry points and the codecs: random bytes and mutated
//! messages never panic and never decrypt; encoding then parsing is the identity;
//! decrypting an encryption returns the plaintext, whatever the chunking.
// Test helpers unwrap too; clippy.toml's allowance covers only `#[test]` functions.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::OnceLock;

use common::{block_on, chunks, TestCmm};
use kms_envelope::client::{decrypt, encrypt, DecryptConfig, EncryptConfig};
use kms_envelope::format::{ContentType, HeaderLimits, MessageHeader, MessageId};
use kms_envelope::materials::{EncryptedDataKey, EncryptionContext};
use kms_envelope::stream::{Decryptor, Encryptor};
use kms_envelope::suite::{AlgorithmSuite, CommitmentPolicy, MessageFormatVersion, ALL_SUITES};
use proptest::prelude::*;

const ALLOW_ALL: CommitmentPolicy = CommitmentPolicy::RequireEncryptAllowDecrypt;

fn policy_for(suite: &AlgorithmSuite) -> CommitmentPolicy {
    if suite.committing {
        ALLOW_ALL
    } else {
        CommitmentPolicy::ForbidEncryptAllowDecrypt
    }
}

fn encrypt_with(
    suite: &'static AlgorithmSuite,
    pt: &[u8],
    ec: EncryptionContext,
    frame: u32,
) -> Vec<u8> {
    let config = EncryptConfig {
        commitment_policy: policy_for(suite),
        suite: Some(suite),
        frame_length: frame,
        ..EncryptConfig::default()
    };
    block_on(encrypt(&TestCmm::default(), pt, ec, &config)).unwrap()
}

/// A few valid messages to mutate: unsigned v1, committing v2, signed v2.
fn samples() -> &'static [Vec<u8>] {
    static SAMPLES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let ec = common::ec(&[("a", "b"), ("purpose", "fuzz")]);
        [0x0178u16, 0x0478, 0x0578]
            .iter()
            .map(|&id| encrypt_with(AlgorithmSuite::by_id(id).unwrap(), &[9u8; 50], ec.clone(), 16))
            .collect()
    })
}

fn decrypt_any(ct: &[u8]) -> Result<Vec<u8>, kms_envelope::Error> {
    let config = DecryptConfig { commitment_policy: ALLOW_ALL, ..DecryptConfig::default() };
    block_on(decrypt(&TestCmm::default(), ct, &config)).map(|d| d.plaintext)
}

fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![".{0,12}", "[a-z]{1,4}", "\\PC{0,6}"]
}

fn arb_context() -> impl Strategy<Value = EncryptionContext> {
    prop::collection::btree_map(arb_string(), arb_string(), 0..5)
        .prop_filter("reserved prefix", |m| m.keys().all(|k| !k.starts_with("aws-crypto-")))
        .prop_map(|m| m.into_iter().collect())
}

fn arb_suite(unsigned_only: bool) -> impl Strategy<Value = &'static AlgorithmSuite> {
    let suites: Vec<&'static AlgorithmSuite> =
        ALL_SUITES.iter().copied().filter(|s| !unsigned_only || !s.is_signed()).collect();
    prop::sample::select(suites)
}

fn arb_header() -> impl Strategy<Value = MessageHeader> {
    (
        arb_suite(false),
        any::<[u8; 32]>(),
        arb_context(),
        prop::collection::vec(
            (
                arb_string(),
                prop::collection::vec(any::<u8>(), 0..20),
                prop::collection::vec(any::<u8>(), 0..40),
            ),
            1..4,
        ),
        prop::bool::ANY,
        1u32..,
        any::<[u8; 12]>(),
        any::<[u8; 16]>(),
    )
        .prop_map(|(suite, id, ec, edks, framed, frame_length, iv, tag)| {
            let v2 = suite.message_format == MessageFormatVersion::V2;
            let mut id16 = [0u8; 16];
            id16.copy_from_slice(&id[..16]);
            MessageHeader {
                suite,
                message_id: if v2 { MessageId::V2(id) } else { MessageId::V1(id16) },
                encryption_context: ec,
                encrypted_data_keys: edks
                    .into_iter()
                    .map(|(p, i, c)| EncryptedDataKey {
                        provider_id: p,
                        provider_info: i,
                        ciphertext: c,
                    })
                    .collect(),
                content_type: if framed { ContentType::Framed } else { ContentType::NonFramed },
                frame_length: if framed { frame_length } else { 0 },
                commitment: v2.then_some(id),
                header_iv: if v2 { [0; 12] } else { iv },
                header_tag: tag,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = kms_envelope::fuzzing::parse_message(&data);
        let _ = kms_envelope::fuzzing::parse_header(&data);
        let _ = kms_envelope::fuzzing::parse_footer(&data);
        prop_assert!(decrypt_any(&data).is_err());
    }

    #[test]
    fn random_bytes_after_a_valid_prefix_never_panic(
        which in 0usize..3,
        cut in 0usize..400,
        tail in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let sample = &samples()[which];
        let cut = cut.min(sample.len());
        let mut data = sample[..cut].to_vec();
        data.extend_from_slice(&tail);
        let _ = kms_envelope::fuzzing::parse_message(&data);
        let _ = kms_envelope::fuzzing::parse_header(&data);
        if data != *sample {
            prop_assert!(decrypt_any(&data).is_err());
        }
    }

    #[test]
    fn mutated_messages_never_decrypt(
        which in 0usize..3,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        truncate in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let sample = &samples()[which];
        let mut data = sample.clone();
        for (at, byte) in edits {
            let i = at.index(data.len());
            data[i] = byte;
        }
        if let Some(t) = truncate {
            data.truncate(t.index(data.len()));
        }
        let _ = kms_envelope::fuzzing::parse_message(&data);
        if data != *sample {
            prop_assert!(decrypt_any(&data).is_err());
        }
    }

    #[test]
    fn any_flipped_bit_fails_decryption(which in 0usize..3, at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut data = samples()[which].clone();
        let i = at.index(data.len());
        data[i] ^= 1 << bit;
        prop_assert!(decrypt_any(&data).is_err());
    }

    #[test]
    fn header_encode_then_parse_is_identity(header in arb_header()) {
        let mut bytes = Vec::new();
        header.encode(&mut bytes).unwrap();
        let parsed = MessageHeader::parse(&bytes, &HeaderLimits::default()).unwrap();
        prop_assert_eq!(parsed.len, bytes.len());
        prop_assert_eq!(parsed.header, header);
        // Every strict prefix asks for more bytes.
        let _ = kms_envelope::fuzzing::parse_header(&bytes[..bytes.len() / 2]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn decrypt_of_encrypt_is_identity(
        suite in arb_suite(true),
        pt in prop::collection::vec(any::<u8>(), 0..1500),
        ec in arb_context(),
        frame in 1u32..300,
        enc_sizes in prop::collection::vec(1usize..400, 1..5),
        dec_sizes in prop::collection::vec(1usize..400, 1..5),
    ) {
        let cmm = TestCmm::default();
        let config = EncryptConfig {
            commitment_policy: policy_for(suite),
            suite: Some(suite),
            frame_length: frame,
            ..EncryptConfig::default()
        };
        let mut e = block_on(Encryptor::new(&cmm, ec.clone(), &config)).unwrap();
        let mut ct = Vec::new();
        for c in chunks(&pt, &enc_sizes) {
            e.update(c, &mut ct).unwrap();
        }
        e.finish(&mut ct).unwrap();
        let dconfig = DecryptConfig { commitment_policy: ALLOW_ALL, ..DecryptConfig::default() };
        let mut d = Decryptor::new(&cmm, &dconfig);
        let mut out = Vec::new();
        for c in chunks(&ct, &dec_sizes) {
            block_on(d.update(c, &mut out)).unwrap();
        }
        let info = d.finish(&mut out).unwrap();
        prop_assert_eq!(out, pt);
        prop_assert_eq!(info.encryption_context, ec);
    }
}
