//! The local cryptographic materials cache (spec `framework/local-cryptographic-materials-cache.md`,
//! `framework/cryptographic-materials-cache.md`).

use std::time::Duration;

use kms_envelope::cache::{
    CacheEntry, CacheId, CachedMaterials, Clock, CryptographicMaterialsCache,
    LocalCryptographicMaterialsCache, ManualClock, UsageStats, CACHE_ID_LEN_BYTES,
};
use kms_envelope::materials::{
    DecryptionMaterials, EncryptionContext, EncryptionMaterials, PlaintextDataKey,
};
use kms_envelope::suite;

fn id(n: u8) -> CacheId {
    CacheId::new([n; CACHE_ID_LEN_BYTES])
}

fn encryption_entry(key_byte: u8, expiry_time_ms: u64) -> CacheEntry {
    let mut m = EncryptionMaterials::new(
        &suite::AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
        EncryptionContext::new(),
    );
    m.set_plaintext_data_key(PlaintextDataKey::new(vec![key_byte; 32])).expect("32-byte key");
    CacheEntry {
        materials: CachedMaterials::Encryption(m),
        creation_time_ms: 0,
        expiry_time_ms,
        usage: UsageStats::default(),
        request_binding: [7; CACHE_ID_LEN_BYTES],
    }
}

fn key_of(entry: &CacheEntry) -> u8 {
    match &entry.materials {
        CachedMaterials::Encryption(m) => {
            m.plaintext_data_key.as_ref().expect("a data key").expose_secret()[0]
        }
        CachedMaterials::Decryption(m) => {
            m.plaintext_data_key.as_ref().expect("a data key").expose_secret()[0]
        }
        _ => unreachable!("only two kinds are stored here"),
    }
}

const NO_USE: UsageStats = UsageStats { messages_encrypted: 0, bytes_encrypted: 0 };

#[test]
fn put_get_delete() {
    let cache = LocalCryptographicMaterialsCache::new(4);
    assert!(cache.get_cache_entry(&id(1), 0, NO_USE).is_none());
    cache.put_cache_entry(id(1), encryption_entry(0xaa, 100));
    let got = cache.get_cache_entry(&id(1), 0, NO_USE).unwrap();
    assert_eq!(key_of(&got), 0xaa);
    assert_eq!(got.request_binding, [7; CACHE_ID_LEN_BYTES]);
    // The copy handed out is independent of the stored entry.
    drop(got);
    assert_eq!(key_of(&cache.get_cache_entry(&id(1), 0, NO_USE).unwrap()), 0xaa);
    cache.delete_cache_entry(&id(1));
    assert!(cache.get_cache_entry(&id(1), 0, NO_USE).is_none());
    // Deleting an absent entry succeeds.
    cache.delete_cache_entry(&id(9));
    assert!(cache.is_empty());
}

#[test]
fn put_replaces_an_existing_entry() {
    let cache = LocalCryptographicMaterialsCache::new(4);
    cache.put_cache_entry(id(1), encryption_entry(1, 100));
    cache.put_cache_entry(id(1), encryption_entry(2, 100));
    assert_eq!(cache.len(), 1);
    assert_eq!(key_of(&cache.get_cache_entry(&id(1), 0, NO_USE).unwrap()), 2);
}

#[test]
fn a_ttl_expired_entry_is_never_returned() {
    let clock = ManualClock::new(1_000);
    let cache = LocalCryptographicMaterialsCache::new(4);
    cache.put_cache_entry(id(1), encryption_entry(1, 1_500));
    assert!(cache.get_cache_entry(&id(1), clock.now_ms(), NO_USE).is_some());
    clock.advance(Duration::from_millis(499));
    assert!(cache.get_cache_entry(&id(1), clock.now_ms(), NO_USE).is_some());
    clock.advance(Duration::from_millis(1));
    assert!(cache.get_cache_entry(&id(1), clock.now_ms(), NO_USE).is_none());
    assert!(!cache.contains(&id(1)), "an expired entry found by get is evicted");
}

#[test]
fn get_prunes_expired_entries_in_the_lru_tail() {
    let cache = LocalCryptographicMaterialsCache::new(10).with_entry_pruning_tail_size(2);
    cache.put_cache_entry(id(1), encryption_entry(1, 10));
    cache.put_cache_entry(id(2), encryption_entry(2, 10));
    cache.put_cache_entry(id(3), encryption_entry(3, 10));
    cache.put_cache_entry(id(4), encryption_entry(4, 1_000));
    assert!(cache.get_cache_entry(&id(4), 20, NO_USE).is_some());
    // The two least recently used expired entries went; the third one waits for a later get.
    assert!(!cache.contains(&id(1)));
    assert!(!cache.contains(&id(2)));
    assert!(cache.contains(&id(3)));
    cache.remove_expired(20);
    assert_eq!(cache.len(), 1);
}

#[test]
fn the_least_recently_used_entry_is_evicted_first() {
    let cache = LocalCryptographicMaterialsCache::new(3);
    for n in 1..=3 {
        cache.put_cache_entry(id(n), encryption_entry(n, 100));
    }
    assert!(cache.get_cache_entry(&id(1), 0, NO_USE).is_some()); // order now 2, 3, 1
    cache.put_cache_entry(id(4), encryption_entry(4, 100));
    assert!(!cache.contains(&id(2)));
    cache.put_cache_entry(id(5), encryption_entry(5, 100));
    assert!(!cache.contains(&id(3)));
    assert!(cache.contains(&id(1)) && cache.contains(&id(4)) && cache.contains(&id(5)));
    assert_eq!(cache.len(), 3);
}

#[test]
fn capacity_zero_stores_nothing() {
    let cache = LocalCryptographicMaterialsCache::new(0);
    cache.put_cache_entry(id(1), encryption_entry(1, 100));
    assert!(cache.is_empty());
    assert_eq!(cache.entry_capacity(), 0);
}

#[test]
fn usage_accumulates_on_each_get() {
    let cache = LocalCryptographicMaterialsCache::new(2);
    cache.put_cache_entry(id(1), encryption_entry(1, 100));
    let one = UsageStats { messages_encrypted: 1, bytes_encrypted: 10 };
    for n in 1..=5u64 {
        let got = cache.get_cache_entry(&id(1), 0, one).unwrap();
        assert_eq!(got.usage, UsageStats { messages_encrypted: n, bytes_encrypted: 10 * n });
    }
}

#[test]
fn usage_updates_are_not_lost_between_threads() {
    let cache = std::sync::Arc::new(LocalCryptographicMaterialsCache::new(2));
    cache.put_cache_entry(id(1), encryption_entry(1, 100));
    let one = UsageStats { messages_encrypted: 1, bytes_encrypted: 1 };
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let cache = cache.clone();
            std::thread::spawn(move || {
                for _ in 0..250 {
                    cache.get_cache_entry(&id(1), 0, one).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let got = cache.get_cache_entry(&id(1), 0, NO_USE).unwrap();
    assert_eq!(got.usage, UsageStats { messages_encrypted: 1_000, bytes_encrypted: 1_000 });
}

#[test]
fn decryption_materials_are_cached_and_copied_too() {
    let cache = LocalCryptographicMaterialsCache::new(2);
    let mut m = DecryptionMaterials::new(
        &suite::AES_128_GCM_IV12_TAG16_HKDF_SHA256,
        EncryptionContext::new(),
    );
    m.set_plaintext_data_key(PlaintextDataKey::new(vec![0x5c; 16])).unwrap();
    cache.put_cache_entry(
        id(1),
        CacheEntry {
            materials: CachedMaterials::Decryption(m),
            creation_time_ms: 0,
            expiry_time_ms: 10,
            usage: UsageStats::default(),
            request_binding: [0; CACHE_ID_LEN_BYTES],
        },
    );
    let got = cache.get_cache_entry(&id(1), 5, NO_USE).unwrap();
    assert_eq!(key_of(&got), 0x5c);
    assert!(matches!(got.materials, CachedMaterials::Decryption(_)));
}

#[test]
fn debug_output_shows_no_key_material() {
    let cache = LocalCryptographicMaterialsCache::new(2);
    cache.put_cache_entry(id(1), encryption_entry(0x41, 100));
    let entry = cache.get_cache_entry(&id(1), 0, NO_USE).unwrap();
    let shown = format!("{entry:?} {cache:?}");
    assert!(shown.contains("redacted"));
    assert!(!shown.contains("65, 65"));
}
