//! Batches: a thousand items through the caching materials manager cost a handful of
//! keyring calls, and the batch helpers report what they cost.
#![allow(missing_docs, clippy::unwrap_used)]

mod item_common;

use std::sync::Arc;
use std::time::Duration;

use item_common::*;
use kms_envelope::cache::{LocalCryptographicMaterialsCache, ManualClock};
use kms_envelope::cmm::caching::CachingCmm;
use kms_envelope::item::{
    CountingKeyring, ItemEncryptor, ItemEncryptorConfig, ItemError, ItemSuite, KeyringContext,
};
use serde_json::{json, Value};

const BATCH: usize = 1_000;

fn items(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let mut item = customer();
            item["pk"] = json!({"S": format!("customer#{i}")});
            item["ssn"] = json!({"S": format!("{i:09}")});
            item
        })
        .collect()
}

fn caching(config: ItemEncryptorConfig) -> ItemEncryptor {
    ItemEncryptor::with_caching(
        config,
        keyring(),
        Arc::new(LocalCryptographicMaterialsCache::new(100)),
        Arc::new(ManualClock::new(0)),
        Duration::from_secs(300),
    )
    .unwrap()
}

fn table_config(suite: ItemSuite) -> ItemEncryptorConfig {
    let mut c = config();
    c.keyring_context = KeyringContext::Table;
    c.algorithm_suite = suite;
    c
}

#[test]
fn a_thousand_items_through_the_caching_cmm_cost_two_keyring_calls() {
    batch_through_cache(ItemSuite::HmacSha384, BATCH);
}

#[test]
fn signed_items_share_cached_materials_too() {
    // ECDSA is slow in debug builds: a smaller batch shows the same thing.
    batch_through_cache(ItemSuite::EcdsaP384HmacSha384, 100);
}

fn batch_through_cache(suite: ItemSuite, n: usize) {
    const _: () = assert!(BATCH == 1_000);
    let e = caching(table_config(suite));
    let input = items(n);
    let encrypted = block_on(e.encrypt_items(&input)).unwrap();
    assert_eq!(encrypted.items.len(), n);
    assert_eq!(encrypted.stats.items, n as u64);
    assert_eq!(encrypted.stats.keyring_calls, Some(1));
    assert_eq!(encrypted.stats.cache_misses, Some(1));
    assert_eq!(encrypted.stats.cache_hits, Some(n as u64 - 1));
    // Items share the data key but not their attribute keys: equal plaintexts differ.
    assert_ne!(encrypted.items[0]["card"], encrypted.items[1]["card"]);

    let decrypted = block_on(e.decrypt_items(&encrypted.items)).unwrap();
    assert_eq!(decrypted.stats.keyring_calls, Some(1));
    let expected: Vec<Value> = input.iter().map(canonical).collect();
    assert_eq!(decrypted.items, expected);
    assert_eq!(e.keyring_calls(), Some(2));
}

#[test]
fn per_item_context_makes_the_cache_miss_for_every_key() {
    // The AWS layout: each item's key values reach the keyring, so each item needs its own
    // data key even through the caching manager (reported, not hidden).
    let mut c = config();
    c.algorithm_suite = ItemSuite::HmacSha384;
    let e = caching(c);
    let input = items(20);
    let out = block_on(e.encrypt_items(&input)).unwrap();
    assert_eq!(out.stats.keyring_calls, Some(20));
    assert_eq!(out.stats.cache_hits, Some(0));
    // The same item key again hits.
    let again = block_on(e.encrypt_items(&input[..5])).unwrap();
    assert_eq!(again.stats.keyring_calls, Some(0));
    assert_eq!(again.stats.cache_hits, Some(5));
}

#[test]
fn without_caching_every_item_costs_a_keyring_call() {
    let e = encryptor(table_config(ItemSuite::HmacSha384));
    let out = block_on(e.encrypt_items(&items(50))).unwrap();
    assert_eq!(out.stats.keyring_calls, Some(50));
    assert_eq!(out.stats.cache_hits, None);
    let back = block_on(e.decrypt_items(&out.items)).unwrap();
    assert_eq!(back.stats.keyring_calls, Some(50));
}

#[test]
fn a_caching_cmm_built_by_hand_reports_through_its_counter() {
    let counting = CountingKeyring::new(keyring());
    let calls = counting.calls();
    let cmm = CachingCmm::builder_with_keyring(
        Arc::new(counting),
        Arc::new(LocalCryptographicMaterialsCache::new(10)),
        Arc::new(ManualClock::new(0)),
        Duration::from_secs(60),
    )
    .limit_messages(10)
    .build()
    .unwrap();
    let e = ItemEncryptor::new(table_config(ItemSuite::HmacSha384), Arc::new(cmm))
        .unwrap()
        .with_keyring_calls(calls);
    // Ten items per data key: 35 items need 4 keys.
    let out = block_on(e.encrypt_items(&items(35))).unwrap();
    assert_eq!(out.stats.keyring_calls, Some(4));
    assert_eq!(out.stats.cache_hits, None);
    let plain = ItemEncryptor::new(
        config(),
        Arc::new(kms_envelope::cmm::default::DefaultCmm::new(keyring())),
    )
    .unwrap();
    assert_eq!(block_on(plain.encrypt_items(&items(2))).unwrap().stats.keyring_calls, None);
}

#[test]
fn a_batch_stops_at_the_first_bad_item_and_names_it() {
    let e = encryptor(table_config(ItemSuite::HmacSha384));
    let mut input = items(5);
    input[3].as_object_mut().unwrap().remove("pk");
    let err = block_on(e.encrypt_items(&input)).unwrap_err();
    assert_eq!(err.index, 3);
    assert!(matches!(err.error, ItemError::InvalidItem(_)));
    assert!(err.to_string().starts_with("item 3 of the batch"), "{err}");

    let mut stored = block_on(e.encrypt_items(&items(3))).unwrap().items;
    stored[1]["name"] = json!({"S": "Mallory"});
    let err = block_on(e.decrypt_items(&stored)).unwrap_err();
    assert_eq!(err.index, 1);
    assert!(matches!(err.error, ItemError::DecryptionFailed));
}
