//! The external-AEAD frame API (`stream::external`): frames sealed and opened outside the
//! crate (here by the `aes-gcm` crate, standing in for WebCrypto) make the same messages as
//! the built-in path, in both directions and mixed; misuse and bad tags are refused.
#![allow(clippy::unwrap_used)]

mod common;

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes192;
use aes_gcm::{Aes128Gcm, Aes256Gcm, AesGcm, Nonce};
use common::{block_on, chunks, policy_for, unicode_ec, TestCmm};
use kms_envelope::client::{decrypt, DecryptConfig, EncryptConfig};
use kms_envelope::stream::external::{FrameParams, SEALED_OVERHEAD_BYTES};
use kms_envelope::stream::{Decryptor, Encryptor};
use kms_envelope::suite::{AlgorithmSuite, ALL_SUITES, DEFAULT_SUITE};
use kms_envelope::Error;

fn plaintext(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 253) as u8).collect()
}

/// AES-GCM as an external library does it: `ciphertext || tag` out, `None` on a bad tag.
fn seal(key: &[u8], frame: &FrameParams, pt: &[u8]) -> Vec<u8> {
    let payload = Payload { msg: pt, aad: frame.aad() };
    let nonce = Nonce::from_slice(frame.iv());
    match key.len() {
        16 => Aes128Gcm::new_from_slice(key).unwrap().encrypt(nonce, payload),
        24 => AesGcm::<Aes192, U12>::new_from_slice(key).unwrap().encrypt(nonce, payload),
        _ => Aes256Gcm::new_from_slice(key).unwrap().encrypt(nonce, payload),
    }
    .unwrap()
}

fn open(key: &[u8], frame: &FrameParams, sealed: &[u8]) -> Option<Vec<u8>> {
    let payload = Payload { msg: sealed, aad: frame.aad() };
    let nonce = Nonce::from_slice(frame.iv());
    match key.len() {
        16 => Aes128Gcm::new_from_slice(key).unwrap().decrypt(nonce, payload),
        24 => AesGcm::<Aes192, U12>::new_from_slice(key).unwrap().decrypt(nonce, payload),
        _ => Aes256Gcm::new_from_slice(key).unwrap().decrypt(nonce, payload),
    }
    .ok()
}

fn configs(suite: &'static AlgorithmSuite, frame_length: u32) -> (EncryptConfig, DecryptConfig) {
    let policy = policy_for(suite);
    let e = EncryptConfig {
        commitment_policy: policy,
        suite: Some(suite),
        frame_length,
        ..EncryptConfig::default()
    };
    (e, DecryptConfig { commitment_policy: policy, ..DecryptConfig::default() })
}

/// Encrypts with every frame sealed outside; `internal_every` > 0 makes every n-th chunk go
/// through the built-in path instead (mixing is allowed between calls).
fn encrypt_external(
    cmm: &TestCmm,
    config: &EncryptConfig,
    pt: &[u8],
    sizes: &[usize],
    internal_every: usize,
) -> Vec<u8> {
    let mut e = block_on(Encryptor::new(cmm, unicode_ec(), config)).unwrap();
    let key = e.take_content_key().unwrap();
    assert!(e.take_content_key().is_none(), "the key is handed out once");
    let mut out = Vec::new();
    for (i, c) in chunks(pt, sizes).enumerate() {
        if internal_every > 0 && i % internal_every == 0 {
            e.update(c, &mut out).unwrap();
            continue;
        }
        let mut sealed = Vec::new();
        e.update_external(c, &mut |f, p| {
            assert_eq!(f.plaintext_len(), p.len());
            sealed.push((f.clone(), seal(key.expose_secret(), f, p)));
            Ok(())
        })
        .unwrap();
        for (f, s) in &sealed {
            e.write_sealed(f, s, &mut out).unwrap();
        }
    }
    let mut last = Vec::new();
    e.finish_external(&mut |f, p| {
        assert!(f.is_final());
        last.push((f.clone(), seal(key.expose_secret(), f, p)));
        Ok(())
    })
    .unwrap();
    for (f, s) in &last {
        e.write_sealed(f, s, &mut out).unwrap();
    }
    e.finish(&mut out).unwrap();
    out
}

/// Decrypts with every frame opened outside; returns the plaintext released before
/// `finish` and the whole plaintext.
fn decrypt_external(
    cmm: &TestCmm,
    config: &DecryptConfig,
    ct: &[u8],
    sizes: &[usize],
) -> Result<(usize, Vec<u8>), Error> {
    let mut d = Decryptor::new(cmm, config);
    let mut out = Vec::new();
    let mut key = None;
    for c in chunks(ct, sizes) {
        let mut frames = Vec::new();
        block_on(d.update_external(c, &mut |f, s| {
            assert_eq!(s.len(), f.plaintext_len() + SEALED_OVERHEAD_BYTES);
            frames.push((f.clone(), s.to_vec()));
            Ok(())
        }))?;
        if key.is_none() {
            key = d.take_content_key();
        }
        for (f, s) in &frames {
            let k = key.as_ref().unwrap().expose_secret();
            let Some(p) = open(k, f, s) else { return Err(Error::DecryptionFailed) };
            d.write_opened(f, &p, &mut out)?;
        }
    }
    let early = out.len();
    d.finish(&mut out)?;
    Ok((early, out))
}

#[test]
fn external_encryption_decrypts_with_the_built_in_path_for_every_suite() {
    let cmm = TestCmm::default();
    for &suite in ALL_SUITES {
        let (ec, dc) = configs(suite, 64);
        for n in [0, 1, 63, 64, 65, 640, 1000] {
            let pt = plaintext(n);
            let ct = encrypt_external(&cmm, &ec, &pt, &[1, 3, 17, 200, 5], 0);
            assert_eq!(block_on(decrypt(&cmm, &ct, &dc)).unwrap().plaintext, pt, "{suite:?} {n}");
        }
    }
}

#[test]
fn built_in_encryption_decrypts_with_the_external_path_for_every_suite() {
    let cmm = TestCmm::default();
    for &suite in ALL_SUITES {
        let (ec, dc) = configs(suite, 64);
        for n in [0, 1, 64, 65, 1000] {
            let pt = plaintext(n);
            let ct = block_on(kms_envelope::encrypt(&cmm, &pt, unicode_ec(), &ec)).unwrap();
            for sizes in [&[usize::MAX][..], &[1, 2, 5, 31, 1, 997, 7]] {
                let (early, back) = decrypt_external(&cmm, &dc, &ct, sizes).unwrap();
                assert_eq!(back, pt, "{suite:?} {n}");
                let last = if n == 0 { 0 } else { (n - 1) % 64 + 1 };
                let expect_early = if suite.is_signed() { n - last } else { n };
                assert_eq!(early, expect_early, "the final frame waits for the signature");
            }
        }
    }
}

#[test]
fn external_round_trip_and_mixed_paths() {
    let cmm = TestCmm::default();
    let (ec, dc) = configs(DEFAULT_SUITE, 4096);
    let pt = plaintext(100_000);
    let sizes = [4095, 4097, 1, 30_000, 8192, 12_345];
    for internal_every in [0, 2, 3] {
        let ct = encrypt_external(&cmm, &ec, &pt, &sizes, internal_every);
        let (_, back) = decrypt_external(&cmm, &dc, &ct, &[997, 4099, 1, 65_536]).unwrap();
        assert_eq!(back, pt);
    }
}

#[test]
fn a_changed_frame_fails_on_the_external_path() {
    let cmm = TestCmm::default();
    let (ec, dc) = configs(DEFAULT_SUITE, 64);
    let pt = plaintext(300);
    let ct = encrypt_external(&cmm, &ec, &pt, &[300], 0);
    // Flip a byte inside the fourth frame (of 64 bytes): before the final frame (84 bytes)
    // and the footer (2 + 102..=104 bytes), past its sequence number and IV.
    let at = ct.len() - 106 - 84 - 60;
    let mut bad = ct.clone();
    bad[at] ^= 1;
    let result = decrypt_external(&cmm, &dc, &bad, &[usize::MAX]);
    assert!(matches!(result, Err(Error::DecryptionFailed)), "{result:?}");
    assert!(decrypt_external(&cmm, &dc, &ct, &[usize::MAX]).is_ok());
}

#[test]
fn frames_must_come_back_in_order_with_the_right_length() {
    let cmm = TestCmm::default();
    let (ec, _) = configs(DEFAULT_SUITE, 4);
    let mut e = block_on(Encryptor::new(&cmm, unicode_ec(), &ec)).unwrap();
    let key = e.take_content_key().unwrap();
    let mut frames = Vec::new();
    e.update_external(&plaintext(12), &mut |f, p| {
        frames.push((f.clone(), seal(key.expose_secret(), f, p)));
        Ok(())
    })
    .unwrap();
    assert_eq!(frames.len(), 2, "the third full frame waits: it may be the final one");
    let mut out = Vec::new();
    // The built-in path refuses to run while frames are out.
    assert!(matches!(e.update(b"x", &mut out), Err(Error::ApiMisuse(_))));

    let mut e = block_on(Encryptor::new(&cmm, unicode_ec(), &ec)).unwrap();
    let mut frames = Vec::new();
    e.update_external(&plaintext(12), &mut |f, p| {
        frames.push((f.clone(), p.to_vec()));
        Ok(())
    })
    .unwrap();
    let (f2, p2) = &frames[1];
    let wrong = e.write_sealed(f2, &[0; 20], &mut out);
    assert!(matches!(wrong, Err(Error::ApiMisuse(_))), "second before first");
    assert!(matches!(e.write_sealed(&frames[0].0, p2, &mut out), Err(Error::ApiMisuse(_))));

    let mut e = block_on(Encryptor::new(&cmm, unicode_ec(), &ec)).unwrap();
    let mut frames = Vec::new();
    e.update_external(&plaintext(12), &mut |f, _| {
        frames.push(f.clone());
        Ok(())
    })
    .unwrap();
    let short = e.write_sealed(&frames[0], &[0; 4], &mut out);
    assert!(matches!(short, Err(Error::ApiMisuse(_))), "the tag is missing");
    assert!(
        matches!(e.finish(&mut out), Err(Error::ApiMisuse(_))),
        "failed encryptors stay failed"
    );
}

#[test]
fn finish_needs_the_final_frame_back_and_a_callback_error_fails_the_encryptor() {
    let cmm = TestCmm::default();
    let (ec, _) = configs(DEFAULT_SUITE, 4);
    let mut e = block_on(Encryptor::new(&cmm, unicode_ec(), &ec)).unwrap();
    e.finish_external(&mut |_, _| Ok(())).unwrap();
    assert!(matches!(e.finish(&mut Vec::new()), Err(Error::ApiMisuse(_))));

    let mut e = block_on(Encryptor::new(&cmm, unicode_ec(), &ec)).unwrap();
    let r = e.update_external(&plaintext(9), &mut |_, _| Err(Error::DecryptionFailed));
    assert!(r.is_err());
    assert!(e.take_content_key().is_none(), "a failed encryptor drops its key");
    assert!(matches!(e.update(b"x", &mut Vec::new()), Err(Error::ApiMisuse(_))));
}

#[test]
fn the_decryptor_checks_what_comes_back() {
    let cmm = TestCmm::default();
    let (ec, dc) = configs(DEFAULT_SUITE, 8);
    let ct = block_on(kms_envelope::encrypt(&cmm, &plaintext(20), unicode_ec(), &ec)).unwrap();
    let mut d = Decryptor::new(&cmm, &dc);
    assert!(d.take_content_key().is_none(), "no key before the header");
    let mut frames = Vec::new();
    block_on(d.update_external(&ct, &mut |f, s| {
        frames.push((f.clone(), s.to_vec()));
        Ok(())
    }))
    .unwrap();
    assert_eq!(frames.len(), 3);
    let key = d.take_content_key().unwrap();
    let mut out = Vec::new();
    // Plaintext cannot be released while frames are out, nor out of order.
    let (f2, s2) = &frames[1];
    let p2 = open(key.expose_secret(), f2, s2).unwrap();
    assert!(matches!(d.write_opened(f2, &p2, &mut out), Err(Error::ApiMisuse(_))));
    assert!(out.is_empty());

    let mut d = Decryptor::new(&cmm, &dc);
    let mut frames = Vec::new();
    block_on(d.update_external(&ct, &mut |f, s| {
        frames.push((f.clone(), s.to_vec()));
        Ok(())
    }))
    .unwrap();
    let key = d.take_content_key().unwrap();
    let (f1, s1) = &frames[0];
    let p1 = open(key.expose_secret(), f1, s1).unwrap();
    d.write_opened(f1, &p1, &mut out).unwrap();
    assert!(matches!(block_on(d.update(b"", &mut out)), Err(Error::ApiMisuse(_))));

    let mut d = Decryptor::new(&cmm, &dc);
    block_on(d.update_external(&ct, &mut |_, _| Ok(()))).unwrap();
    assert!(matches!(d.finish(&mut out), Err(Error::ApiMisuse(_))), "frames still out");
}

#[test]
fn release_opened_holds_only_the_final_piece_of_a_signed_message() {
    use kms_envelope::stream::external::Release;
    let cmm = TestCmm::default();
    for (suite, signed) in [(DEFAULT_SUITE, true), (ALL_SUITES[0], false)] {
        let (ec, dc) = configs(suite, 8);
        let ct = block_on(kms_envelope::encrypt(&cmm, &plaintext(20), unicode_ec(), &ec)).unwrap();
        let mut d = Decryptor::new(&cmm, &dc);
        let mut frames = Vec::new();
        block_on(d.update_external(&ct, &mut |f, _| {
            frames.push(f.clone());
            Ok(())
        }))
        .unwrap();
        assert!(matches!(d.release_opened(&frames[1]), Err(Error::ApiMisuse(_))), "out of order");

        let mut d = Decryptor::new(&cmm, &dc);
        block_on(d.update_external(&ct, &mut |_, _| Ok(()))).unwrap();
        let releases: Vec<_> = frames.iter().map(|f| d.release_opened(f).unwrap()).collect();
        let last = if signed { Release::AfterFinish } else { Release::Now };
        assert_eq!(releases, [Release::Now, Release::Now, last]);
        let mut out = Vec::new();
        d.finish(&mut out).unwrap();
        assert!(out.is_empty(), "the caller kept the plaintext");
    }
}

#[test]
fn sealed_frames_kept_outside_make_the_same_message_for_unsigned_suites_only() {
    let cmm = TestCmm::default();
    let suite = ALL_SUITES.iter().copied().find(|s| s.committing && !s.is_signed()).unwrap();
    let (ec, dc) = configs(suite, 16);
    let pt = plaintext(100);
    let mut e = block_on(Encryptor::new(&cmm, unicode_ec(), &ec)).unwrap();
    let key = e.take_content_key().unwrap();
    let mut sealed = Vec::new();
    e.update_external(&pt, &mut |f, p| {
        sealed.push((f.clone(), seal(key.expose_secret(), f, p)));
        Ok(())
    })
    .unwrap();
    e.finish_external(&mut |f, p| {
        sealed.push((f.clone(), seal(key.expose_secret(), f, p)));
        Ok(())
    })
    .unwrap();
    // The caller assembles prefix, sealed frame, prefix, sealed frame, ...
    let mut message = Vec::new();
    let (f2, s2) = &sealed[1];
    assert!(matches!(e.write_sealed_prefix(f2, s2.len(), &mut message), Err(Error::ApiMisuse(_))));
    let mut e2 = block_on(Encryptor::new(&cmm, unicode_ec(), &ec)).unwrap();
    let key = e2.take_content_key().unwrap();
    let mut sealed = Vec::new();
    e2.update_external(&pt, &mut |f, p| {
        sealed.push((f.clone(), seal(key.expose_secret(), f, p)));
        Ok(())
    })
    .unwrap();
    e2.finish_external(&mut |f, p| {
        sealed.push((f.clone(), seal(key.expose_secret(), f, p)));
        Ok(())
    })
    .unwrap();
    let wrong = e2.write_sealed_prefix(&sealed[0].0, sealed[0].1.len() + 1, &mut Vec::new());
    assert!(matches!(wrong, Err(Error::ApiMisuse(_))), "the length is checked");

    let mut e3 = block_on(Encryptor::new(&cmm, unicode_ec(), &ec)).unwrap();
    let key = e3.take_content_key().unwrap();
    let mut sealed = Vec::new();
    e3.update_external(&pt, &mut |f, p| {
        sealed.push((f.clone(), seal(key.expose_secret(), f, p)));
        Ok(())
    })
    .unwrap();
    e3.finish_external(&mut |f, p| {
        sealed.push((f.clone(), seal(key.expose_secret(), f, p)));
        Ok(())
    })
    .unwrap();
    for (f, s) in &sealed {
        e3.write_sealed_prefix(f, s.len(), &mut message).unwrap();
        message.extend_from_slice(s);
    }
    e3.finish(&mut message).unwrap();
    assert_eq!(block_on(decrypt(&cmm, &message, &dc)).unwrap().plaintext, pt);

    // A signed suite needs the bytes.
    let (ec, _) = configs(DEFAULT_SUITE, 16);
    let mut e = block_on(Encryptor::new(&cmm, unicode_ec(), &ec)).unwrap();
    let mut frames = Vec::new();
    e.update_external(&pt, &mut |f, _| {
        frames.push(f.clone());
        Ok(())
    })
    .unwrap();
    let refused = e.write_sealed_prefix(&frames[0], 32, &mut Vec::new());
    assert!(matches!(refused, Err(Error::ApiMisuse(_))));
}
