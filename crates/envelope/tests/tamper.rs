//! Decryption must fail on any change to a message: flipped bytes, truncation,
//! trailing bytes, frames out of order, wrong IVs, wrong commitments, policy breaks.
//! Also the malformed-input corpus in `tests/data/malformed/`.
// Test helpers unwrap too; clippy.toml's allowance covers only `#[test]` functions.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use common::{block_on, chunks, ec, Handmade, TestCmm};
use kms_api::base64;
use kms_envelope::client::{decrypt, encrypt, DecryptConfig, EncryptConfig};
use kms_envelope::error::Malformed;
use kms_envelope::format::frame::frame_iv;
use kms_envelope::format::{parse_message, ContentType, HeaderLimits, ParsedBody};
use kms_envelope::materials::EncryptionContext;
use kms_envelope::stream::{Decryptor, Encryptor};
use kms_envelope::suite::{
    AlgorithmSuite, CommitmentPolicy, AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256,
    AES_128_GCM_IV12_TAG16_NO_KDF, AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
    AES_256_GCM_IV12_TAG16_HKDF_SHA256, DEFAULT_SUITE,
};
use kms_envelope::Error;

/// Whether an error is the expected one.
type ErrorCheck = fn(&Error) -> bool;

const ALLOW_ALL: CommitmentPolicy = CommitmentPolicy::RequireEncryptAllowDecrypt;

fn allow_all() -> DecryptConfig {
    DecryptConfig { commitment_policy: ALLOW_ALL, ..DecryptConfig::default() }
}

fn message(suite: &'static AlgorithmSuite, pt: &[u8], frame_length: u32) -> Vec<u8> {
    let policy =
        if suite.committing { ALLOW_ALL } else { CommitmentPolicy::ForbidEncryptAllowDecrypt };
    let config = EncryptConfig {
        commitment_policy: policy,
        suite: Some(suite),
        frame_length,
        ..EncryptConfig::default()
    };
    block_on(encrypt(&TestCmm::default(), pt, ec(&[("a", "b")]), &config)).unwrap()
}

fn decrypt_all(ct: &[u8]) -> Result<Vec<u8>, Error> {
    block_on(decrypt(&TestCmm::default(), ct, &allow_all())).map(|d| d.plaintext)
}

/// Streams `ct` in 7-byte chunks; the result of the first failing call, or of finish.
fn decrypt_streaming(ct: &[u8]) -> Result<Vec<u8>, Error> {
    let cmm = TestCmm::default();
    let config = allow_all();
    let mut d = Decryptor::new(&cmm, &config);
    let mut out = Vec::new();
    for c in chunks(ct, &[7]) {
        block_on(d.update(c, &mut out))?;
    }
    d.finish(&mut out)?;
    Ok(out)
}

const SUITES: [&AlgorithmSuite; 5] = [
    DEFAULT_SUITE,
    &AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
    &AES_256_GCM_IV12_TAG16_HKDF_SHA256,
    &AES_128_GCM_IV12_TAG16_NO_KDF,
    &AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256,
];

#[test]
fn decrypt_fails_when_any_byte_is_flipped() {
    for suite in SUITES {
        let pt = [0x42u8; 40];
        let ct = message(suite, &pt, 16);
        assert_eq!(decrypt_all(&ct).unwrap(), pt);
        for i in 0..ct.len() {
            for mask in [0x01u8, 0x80] {
                let mut bad = ct.clone();
                bad[i] ^= mask;
                assert!(
                    decrypt_all(&bad).is_err(),
                    "suite {:#06x}: flip {mask:#x} at {i}",
                    suite.id
                );
                assert!(
                    decrypt_streaming(&bad).is_err(),
                    "suite {:#06x}: streamed flip at {i}",
                    suite.id
                );
            }
        }
    }
}

#[test]
fn decrypt_fails_on_truncation_at_every_length() {
    for suite in SUITES {
        let ct = message(suite, &[7u8; 40], 16);
        for n in 0..ct.len() {
            let r = decrypt_all(&ct[..n]);
            assert!(r.is_err(), "suite {:#06x}: prefix {n} decrypted", suite.id);
            assert!(decrypt_streaming(&ct[..n]).is_err());
        }
        // The last cut is noticed as truncation, not as anything else.
        assert!(matches!(
            decrypt_all(&ct[..ct.len() - 1]),
            Err(Error::Malformed(Malformed::Truncated))
        ));
    }
}

#[test]
fn decrypt_rejects_trailing_bytes() {
    for suite in SUITES {
        let mut ct = message(suite, b"hello", 16);
        ct.push(0);
        assert!(matches!(decrypt_all(&ct), Err(Error::Malformed(Malformed::TrailingBytes))));
        // Also when the extra byte arrives in a later call.
        let cmm = TestCmm::default();
        let config = allow_all();
        let mut d = Decryptor::new(&cmm, &config);
        let mut out = Vec::new();
        block_on(d.update(&ct[..ct.len() - 1], &mut out)).unwrap();
        assert!(block_on(d.update(&ct[ct.len() - 1..], &mut out)).is_err());
        assert!(matches!(d.finish(&mut out), Err(Error::ApiMisuse(_))));
    }
}

#[test]
fn decrypt_rejects_swapped_frames() {
    let ct = message(&AES_256_GCM_IV12_TAG16_HKDF_SHA256, &[1u8; 69], 16);
    let parsed = parse_message(&ct, &HeaderLimits::default()).unwrap();
    let ParsedBody::Framed(frames) = &parsed.body else { panic!() };
    let frame_len = 4 + 12 + 16 + 16;
    let first = parsed.header_len;
    assert_eq!(frames.len(), 5);
    let mut swapped = ct.clone();
    swapped[first..first + frame_len]
        .copy_from_slice(&ct[first + frame_len..first + 2 * frame_len]);
    swapped[first + frame_len..first + 2 * frame_len]
        .copy_from_slice(&ct[first..first + frame_len]);
    assert!(matches!(decrypt_all(&swapped), Err(Error::Malformed(Malformed::FrameSequence))));
}

#[test]
fn decrypt_rejects_a_frame_whose_iv_is_not_its_sequence_number() {
    // The tag is valid for the IV written, so only the IV rule catches it.
    let mut h = Handmade::new(ContentType::Framed, 4);
    let mut ct = h.header_bytes();
    ct.extend(h.frame(1, false, b"abcd", Some(frame_iv(9))));
    ct.extend(h.frame(2, true, b"ef", None));
    assert!(matches!(decrypt_all(&ct), Err(Error::Malformed(Malformed::FrameSequence))));
}

#[test]
fn decrypt_accepts_both_final_frame_forms_for_exact_multiples() {
    let mut h = Handmade::new(ContentType::Framed, 4);
    let header = h.header_bytes();
    // A regular frame, then an empty final frame.
    let mut a = header.clone();
    a.extend(h.frame(1, false, b"abcd", None));
    a.extend(h.frame(2, true, b"", None));
    assert_eq!(decrypt_all(&a).unwrap(), b"abcd");
    assert_eq!(decrypt_streaming(&a).unwrap(), b"abcd");
    // One full final frame.
    let mut b = header.clone();
    b.extend(h.frame(1, true, b"abcd", None));
    assert_eq!(decrypt_all(&b).unwrap(), b"abcd");
    // Empty plaintext: one empty final frame.
    let mut c = header;
    c.extend(h.frame(1, true, b"", None));
    assert_eq!(decrypt_all(&c).unwrap(), b"");
}

#[test]
fn decrypt_rejects_broken_frame_sequences() {
    let mut h = Handmade::new(ContentType::Framed, 4);
    let header = h.header_bytes();
    let cases: Vec<(Vec<Vec<u8>>, ErrorCheck)> = vec![
        // Sequence skips a number.
        (vec![h.frame(1, false, b"abcd", None), h.frame(3, true, b"", None)], |e| {
            matches!(e, Error::Malformed(Malformed::FrameSequence))
        }),
        // Starts at 0.
        (vec![h.frame(0, true, b"ab", None)], |e| {
            matches!(e, Error::Malformed(Malformed::FrameSequence))
        }),
        // A frame after the final frame.
        (vec![h.frame(1, true, b"ab", None), h.frame(2, true, b"", None)], |e| {
            matches!(e, Error::Malformed(Malformed::TrailingBytes))
        }),
        // Final frame longer than the frame length.
        (vec![h.frame(1, true, b"abcde", None)], |e| {
            matches!(e, Error::Malformed(Malformed::InvalidField(_)))
        }),
        // No final frame.
        (vec![h.frame(1, false, b"abcd", None)], |e| {
            matches!(e, Error::Malformed(Malformed::Truncated))
        }),
    ];
    for (i, (frames, check)) in cases.into_iter().enumerate() {
        let mut ct = header.clone();
        frames.iter().for_each(|f| ct.extend(f));
        let e = decrypt_all(&ct).unwrap_err();
        assert!(check(&e), "case {i}: {e:?}");
        assert!(decrypt_streaming(&ct).is_err(), "case {i} streamed");
    }
}

#[test]
fn non_framed_messages_decrypt_and_their_iv_must_be_one() {
    let mut h = Handmade::new(ContentType::NonFramed, 0);
    let header = h.header_bytes();
    let mut ct = header.clone();
    ct.extend(h.non_framed_body(b"legacy body", frame_iv(1)));
    assert_eq!(decrypt_all(&ct).unwrap(), b"legacy body");
    assert_eq!(decrypt_streaming(&ct).unwrap(), b"legacy body");
    let mut bad = header.clone();
    bad.extend(h.non_framed_body(b"legacy body", frame_iv(2)));
    assert!(matches!(decrypt_all(&bad), Err(Error::Malformed(Malformed::FrameSequence))));
    let limited = DecryptConfig { max_body_size: Some(5), ..allow_all() };
    assert!(matches!(
        block_on(decrypt(&TestCmm::default(), &ct, &limited)),
        Err(Error::Malformed(Malformed::InvalidField(_)))
    ));
}

#[test]
fn decrypt_fails_on_commitment_mismatch_and_wrong_data_key() {
    let ct = message(&AES_256_GCM_HKDF_SHA512_COMMIT_KEY, b"committed", 16);
    let parsed = parse_message(&ct, &HeaderLimits::default()).unwrap();
    // The commitment is the last 32 bytes of the v2 header body.
    let at = parsed.header_body_len - 32;
    let mut bad = ct.clone();
    bad[at] ^= 1;
    assert!(matches!(decrypt_all(&bad), Err(Error::DecryptionFailed)));
    let wrong = TestCmm { wrong_key_on_decrypt: true, ..TestCmm::default() };
    for suite in SUITES {
        let ct = message(suite, b"x", 16);
        assert!(matches!(
            block_on(decrypt(&wrong, &ct, &allow_all())),
            Err(Error::DecryptionFailed)
        ));
    }
}

#[test]
fn commitment_is_checked_even_when_the_header_tag_is_valid() {
    let mut h = Handmade::new_v2(ContentType::Framed, 4);
    let mut good = h.header_bytes();
    good.extend(h.frame(1, true, b"ok", None));
    assert_eq!(decrypt_all(&good).unwrap(), b"ok");
    // A header whose tag is valid under the content key but whose commitment is not
    // the one derived from the data key.
    h.header.commitment.as_mut().unwrap()[0] ^= 1;
    let mut bad = h.header_bytes();
    bad.extend(h.frame(1, true, b"ok", None));
    assert!(matches!(decrypt_all(&bad), Err(Error::DecryptionFailed)));
}

#[test]
fn commitment_policy_is_enforced() {
    let cmm = TestCmm::default();
    let non_committing = EncryptConfig {
        suite: Some(&AES_256_GCM_IV12_TAG16_HKDF_SHA256),
        ..EncryptConfig::default()
    };
    assert!(matches!(
        block_on(encrypt(&cmm, b"x", ec(&[]), &non_committing)),
        Err(Error::CommitmentPolicy(0x0178))
    ));
    let forbid = EncryptConfig {
        commitment_policy: CommitmentPolicy::ForbidEncryptAllowDecrypt,
        suite: Some(DEFAULT_SUITE),
        ..EncryptConfig::default()
    };
    assert!(matches!(
        block_on(encrypt(&cmm, b"x", ec(&[]), &forbid)),
        Err(Error::CommitmentPolicy(0x0578))
    ));
    // Without a suite, the policy's default is used.
    let forbid_default = EncryptConfig {
        commitment_policy: CommitmentPolicy::ForbidEncryptAllowDecrypt,
        ..EncryptConfig::default()
    };
    let ct = block_on(encrypt(&cmm, b"x", ec(&[]), &forbid_default)).unwrap();
    assert_eq!(ct[0], 0x01);
    assert!(matches!(
        block_on(decrypt(&cmm, &ct, &DecryptConfig::default())),
        Err(Error::CommitmentPolicy(0x0378))
    ));
    for policy in
        [CommitmentPolicy::RequireEncryptAllowDecrypt, CommitmentPolicy::ForbidEncryptAllowDecrypt]
    {
        let config = DecryptConfig { commitment_policy: policy, ..DecryptConfig::default() };
        assert_eq!(block_on(decrypt(&cmm, &ct, &config)).unwrap().plaintext, b"x");
    }
}

#[test]
fn reserved_context_keys_are_rejected_on_encrypt() {
    let r = block_on(encrypt(
        &TestCmm::default(),
        b"x",
        ec(&[("aws-crypto-public-key", "AAAA")]),
        &EncryptConfig::default(),
    ));
    assert!(matches!(r, Err(Error::EncryptionContext(_))));
    let r = block_on(encrypt(
        &TestCmm::default(),
        b"x",
        ec(&[("aws-crypto-x", "y")]),
        &EncryptConfig::default(),
    ));
    assert!(matches!(r, Err(Error::EncryptionContext(_))));
}

#[test]
fn maximum_encrypted_data_keys_is_enforced_both_ways() {
    let cmm = TestCmm { edk_copies: 3, ..TestCmm::default() };
    let limited = EncryptConfig { max_encrypted_data_keys: Some(2), ..EncryptConfig::default() };
    assert!(matches!(
        block_on(encrypt(&cmm, b"x", ec(&[]), &limited)),
        Err(Error::TooManyEncryptedDataKeys(2))
    ));
    let ct = block_on(encrypt(&cmm, b"x", ec(&[]), &EncryptConfig::default())).unwrap();
    let limited = DecryptConfig { max_encrypted_data_keys: Some(2), ..DecryptConfig::default() };
    assert!(matches!(
        block_on(decrypt(&cmm, &ct, &limited)),
        Err(Error::TooManyEncryptedDataKeys(2))
    ));
    let enough = DecryptConfig { max_encrypted_data_keys: Some(3), ..DecryptConfig::default() };
    assert_eq!(block_on(decrypt(&cmm, &ct, &enough)).unwrap().plaintext, b"x");
    let zero = EncryptConfig { max_encrypted_data_keys: Some(0), ..EncryptConfig::default() };
    assert!(matches!(block_on(encrypt(&cmm, b"x", ec(&[]), &zero)), Err(Error::ApiMisuse(_))));
}

#[test]
fn bad_configurations_and_misuse_are_reported() {
    let cmm = TestCmm::default();
    let zero = EncryptConfig { frame_length: 0, ..EncryptConfig::default() };
    assert!(matches!(block_on(encrypt(&cmm, b"x", ec(&[]), &zero)), Err(Error::ApiMisuse(_))));

    // The plaintext length bound is enforced, and a failed encryptor stays failed.
    let bounded = EncryptConfig { plaintext_length_bound: Some(3), ..EncryptConfig::default() };
    let mut e = block_on(Encryptor::new(&cmm, EncryptionContext::new(), &bounded)).unwrap();
    let mut out = Vec::new();
    e.update(b"abc", &mut out).unwrap();
    assert!(matches!(e.update(b"d", &mut out), Err(Error::ApiMisuse(_))));
    assert!(matches!(e.update(b"", &mut out), Err(Error::ApiMisuse(_))));
    assert!(e.finish(&mut out).is_err());

    // A failed decryptor stays failed; finish before the end is truncation.
    let ct = message(DEFAULT_SUITE, b"hello", 16);
    let config = DecryptConfig::default();
    let mut d = Decryptor::new(&cmm, &config);
    let mut out = Vec::new();
    let mut bad = ct.clone();
    bad[ct.len() - 1] ^= 1;
    assert!(block_on(d.update(&bad, &mut out)).is_err());
    assert!(matches!(block_on(d.update(b"", &mut out)), Err(Error::ApiMisuse(_))));
    let mut d = Decryptor::new(&cmm, &config);
    block_on(d.update(&ct[..50], &mut out)).unwrap();
    assert!(matches!(d.finish(&mut out), Err(Error::Malformed(Malformed::Truncated))));
}

#[test]
fn signed_suites_can_be_refused_before_any_plaintext() {
    let ct = message(DEFAULT_SUITE, b"x", 16);
    let config = DecryptConfig { forbid_signed_suites: true, ..DecryptConfig::default() };
    assert!(matches!(
        block_on(decrypt(&TestCmm::default(), &ct, &config)),
        Err(Error::UnsupportedSuite(0x0578))
    ));
    let ct = message(&AES_256_GCM_HKDF_SHA512_COMMIT_KEY, b"x", 16);
    assert_eq!(block_on(decrypt(&TestCmm::default(), &ct, &config)).unwrap().plaintext, b"x");
}

#[test]
fn base64_encoded_messages_get_a_hint() {
    let ct = message(&AES_256_GCM_IV12_TAG16_HKDF_SHA256, b"x", 16);
    let b64 = base64::encode(&ct);
    assert!(b64.starts_with("AY"));
    let e = decrypt_all(b64.as_bytes()).unwrap_err();
    assert!(e.to_string().contains("base64"), "{e}");
    let ct = message(DEFAULT_SUITE, b"x", 16);
    let b64 = base64::encode(&ct);
    assert!(decrypt_all(b64.as_bytes()).unwrap_err().to_string().contains("base64"));
}

#[test]
fn no_matching_data_key_is_reported() {
    let mut h = Handmade::new(ContentType::Framed, 4);
    h.header.encrypted_data_keys[0].provider_id = "someone-else".into();
    let mut ct = h.header_bytes();
    ct.extend(h.frame(1, true, b"ab", None));
    assert!(matches!(decrypt_all(&ct), Err(Error::NoDecryptableDataKey)));
}

// --- The malformed-input corpus -------------------------------------------------------

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/malformed")
}

/// What decrypting each corpus file must fail with.
fn expected_error(name: &str) -> ErrorCheck {
    match name {
        "truncated_header" | "missing_final_frame" | "truncated_footer" => {
            |e| matches!(e, Error::Malformed(Malformed::Truncated))
        }
        "unknown_suite_id" => |e| matches!(e, Error::UnsupportedSuite(0x0001)),
        "trailing_bytes" => |e| matches!(e, Error::Malformed(Malformed::TrailingBytes)),
        "wrong_commitment" | "bad_signature" | "header_tag_mismatch" | "frame_tag_mismatch" => {
            |e| matches!(e, Error::DecryptionFailed)
        }
        "frames_out_of_order" | "wrong_frame_iv" | "non_framed_wrong_iv" => {
            |e| matches!(e, Error::Malformed(Malformed::FrameSequence))
        }
        "final_frame_too_long"
        | "zero_encrypted_data_keys"
        | "base64_encoded"
        | "nonzero_reserved" => |e| matches!(e, Error::Malformed(Malformed::InvalidField(_))),
        "unknown_content_type" => |e| matches!(e, Error::Malformed(Malformed::UnknownValue(..))),
        other => panic!("no expectation for corpus file {other}"),
    }
}

/// Writes the corpus. Run with `cargo test -p kms-envelope --test tamper -- --ignored`.
#[test]
#[ignore]
fn regenerate_malformed_corpus() {
    let dir = corpus_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let write =
        |name: &str, bytes: &[u8]| std::fs::write(dir.join(format!("{name}.bin")), bytes).unwrap();
    let mut h = Handmade::new(ContentType::Framed, 4);
    let header = h.header_bytes();
    let good =
        [header.clone(), h.frame(1, false, b"abcd", None), h.frame(2, true, b"ef", None)].concat();
    write("truncated_header", &header[..header.len() / 2]);
    let mut b = good.clone();
    b[2..4].copy_from_slice(&[0, 1]);
    write("unknown_suite_id", &b);
    write("trailing_bytes", &[good.as_slice(), &[0]].concat());
    write("missing_final_frame", &[header.clone(), h.frame(1, false, b"abcd", None)].concat());
    write(
        "frames_out_of_order",
        &[header.clone(), h.frame(2, false, b"abcd", None), h.frame(1, true, b"", None)].concat(),
    );
    write("wrong_frame_iv", &[header.clone(), h.frame(1, true, b"ab", Some(frame_iv(2)))].concat());
    write("final_frame_too_long", &[header.clone(), h.frame(1, true, b"abcde", None)].concat());
    let mut b = good.clone();
    b[header.len() - 1] ^= 1;
    write("header_tag_mismatch", &b);
    let mut b = good.clone();
    let last = b.len() - 1;
    b[last] ^= 1;
    write("frame_tag_mismatch", &b);
    write("base64_encoded", base64::encode(&good).as_bytes());
    // Reserved bytes sit before the IV length (1), frame length (4) and auth (12 + 16).
    let mut b = good.clone();
    b[header.len() - 33 - 4] = 1;
    write("nonzero_reserved", &b);
    let mut b = good.clone();
    b[header.len() - 33 - 5] = 3;
    write("unknown_content_type", &b);
    // EDK count 0 right after the AAD (the AAD length at offset 20, then 8 AAD bytes).
    let mut b = header[..30].to_vec();
    b.extend_from_slice(&[0, 0]);
    write("zero_encrypted_data_keys", &b);

    let mut nf = Handmade::new(ContentType::NonFramed, 0);
    let nf_header = nf.header_bytes();
    write("non_framed_wrong_iv", &[nf_header, nf.non_framed_body(b"xyz", frame_iv(0))].concat());

    let committed = message(&AES_256_GCM_HKDF_SHA512_COMMIT_KEY, b"commit", 4);
    let parsed = parse_message(&committed, &HeaderLimits::default()).unwrap();
    let mut b = committed.clone();
    b[parsed.header_body_len - 1] ^= 1;
    write("wrong_commitment", &b);
    let signed = message(DEFAULT_SUITE, b"signed", 4);
    let mut b = signed.clone();
    let last = b.len() - 1;
    b[last] ^= 1;
    write("bad_signature", &b);
    write("truncated_footer", &signed[..signed.len() - 3]);
}

#[test]
fn malformed_corpus_is_rejected() {
    let mut entries: Vec<_> = std::fs::read_dir(corpus_dir())
        .expect("tests/data/malformed exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .collect();
    entries.sort();
    assert!(entries.len() >= 17, "corpus has {} files", entries.len());
    for path in entries {
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let bytes = std::fs::read(&path).unwrap();
        let check = expected_error(&name);
        let e = decrypt_all(&bytes).unwrap_err();
        assert!(check(&e), "{name}: {e:?}");
        let e = decrypt_streaming(&bytes).unwrap_err();
        assert!(check(&e), "{name} streamed: {e:?}");
        assert!(
            kms_envelope::fuzzing::parse_message(&bytes).is_err()
                || name.contains("tag")
                || name.contains("commitment")
                || name.contains("signature")
        );
    }
}
