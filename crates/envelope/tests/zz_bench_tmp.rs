#![allow(clippy::unwrap_used)]
mod common;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use common::{block_on, TestCmm};
use kms_envelope::client::{decrypt, encrypt, DecryptConfig, EncryptConfig};
use kms_envelope::suite::AlgorithmSuite;
use std::time::Instant;
#[test]
#[ignore]
fn bench() {
    let pt = vec![7u8; 64 << 20];
    let k = aes_gcm::Aes256Gcm::new_from_slice(&[1; 32]).unwrap();
    let mut buf = pt.clone();
    let t = Instant::now();
    for _ in 0..3 { k.encrypt_in_place_detached(&[0u8;12].into(), b"", &mut buf).unwrap(); }
    let raw = t.elapsed().as_secs_f64() / 3.0;
    println!("raw aes-256-gcm: {:.0} MB/s", 64.0 / raw);
    for id in [0x0478u16, 0x0178, 0x0578] {
        let suite = AlgorithmSuite::by_id(id).unwrap();
        let pol = if suite.committing { kms_envelope::suite::CommitmentPolicy::RequireEncryptAllowDecrypt } else { kms_envelope::suite::CommitmentPolicy::ForbidEncryptAllowDecrypt };
        let cfg = EncryptConfig { suite: Some(suite), commitment_policy: pol, ..EncryptConfig::default() };
        let t = Instant::now();
        let mut ct = Vec::new();
        for _ in 0..3 { ct = block_on(encrypt(&TestCmm::default(), &pt, Default::default(), &cfg)).unwrap(); }
        let e = t.elapsed().as_secs_f64() / 3.0;
        let dcfg = DecryptConfig { commitment_policy: kms_envelope::suite::CommitmentPolicy::RequireEncryptAllowDecrypt, ..Default::default() };
        let t = Instant::now();
        for _ in 0..3 { block_on(decrypt(&TestCmm::default(), &ct, &dcfg)).unwrap(); }
        let d = t.elapsed().as_secs_f64() / 3.0;
        println!("{id:#06x}: encrypt {:.0} MB/s ({:.0}% of raw), decrypt {:.0} MB/s ({:.0}% of raw)", 64.0/e, raw/e*100.0, 64.0/d, raw/d*100.0);
    }
}
