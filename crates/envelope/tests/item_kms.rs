//! The item encryptor over the KMS keyring and an in-memory KMS: what KMS sees and how
//! many calls a batch costs.
#![allow(missing_docs, clippy::unwrap_used)]

mod item_common;
mod keyring_common;

use std::sync::Arc;
use std::time::Duration;

use item_common::{canonical, config, customer};
use keyring_common::{block_on, FakeKms};
use kms_envelope::cache::{LocalCryptographicMaterialsCache, ManualClock};
use kms_envelope::item::{ItemEncryptor, ItemError, ItemSuite, KeyringContext};
use kms_envelope::keyring::kms::AwsKmsKeyring;
use serde_json::{json, Value};

const KEY_ARN: &str = "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn kms() -> Arc<FakeKms> {
    Arc::new(FakeKms::new().with_symmetric_key(KEY_ARN))
}

fn items(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let mut item = customer();
            item["pk"] = json!({"S": format!("customer#{i}")});
            item
        })
        .collect()
}

fn count(kms: &FakeKms, operation: &str) -> usize {
    kms.calls().iter().filter(|c| c.operation == operation).count()
}

#[test]
fn kms_sees_the_item_context_and_each_item_costs_one_call_each_way() {
    let kms = kms();
    let keyring = Arc::new(AwsKmsKeyring::new(kms.clone(), KEY_ARN).unwrap());
    let e = ItemEncryptor::with_keyring(config(), keyring).unwrap();
    let stored = block_on(e.encrypt_items(&items(10))).unwrap();
    assert_eq!(stored.stats.keyring_calls, Some(10));
    assert_eq!(count(&kms, "GenerateDataKey"), 10);
    let first = &kms.calls()[0].encryption_context;
    assert_eq!(first.get("aws-crypto-table-name").unwrap(), "customers");
    assert_eq!(first.get("aws-crypto-partition-name").unwrap(), "pk");
    assert_eq!(first.get("aws-crypto-sort-name").unwrap(), "sk");
    assert!(first.contains_key("aws-crypto-attr.pk") && first.contains_key("aws-crypto-attr.sk"));
    assert!(first.contains_key("aws-crypto-public-key"));

    let back = block_on(e.decrypt_items(&stored.items)).unwrap();
    assert_eq!(back.stats.keyring_calls, Some(10));
    assert_eq!(count(&kms, "Decrypt"), 10);
    assert_eq!(back.items, items(10).iter().map(canonical).collect::<Vec<_>>());

    // A changed partition key changes the context KMS authenticates: KMS refuses.
    let mut tampered = stored.items[0].clone();
    tampered["pk"] = json!({"S": "customer#9"});
    let err = block_on(e.decrypt_item(&tampered)).unwrap_err();
    assert!(matches!(err, ItemError::Envelope(_)), "{err:?}");

    // A KMS error keeps its AWS code for the bindings.
    let missing = ItemEncryptor::with_keyring(
        config(),
        Arc::new(AwsKmsKeyring::new(kms.clone(), KEY_ARN.replace("1234abcd", "ffffffff")).unwrap()),
    )
    .unwrap();
    let err = block_on(missing.encrypt_item(&customer())).unwrap_err();
    assert_eq!(err.code(), "NotFoundException", "{err:?}");
}

#[test]
fn a_thousand_items_cost_one_kms_call_each_way_through_the_cache() {
    let kms = kms();
    let keyring = Arc::new(AwsKmsKeyring::new(kms.clone(), KEY_ARN).unwrap());
    let mut c = config();
    c.keyring_context = KeyringContext::Table;
    c.algorithm_suite = ItemSuite::HmacSha384;
    let e = ItemEncryptor::with_caching(
        c,
        keyring,
        Arc::new(LocalCryptographicMaterialsCache::new(10)),
        Arc::new(ManualClock::new(0)),
        Duration::from_secs(300),
    )
    .unwrap();
    let input = items(1_000);
    let stored = block_on(e.encrypt_items(&input)).unwrap();
    let back = block_on(e.decrypt_items(&stored.items)).unwrap();
    assert_eq!(back.items.len(), 1_000);
    assert_eq!((stored.stats.keyring_calls, back.stats.keyring_calls), (Some(1), Some(1)));
    assert_eq!((count(&kms, "GenerateDataKey"), count(&kms, "Decrypt")), (1, 1));
    // KMS saw only the table-level pairs.
    let context = &kms.calls()[0].encryption_context;
    assert_eq!(
        context.keys().collect::<Vec<_>>(),
        ["aws-crypto-partition-name", "aws-crypto-sort-name", "aws-crypto-table-name"]
    );
}
