//! Encrypt then decrypt: every suite, contexts, plaintext sizes around frame
//! boundaries, and streaming in odd chunk sizes on both sides.
// Test helpers unwrap too; clippy.toml's allowance covers only `#[test]` functions.
#![allow(clippy::unwrap_used)]

mod common;

use common::{block_on, chunks, ec, policy_for, unicode_ec, TestCmm};
use kms_envelope::client::{decrypt, encrypt, DecryptConfig, EncryptConfig};
use kms_envelope::format::{parse_message, HeaderLimits, ParsedBody};
use kms_envelope::materials::{EncryptionContext, PUBLIC_KEY_CONTEXT_KEY};
use kms_envelope::stream::{Decryptor, Encryptor};
use kms_envelope::suite::{AlgorithmSuite, MessageFormatVersion, ALL_SUITES, DEFAULT_SUITE};

fn plaintext(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 + i / 251) as u8).collect()
}

/// Encrypts in chunks of `enc_chunks` sizes, decrypts in chunks of `dec_chunks` sizes,
/// and checks the result, the body shape and what is held back for the signature.
fn round_trip(
    suite: &'static AlgorithmSuite,
    context: &EncryptionContext,
    pt: &[u8],
    frame_length: u32,
    enc_chunks: &[usize],
    dec_chunks: &[usize],
) {
    let cmm = TestCmm::default();
    let policy = policy_for(suite);
    let config = EncryptConfig {
        commitment_policy: policy,
        suite: Some(suite),
        frame_length,
        ..EncryptConfig::default()
    };
    let mut e = block_on(Encryptor::new(&cmm, context.clone(), &config)).unwrap();
    assert_eq!(e.suite(), suite);
    let mut ct = Vec::new();
    for c in chunks(pt, enc_chunks) {
        e.update(c, &mut ct).unwrap();
    }
    e.finish(&mut ct).unwrap();

    // The structure is what the spec prescribes.
    let parsed = parse_message(&ct, &HeaderLimits::default()).unwrap();
    assert_eq!(parsed.header.suite, suite);
    assert_eq!(parsed.header.frame_length, frame_length);
    assert_eq!(parsed.header.version(), suite.message_format);
    assert_eq!(parsed.content_len(), pt.len() as u64);
    assert_eq!(parsed.footer.is_some(), suite.is_signed());
    let ParsedBody::Framed(frames) = &parsed.body else { panic!("non-framed output") };
    let f = frame_length as usize;
    let expected_frames = if pt.is_empty() { 1 } else { pt.len().div_ceil(f) };
    assert_eq!(frames.len(), expected_frames, "a full last frame is the final frame");
    assert_eq!(parsed.encode().unwrap(), ct);
    let stored = &parsed.header.encryption_context;
    assert_eq!(stored.contains_key(PUBLIC_KEY_CONTEXT_KEY), suite.is_signed());

    // Streaming decryption.
    let dconfig = DecryptConfig { commitment_policy: policy, ..DecryptConfig::default() };
    let mut d = Decryptor::new(&cmm, &dconfig);
    let mut out = Vec::new();
    for c in chunks(&ct, dec_chunks) {
        block_on(d.update(c, &mut out)).unwrap();
    }
    let last = frames.last().map_or(0, |fr| fr.ciphertext.len());
    let released_early = if suite.is_signed() { pt.len() - last } else { pt.len() };
    assert_eq!(out.len(), released_early, "final frame held back only for signed suites");
    let info = d.finish(&mut out).unwrap();
    assert_eq!(out, pt);
    assert_eq!(info.suite, suite);
    for (k, v) in context {
        assert_eq!(info.encryption_context.get(k), Some(v));
    }

    // One-shot decryption.
    let dec = block_on(decrypt(&cmm, &ct, &dconfig)).unwrap();
    assert_eq!(dec.plaintext, pt);
    assert_eq!(dec.suite, suite);
    assert_eq!(&dec.encryption_context, &info.encryption_context);
}

#[test]
fn every_suite_round_trips_at_frame_boundaries() {
    for &suite in ALL_SUITES {
        for context in [EncryptionContext::new(), unicode_ec()] {
            // ECDSA is slow in debug builds: fewer frame lengths for signed suites.
            let frame_lengths: &[u32] = if suite.is_signed() { &[13] } else { &[1, 13, 128] };
            for &frame_length in frame_lengths {
                let f = frame_length as usize;
                for n in [0, 1, f - 1, f, f + 1, 3 * f, 3 * f + 5] {
                    round_trip(
                        suite,
                        &context,
                        &plaintext(n),
                        frame_length,
                        &[n.max(1)],
                        &[usize::MAX],
                    );
                }
            }
        }
    }
}

#[test]
fn streaming_in_odd_chunks_round_trips() {
    let sizes_enc: &[usize] = &[1, 3, 17, 200, 5];
    let sizes_dec: &[usize] = &[1, 2, 5, 31, 1, 997, 7];
    for &suite in ALL_SUITES {
        let frame_lengths: &[u32] = if suite.is_signed() { &[7] } else { &[7, 64] };
        for &frame_length in frame_lengths {
            for n in [0, 1, 63, 64, 65, 640, 1000] {
                round_trip(suite, &unicode_ec(), &plaintext(n), frame_length, sizes_enc, sizes_dec);
            }
        }
    }
}

#[test]
fn one_mebibyte_round_trips() {
    let pt = plaintext(1 << 20);
    for &suite in ALL_SUITES {
        round_trip(suite, &unicode_ec(), &pt, 4096, &[1 << 20], &[1 << 20]);
    }
    round_trip(DEFAULT_SUITE, &unicode_ec(), &pt, 4096, &[4095, 4097, 1], &[997, 4099, 1, 65_536]);
}

#[test]
fn default_config_encrypts_with_0x0578_and_4096_byte_frames() {
    let cmm = TestCmm::default();
    let ct =
        block_on(encrypt(&cmm, b"hello", ec(&[("a", "b")]), &EncryptConfig::default())).unwrap();
    let parsed = parse_message(&ct, &HeaderLimits::default()).unwrap();
    assert_eq!(parsed.header.suite.id, 0x0578);
    assert_eq!(parsed.header.frame_length, 4096);
    assert_eq!(parsed.header.version(), MessageFormatVersion::V2);
    assert_eq!(ct[0], 0x02);
    let dec = block_on(decrypt(&cmm, &ct, &DecryptConfig::default())).unwrap();
    assert_eq!(dec.plaintext, b"hello");
    assert_eq!(dec.encryption_context.get("a").map(String::as_str), Some("b"));
}

#[test]
fn message_ids_are_fresh_per_message() {
    let cmm = TestCmm::default();
    let a = block_on(encrypt(&cmm, b"x", ec(&[]), &EncryptConfig::default())).unwrap();
    let b = block_on(encrypt(&cmm, b"x", ec(&[]), &EncryptConfig::default())).unwrap();
    let id = |m: &[u8]| parse_message(m, &HeaderLimits::default()).unwrap().header.message_id;
    assert_ne!(id(&a), id(&b));
}

#[test]
fn required_context_is_authenticated_but_not_stored() {
    let cmm = TestCmm { required_keys: vec!["tenant".into()], ..TestCmm::default() };
    let context = ec(&[("tenant", "acme"), ("stored", "yes")]);
    let ct = block_on(encrypt(&cmm, b"data", context, &EncryptConfig::default())).unwrap();
    let parsed = parse_message(&ct, &HeaderLimits::default()).unwrap();
    assert!(!parsed.header.encryption_context.contains_key("tenant"));
    assert!(parsed.header.encryption_context.contains_key("stored"));

    let with = |repro: Option<EncryptionContext>| DecryptConfig {
        reproduced_encryption_context: repro,
        ..DecryptConfig::default()
    };
    let dec = block_on(decrypt(&cmm, &ct, &with(Some(ec(&[("tenant", "acme")]))))).unwrap();
    assert_eq!(dec.plaintext, b"data");
    assert_eq!(dec.encryption_context.get("tenant").map(String::as_str), Some("acme"));
    // Without the pair, or with another value, the header tag cannot verify.
    for repro in [None, Some(ec(&[("tenant", "evil")]))] {
        assert!(matches!(
            block_on(decrypt(&cmm, &ct, &with(repro))),
            Err(kms_envelope::Error::DecryptionFailed)
        ));
    }
}

#[test]
fn futures_are_send_on_native_targets() {
    fn assert_send<T: Send>(_: &T) {}
    let cmm = TestCmm::default();
    let config = EncryptConfig::default();
    let f = Encryptor::new(&cmm, EncryptionContext::new(), &config);
    assert_send(&f);
    let dconfig = DecryptConfig::default();
    let mut d = Decryptor::new(&cmm, &dconfig);
    let mut out = Vec::new();
    let f = d.update(b"", &mut out);
    assert_send(&f);
    drop(f);
    let f = decrypt(&cmm, b"", &dconfig);
    assert_send(&f);
}

#[test]
fn decryptor_buffers_at_most_one_frame() {
    let cmm = TestCmm::default();
    let config = EncryptConfig { frame_length: 256, ..EncryptConfig::default() };
    let ct = block_on(encrypt(&cmm, &plaintext(100_000), ec(&[]), &config)).unwrap();
    let mut d = Decryptor::new(&cmm, &DecryptConfig::default());
    let mut out = Vec::new();
    let mut max_buffered = 0;
    for c in chunks(&ct, &[1, 77, 300, 4096, 5]) {
        block_on(d.update(c, &mut out)).unwrap();
        let dbg = format!("{d:?}");
        let n: usize =
            dbg.split("buffered: ").nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
        max_buffered = max_buffered.max(n);
    }
    d.finish(&mut out).unwrap();
    assert_eq!(out, plaintext(100_000));
    // One frame (4 + 12 + 256 + 16 bytes) or the header, whichever is longer, plus one chunk.
    assert!(max_buffered <= 4096 + 300, "buffered {max_buffered} bytes");
}

#[test]
fn decryptor_with_a_shared_cmm_outlives_the_callers_borrow() {
    let pt = plaintext(10_000);
    let cmm = TestCmm::default();
    let ct = block_on(encrypt(&cmm, &pt, ec(&[("k", "v")]), &EncryptConfig::default())).unwrap();
    let shared: std::sync::Arc<dyn kms_envelope::cmm::CryptographicMaterialsManager> =
        std::sync::Arc::new(cmm);
    let mut d: Decryptor<'static> = Decryptor::new_shared(shared, &DecryptConfig::default());
    let mut out = Vec::new();
    for c in ct.chunks(777) {
        block_on(d.update(c, &mut out)).unwrap();
    }
    d.finish(&mut out).unwrap();
    assert_eq!(out, pt);
}
