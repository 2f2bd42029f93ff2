//! The caching materials manager (spec `framework/caching-cmm.md`).

mod cmm_common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cmm_common::{block_on, data_key, dec_request, decrypted_key, ec, enc_request, TestKeyring};
use kms_envelope::cache::{Clock, LocalCryptographicMaterialsCache, ManualClock};
use kms_envelope::cmm::caching::{
    decryption_materials_cache_id, encryption_materials_cache_id, CacheStats, CachingCmm,
    DEFAULT_LIMIT_BYTES, DEFAULT_LIMIT_MESSAGES,
};
use kms_envelope::cmm::default::DefaultCmm;
use kms_envelope::cmm::required_ec::RequiredEncryptionContextCmm;
use kms_envelope::cmm::{
    CryptographicMaterialsManager, DecryptMaterialsRequest, EncryptionMaterialsRequest,
};
use kms_envelope::materials::{
    DecryptionMaterials, EncryptedDataKey, EncryptionContext, EncryptionMaterials,
    PUBLIC_KEY_CONTEXT_KEY,
};
use kms_envelope::suite::{self, AlgorithmSuite, CommitmentPolicy};
use kms_envelope::Error;

const MINUTE: Duration = Duration::from_secs(60);

struct Fixture {
    keyring: Arc<TestKeyring>,
    cache: Arc<LocalCryptographicMaterialsCache>,
    clock: Arc<ManualClock>,
}

impl Fixture {
    fn new(capacity: usize) -> Self {
        Self {
            keyring: TestKeyring::new(),
            cache: Arc::new(LocalCryptographicMaterialsCache::new(capacity)),
            clock: Arc::new(ManualClock::new(1_700_000_000_000)),
        }
    }

    fn builder(&self, max_age: Duration) -> kms_envelope::cmm::caching::CachingCmmBuilder {
        CachingCmm::builder_with_keyring(
            self.keyring.clone(),
            self.cache.clone(),
            self.clock.clone(),
            max_age,
        )
    }

    fn cmm(&self) -> CachingCmm {
        self.builder(MINUTE).build().expect("valid parameters")
    }
}

fn encrypt(cmm: &CachingCmm, context: &EncryptionContext, len: Option<u64>) -> EncryptionMaterials {
    block_on(cmm.get_encryption_materials(enc_request(context.clone(), None, len)))
        .expect("encryption materials")
}

fn stats(cmm: &CachingCmm) -> (u64, u64, u64, u64) {
    let CacheStats { hits, misses, bypasses, underlying_calls, .. } = cmm.stats();
    (hits, misses, bypasses, underlying_calls)
}

#[test]
fn a_second_encryption_with_the_same_context_is_a_cache_hit() {
    let f = Fixture::new(10);
    let cmm = f.cmm();
    let context = ec(&[("purpose", "test")]);
    let a = encrypt(&cmm, &context, Some(100));
    let b = encrypt(&cmm, &context, Some(100));
    assert_eq!(data_key(&a), data_key(&b));
    assert_eq!(a.encrypted_data_keys, b.encrypted_data_keys);
    assert_eq!(a.encryption_context, b.encryption_context);
    // The signing key (default suite 0x0578 is signed) travels with the cached materials.
    assert!(b.signing_key.is_some());
    assert!(b.encryption_context.contains_key(PUBLIC_KEY_CONTEXT_KEY));
    assert_eq!(stats(&cmm), (1, 1, 0, 1));
    assert_eq!(f.keyring.encrypt_calls(), 1);

    // Another context is another entry.
    let c = encrypt(&cmm, &ec(&[("purpose", "other")]), Some(100));
    assert_ne!(data_key(&a), data_key(&c));
    assert_eq!(stats(&cmm), (1, 2, 0, 2));
}

#[test]
fn encryption_without_max_plaintext_length_bypasses_the_cache() {
    let f = Fixture::new(10);
    let cmm = f.cmm();
    let context = ec(&[]);
    for _ in 0..3 {
        encrypt(&cmm, &context, None);
    }
    assert_eq!(stats(&cmm), (0, 0, 3, 3));
    assert!(f.cache.is_empty(), "materials for an unknown length must not be cached");
    // And a cached entry is not served to such a request either.
    encrypt(&cmm, &context, Some(1));
    encrypt(&cmm, &context, None);
    assert_eq!(f.keyring.encrypt_calls(), 5);
}

#[test]
fn encryption_longer_than_the_byte_limit_bypasses_the_cache() {
    let f = Fixture::new(10);
    let cmm = f.builder(MINUTE).limit_bytes(1_000).build().unwrap();
    encrypt(&cmm, &ec(&[]), Some(1_001));
    assert_eq!(stats(&cmm), (0, 0, 1, 1));
    assert!(f.cache.is_empty());
}

#[test]
fn underlying_requests_carry_the_byte_limit_as_max_plaintext_length() {
    struct Recording {
        inner: DefaultCmm,
        seen: Mutex<Vec<Option<u64>>>,
    }
    #[async_trait::async_trait]
    impl CryptographicMaterialsManager for Recording {
        async fn get_encryption_materials(
            &self,
            request: EncryptionMaterialsRequest,
        ) -> Result<EncryptionMaterials, Error> {
            self.seen.lock().unwrap().push(request.max_plaintext_length);
            self.inner.get_encryption_materials(request).await
        }
        async fn decrypt_materials(
            &self,
            request: DecryptMaterialsRequest<'_>,
        ) -> Result<DecryptionMaterials, Error> {
            self.inner.decrypt_materials(request).await
        }
    }
    let f = Fixture::new(10);
    let recording =
        Arc::new(Recording { inner: DefaultCmm::new(f.keyring.clone()), seen: Mutex::default() });
    let cmm = CachingCmm::builder(recording.clone(), f.cache.clone(), f.clock.clone(), MINUTE)
        .limit_bytes(5_000)
        .build()
        .unwrap();
    encrypt(&cmm, &ec(&[]), Some(10));
    assert_eq!(*recording.seen.lock().unwrap(), [Some(5_000)]);
}

#[test]
fn entries_expire_after_max_age() {
    let f = Fixture::new(10);
    let cmm = f.builder(Duration::from_secs(10)).build().unwrap();
    let context = ec(&[]);
    let first = encrypt(&cmm, &context, Some(1));
    f.clock.advance(Duration::from_millis(9_999));
    assert_eq!(data_key(&encrypt(&cmm, &context, Some(1))), data_key(&first));
    f.clock.advance(Duration::from_millis(1));
    let renewed = encrypt(&cmm, &context, Some(1));
    assert_ne!(data_key(&renewed), data_key(&first));
    assert_eq!(stats(&cmm), (1, 2, 0, 2));

    // Decryption entries expire too.
    let request = || dec_request(&renewed, None);
    block_on(cmm.decrypt_materials(request())).unwrap();
    block_on(cmm.decrypt_materials(request())).unwrap();
    assert_eq!(f.keyring.decrypt_calls(), 1);
    f.clock.advance(Duration::from_secs(10));
    block_on(cmm.decrypt_materials(request())).unwrap();
    assert_eq!(f.keyring.decrypt_calls(), 2);
}

#[test]
fn a_data_key_serves_at_most_limit_messages_messages() {
    let f = Fixture::new(10);
    let cmm = f.builder(MINUTE).limit_messages(3).build().unwrap();
    let context = ec(&[]);
    let keys: Vec<Vec<u8>> = (0..7).map(|_| data_key(&encrypt(&cmm, &context, Some(1)))).collect();
    assert_eq!(keys[0], keys[1]);
    assert_eq!(keys[0], keys[2]);
    assert_ne!(keys[2], keys[3]);
    assert_eq!(keys[3], keys[5]);
    assert_ne!(keys[5], keys[6]);
    assert_eq!(f.keyring.encrypt_calls(), 3);
}

#[test]
fn a_data_key_serves_at_most_limit_bytes_bytes() {
    let f = Fixture::new(10);
    let cmm = f.builder(MINUTE).limit_bytes(100).build().unwrap();
    let context = ec(&[]);
    let a = data_key(&encrypt(&cmm, &context, Some(40)));
    let b = data_key(&encrypt(&cmm, &context, Some(60))); // 100 bytes: still allowed
    let c = data_key(&encrypt(&cmm, &context, Some(1))); // 101 bytes: over the limit
    assert_eq!(a, b);
    assert_ne!(b, c);
    assert_eq!(stats(&cmm), (1, 2, 0, 2));
}

#[test]
fn the_least_recently_used_entry_is_evicted_at_capacity() {
    let f = Fixture::new(2);
    let cmm = f.cmm();
    let (a, b, c) = (ec(&[("k", "a")]), ec(&[("k", "b")]), ec(&[("k", "c")]));
    let key_a = data_key(&encrypt(&cmm, &a, Some(1)));
    let key_b = data_key(&encrypt(&cmm, &b, Some(1)));
    assert_eq!(data_key(&encrypt(&cmm, &a, Some(1))), key_a); // a is now more recent than b
    encrypt(&cmm, &c, Some(1)); // evicts b
    assert_eq!(f.cache.len(), 2);
    assert_eq!(data_key(&encrypt(&cmm, &a, Some(1))), key_a);
    assert_ne!(data_key(&encrypt(&cmm, &b, Some(1))), key_b);
    assert_eq!(f.keyring.encrypt_calls(), 4);
}

#[test]
fn partitions_isolate_caching_cmms_that_share_a_cache() {
    let f = Fixture::new(10);
    let one = f.cmm();
    let two = f.cmm();
    assert_ne!(one.partition_id(), two.partition_id());
    let context = ec(&[]);
    let k1 = data_key(&encrypt(&one, &context, Some(1)));
    let k2 = data_key(&encrypt(&two, &context, Some(1)));
    assert_ne!(k1, k2);
    assert_eq!(f.cache.len(), 2);

    // The same partition id shares entries.
    let shared_a = f.builder(MINUTE).partition_id("shared").build().unwrap();
    let shared_b = f.builder(MINUTE).partition_id("shared").build().unwrap();
    let ka = data_key(&encrypt(&shared_a, &context, Some(1)));
    let kb = data_key(&encrypt(&shared_b, &context, Some(1)));
    assert_eq!(ka, kb);
    assert_eq!(stats(&shared_b), (1, 0, 0, 0));
}

#[test]
fn identity_kdf_suites_are_never_cached() {
    let identity = [
        &suite::AES_128_GCM_IV12_TAG16_NO_KDF,
        &suite::AES_192_GCM_IV12_TAG16_NO_KDF,
        &suite::AES_256_GCM_IV12_TAG16_NO_KDF,
    ];
    let f = Fixture::new(10);
    let cmm = f.cmm();
    for s in identity {
        for _ in 0..2 {
            let mut request = enc_request(ec(&[]), Some(s), Some(1));
            request.commitment_policy = CommitmentPolicy::ForbidEncryptAllowDecrypt;
            let m = block_on(cmm.get_encryption_materials(request)).unwrap();
            assert_eq!(m.suite.id, s.id);
            for _ in 0..2 {
                block_on(cmm.decrypt_materials(dec_request(&m, None))).unwrap();
            }
        }
    }
    assert!(f.cache.is_empty());
    assert_eq!(f.keyring.encrypt_calls(), 6);
    assert_eq!(f.keyring.decrypt_calls(), 12);
    assert_eq!(stats(&cmm), (0, 0, 18, 18));
}

#[test]
fn ten_thousand_small_encryptions_make_at_most_100_keyring_calls() {
    let f = Fixture::new(100);
    let cmm = f.cmm();
    let context = ec(&[("app", "bench")]);
    for _ in 0..10_000 {
        let m = encrypt(&cmm, &context, Some(256));
        assert!(m.plaintext_data_key.is_some());
    }
    let calls = f.keyring.encrypt_calls();
    assert!(calls <= 100, "{calls} keyring calls for 10,000 messages");
    assert_eq!(calls, 1);
    assert_eq!(stats(&cmm).3, calls as u64);

    // With a message limit of 100 it takes exactly 100 calls (a 99% cut).
    let f = Fixture::new(100);
    let cmm = f.builder(MINUTE).limit_messages(100).build().unwrap();
    for _ in 0..10_000 {
        encrypt(&cmm, &context, Some(256));
    }
    assert_eq!(f.keyring.encrypt_calls(), 100);
}

#[test]
fn repeated_decryption_of_the_same_header_is_a_cache_hit() {
    let f = Fixture::new(10);
    let cmm = f.cmm();
    let m = encrypt(&cmm, &ec(&[("a", "b")]), None);
    let first = block_on(cmm.decrypt_materials(dec_request(&m, None))).unwrap();
    let second = block_on(cmm.decrypt_materials(dec_request(&m, None))).unwrap();
    assert_eq!(decrypted_key(&first), data_key(&m));
    assert_eq!(decrypted_key(&second), data_key(&m));
    assert_eq!(second.verifying_key, first.verifying_key);
    assert_eq!(f.keyring.decrypt_calls(), 1);

    // Other encrypted data keys: another entry.
    let other = encrypt(&cmm, &ec(&[("a", "b")]), None);
    block_on(cmm.decrypt_materials(dec_request(&other, None))).unwrap();
    assert_eq!(f.keyring.decrypt_calls(), 2);
}

#[test]
fn a_cached_decryption_does_not_skip_the_reproduced_context_checks() {
    let f = Fixture::new(10);
    let cmm = f.cmm();
    let m = encrypt(&cmm, &ec(&[("tenant", "a")]), None);
    block_on(cmm.decrypt_materials(dec_request(&m, Some(ec(&[("tenant", "a")]))))).unwrap();
    // Same header, contradicting reproduced context: must still fail.
    let err =
        block_on(cmm.decrypt_materials(dec_request(&m, Some(ec(&[("tenant", "b")]))))).unwrap_err();
    assert!(matches!(err, Error::EncryptionContext(_)), "{err:?}");

    // Behind a required-context CMM, a cached entry must not excuse a missing reproduced key.
    let required: Arc<dyn CryptographicMaterialsManager> =
        Arc::new(RequiredEncryptionContextCmm::with_keyring(f.keyring.clone(), ["tenant"]));
    let caching =
        CachingCmm::builder(required, f.cache.clone(), f.clock.clone(), MINUTE).build().unwrap();
    block_on(caching.decrypt_materials(dec_request(&m, Some(ec(&[("tenant", "a")]))))).unwrap();
    assert!(block_on(caching.decrypt_materials(dec_request(&m, None))).is_err());
}

#[test]
fn a_cached_entry_does_not_bypass_the_commitment_policy() {
    let f = Fixture::new(10);
    let cmm = f.cmm();
    let context = ec(&[]);
    let committing = encrypt(&cmm, &context, Some(1));
    assert!(committing.suite.committing);
    let mut request = enc_request(context, None, Some(1));
    request.commitment_policy = CommitmentPolicy::ForbidEncryptAllowDecrypt;
    let forbidden = block_on(cmm.get_encryption_materials(request)).unwrap();
    assert!(!forbidden.suite.committing);

    // Decryption: an entry made under a lenient policy does not serve a strict one.
    let mut lenient = dec_request(&forbidden, None);
    lenient.commitment_policy = CommitmentPolicy::RequireEncryptAllowDecrypt;
    block_on(cmm.decrypt_materials(lenient)).unwrap();
    let mut strict = dec_request(&forbidden, None);
    strict.commitment_policy = CommitmentPolicy::RequireEncryptRequireDecrypt;
    let err = block_on(cmm.decrypt_materials(strict)).unwrap_err();
    assert!(matches!(err, Error::CommitmentPolicy(_)), "{err:?}");
}

#[test]
fn the_builder_validates_its_parameters() {
    let f = Fixture::new(1);
    assert!(matches!(f.builder(Duration::ZERO).build(), Err(Error::ApiMisuse(_))));
    assert!(matches!(f.builder(Duration::from_micros(999)).build(), Err(Error::ApiMisuse(_))));
    assert!(f.builder(MINUTE).limit_messages(0).build().is_err());
    assert!(f.builder(MINUTE).limit_messages((1 << 32) + 1).build().is_err());
    assert!(f.builder(MINUTE).limit_messages(1 << 32).build().is_ok());
    assert!(f.builder(MINUTE).limit_bytes(1 << 63).build().is_err());
    let cmm = f.builder(Duration::from_millis(1)).build().unwrap();
    assert_eq!(cmm.limit_messages(), DEFAULT_LIMIT_MESSAGES);
    assert_eq!(DEFAULT_LIMIT_MESSAGES, 4_294_967_296);
    assert_eq!(cmm.limit_bytes(), DEFAULT_LIMIT_BYTES);
    assert_eq!(DEFAULT_LIMIT_BYTES, i64::MAX as u64);
    assert_eq!(cmm.max_age_ms(), 1);
    assert_eq!(cmm.partition_id().len(), 36);
}

#[test]
fn the_clock_is_only_the_injected_one() {
    // A clock stuck at zero never expires anything, whatever the wall time.
    struct Stopped;
    impl Clock for Stopped {
        fn now_ms(&self) -> u64 {
            0
        }
    }
    let keyring = TestKeyring::new();
    let cmm = CachingCmm::builder_with_keyring(
        keyring.clone(),
        Arc::new(LocalCryptographicMaterialsCache::new(4)),
        Arc::new(Stopped),
        Duration::from_millis(1),
    )
    .build()
    .unwrap();
    for _ in 0..10 {
        encrypt(&cmm, &ec(&[]), Some(1));
    }
    assert_eq!(keyring.encrypt_calls(), 1);
}

// Known-answer cache ids. Source: the cache identifier test vectors shared by the official
// SDKs (aws-encryption-sdk-java `CacheIdentifierTests.java`, "pythonTestVecs",
// `encryptDigestTestVector` and `decryptDigestTestVector`; the same values appear in the C
// and Python SDKs' tests).
const PARTITION: &str = "c15b9079-6d0e-42b6-8784-5e804b025692";

fn full_context() -> EncryptionContext {
    ec(&[("this", "is"), ("a", "non-empty"), ("encryption", "context")])
}

fn vector_edks() -> Vec<EncryptedDataKey> {
    vec![
        EncryptedDataKey {
            provider_id: "this is a provider ID".into(),
            provider_info: b"this is some key info".to_vec(),
            ciphertext: b"super secret key, now with encryption!".to_vec(),
        },
        EncryptedDataKey {
            provider_id: "another provider ID!".into(),
            provider_info: b"this is some different key info".to_vec(),
            ciphertext: b"better super secret key, now with encryption!".to_vec(),
        },
    ]
}

fn b64(id: &kms_envelope::cache::CacheId) -> String {
    kms_api::base64::encode(id.as_bytes())
}

const P384: &AlgorithmSuite = &suite::AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384;

#[test]
fn encryption_cache_ids_match_the_sdk_vectors() {
    let cases: [(Option<&AlgorithmSuite>, EncryptionContext, &str); 4] = [
        (
            None,
            ec(&[]),
            "rkrFAso1YyPbOJbmwVMjrPw+wwLJT7xusn8tA8zMe9e3+OqbtfDueB7bvoKLU3fsmdUvZ6eMt7mBp1ThMMB25Q==",
        ),
        (
            Some(P384),
            ec(&[]),
            "3icBIkLK4V3fVwbm3zSxUdUQV6ZvZYUOLl8buN36g6gDMqAkghcGryxX7QiVABkW1JhB6GRp5z+bzbiuciBcKQ==",
        ),
        (
            None,
            full_context(),
            "IHiUHYOUVUEFTc3BcZPJDlsWct2Qy1A7JdfQl9sQoV/ILIbRpoz9q7RtGd/MlibaGl5ihE66cN8ygM8A5rtYbg==",
        ),
        (
            Some(P384),
            full_context(),
            "mRNK7qhTb/kJiiyGPgAevp0gwFRcET4KeeNYwZHhoEDvSUzQiDgl8Of+YRDaVzKxAqpNBgcAuFXde9JlaRRsmw==",
        ),
    ];
    for (s, context, expected) in cases {
        let id = encryption_materials_cache_id(PARTITION, s, &context).unwrap();
        assert_eq!(b64(&id), expected);
    }
}

#[test]
fn decryption_cache_ids_match_the_sdk_vectors() {
    let edks = vector_edks();
    let id = decryption_materials_cache_id(
        PARTITION,
        &suite::AES_128_GCM_IV12_TAG16_HKDF_SHA256,
        &edks[..1],
        &ec(&[]),
    )
    .unwrap();
    assert_eq!(
        b64(&id),
        "n0zVzk9QIVxhz6ET+aJIKKOJNxtpGtSe1yAbu7WU5l272Iw/jmhlER4psDHJs9Mr8KYiIvLGSXzggNDCc23+9w=="
    );
    let id = decryption_materials_cache_id(PARTITION, P384, &edks, &full_context()).unwrap();
    assert_eq!(
        b64(&id),
        "+rtwUe38CGnczGmYu12iqGWHIyDyZ44EvYQ4S6ACmsgS8VaEpiw0RTGpDk6Z/7YYN/jVHOAcNKDyCNP8EmstFg=="
    );
}

/// Keys and values with NULs, a 4-byte UTF-8 character and a 3-byte one.
fn unicode_context() -> EncryptionContext {
    ec(&[("\0\0TEST", "\0\0test"), ("\u{10000}", "UTF-16 surrogate"), ("\u{abcd}", "\\uABCD")])
}

#[test]
fn cache_ids_sort_context_keys_by_utf8_bytes() {
    let id = encryption_materials_cache_id("partition ID", None, &unicode_context()).unwrap();
    assert_eq!(
        hex::encode(id.as_bytes()),
        "683328d033fc60a20e3d3936190b33d91aad0143163226af9530e7d1b3de0e96\
         39c00a2885f9cea09cf9a273bef316a39616475b50adc2441b69f67e1a25145f"
    );
    let id = encryption_materials_cache_id(
        "partition ID",
        Some(&suite::AES_128_GCM_IV12_TAG16_HKDF_SHA256),
        &unicode_context(),
    )
    .unwrap();
    assert_eq!(
        hex::encode(id.as_bytes()),
        "3dc70ff1d4621059b97179563ab6592dff4319bfaf8ed1a819c96d33d3194d5c\
         354a361e879d0356e4d9e868170ebc9e934fa5eaf6e6d11de4ee801645723fa9"
    );
    let edks = vec![
        EncryptedDataKey { provider_id: String::new(), provider_info: vec![], ciphertext: vec![] },
        EncryptedDataKey { provider_id: "\0".into(), provider_info: vec![0], ciphertext: vec![0] },
        EncryptedDataKey {
            provider_id: "\u{81}".into(),
            provider_info: vec![0x81],
            ciphertext: vec![0x81],
        },
        EncryptedDataKey {
            provider_id: "abc".into(),
            provider_info: hex::decode("deadbeef").unwrap(),
            ciphertext: hex::decode("bad0cafe").unwrap(),
        },
    ];
    let id = decryption_materials_cache_id(
        "partition ID",
        &suite::AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256,
        &edks,
        &unicode_context(),
    )
    .unwrap();
    assert_eq!(
        hex::encode(id.as_bytes()),
        "e16344634350fe8cb51e69ec4e0681c84ac7ef2df427bd4de4aefbebcd3ead22\
         95f1b15a98ce60699e0efbf69dbbc12e2552b16eff84a6e9b5766ee4d69a7897"
    );
}

#[test]
fn cache_ids_separate_partitions_suites_and_contexts_but_not_orderings() {
    let context = full_context();
    let base = encryption_materials_cache_id("p", None, &context).unwrap();
    assert_ne!(base, encryption_materials_cache_id("q", None, &context).unwrap());
    assert_ne!(base, encryption_materials_cache_id("p", Some(P384), &context).unwrap());
    assert_ne!(base, encryption_materials_cache_id("p", None, &ec(&[])).unwrap());
    let with_0578 =
        encryption_materials_cache_id("p", Some(suite::DEFAULT_SUITE), &context).unwrap();
    assert_ne!(with_0578, encryption_materials_cache_id("p", Some(P384), &context).unwrap());

    // Insertion order of the context does not matter.
    let mut reversed = EncryptionContext::new();
    for (k, v) in context.iter().rev() {
        reversed.insert(k.clone(), v.clone());
    }
    assert_eq!(base, encryption_materials_cache_id("p", None, &reversed).unwrap());

    // Nor does the order of the encrypted data keys.
    let edks = vector_edks();
    let swapped = vec![edks[1].clone(), edks[0].clone()];
    let d = decryption_materials_cache_id("p", P384, &edks, &context).unwrap();
    assert_eq!(d, decryption_materials_cache_id("p", P384, &swapped, &context).unwrap());
    assert_ne!(d, decryption_materials_cache_id("p", P384, &edks[..1], &context).unwrap());
    assert_ne!(d, decryption_materials_cache_id("q", P384, &edks, &context).unwrap());
    assert_ne!(
        d,
        decryption_materials_cache_id("p", suite::DEFAULT_SUITE, &edks, &context).unwrap()
    );
    assert_ne!(d, decryption_materials_cache_id("p", P384, &edks, &ec(&[])).unwrap());
}

#[test]
fn the_caching_cmm_uses_the_spec_cache_ids() {
    let f = Fixture::new(10);
    let cmm = f.builder(MINUTE).partition_id(PARTITION).build().unwrap();
    let context = full_context();
    let m = encrypt(&cmm, &context, Some(1));
    let enc_id = encryption_materials_cache_id(PARTITION, None, &context).unwrap();
    assert!(f.cache.contains(&enc_id));
    block_on(cmm.decrypt_materials(dec_request(&m, None))).unwrap();
    let dec_id = decryption_materials_cache_id(
        PARTITION,
        m.suite,
        &m.encrypted_data_keys,
        &m.encryption_context,
    )
    .unwrap();
    assert!(f.cache.contains(&dec_id));
    assert_eq!(f.cache.len(), 2);
}
