//! Helpers for the item encryptor tests: an executor, keyrings, configurations and a
//! sample item holding every DynamoDB type.
#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use kms_envelope::item::{CryptoAction, ItemEncryptor, ItemEncryptorConfig};
use kms_envelope::keyring::raw_aes::RawAesKeyring;
use kms_envelope::keyring::Keyring;
use serde_json::{json, Value};

/// Runs a future that never waits on anything outside itself.
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

pub fn keyring() -> Arc<dyn Keyring> {
    Arc::new(RawAesKeyring::new("item-tests", "aes-256", &[0x42; 32]).unwrap())
}

pub fn other_keyring() -> Arc<dyn Keyring> {
    Arc::new(RawAesKeyring::new("item-tests", "aes-256", &[0x43; 32]).unwrap())
}

/// The sample "customer" table: pk/sk signed, sensitive attributes encrypted, one
/// attribute in the context, `:`-prefixed attributes unsigned, others signed only.
pub fn config() -> ItemEncryptorConfig {
    let mut c = ItemEncryptorConfig::new("customers", "pk");
    c.sort_key_name = Some("sk".into());
    let actions = [
        ("pk", CryptoAction::SignOnly),
        ("sk", CryptoAction::SignOnly),
        ("ssn", CryptoAction::EncryptAndSign),
        ("card", CryptoAction::EncryptAndSign),
        ("email", CryptoAction::EncryptAndSign),
        ("name", CryptoAction::SignOnly),
    ];
    for (name, action) in actions {
        c.attribute_actions_on_encrypt.insert(name.into(), action);
    }
    c.default_action = Some(CryptoAction::EncryptAndSign);
    c.allowed_unsigned_attribute_prefix = Some(":".into());
    c
}

pub fn encryptor(config: ItemEncryptorConfig) -> ItemEncryptor {
    ItemEncryptor::with_keyring(config, keyring()).unwrap()
}

/// Every DynamoDB type, top level and nested.
pub fn every_type() -> Value {
    json!({
        "S": {"S": "text ☃"},
        "N": {"N": "-12.5"},
        "B": {"B": "AAECAwQ="},
        "BOOL": {"BOOL": false},
        "NULL": {"NULL": true},
        "M": {"M": {"inner": {"S": "x"}, "n": {"N": "1"}, "deep": {"M": {"l": {"L": [{"NULL": true}]}}}}},
        "L": {"L": [{"S": "a"}, {"N": "2"}, {"BOOL": true}, {"BS": ["AQ=="]}]},
        "SS": {"SS": ["b", "a", "\u{10348}", "\u{e000}"]},
        "NS": {"NS": ["10", "9", "-1.5"]},
        "BS": {"BS": ["AQ==", "AA==", "AAE="]}
    })
}

pub fn customer() -> Value {
    json!({
        "pk": {"S": "customer#42"},
        "sk": {"N": "7"},
        "ssn": {"S": "123-45-6789"},
        "card": {"S": "4111 1111 1111 1111"},
        "email": {"S": "ada@example.com"},
        "name": {"S": "Ada"},
        "tags": {"SS": ["vip", "new"]},
        ":note": {"S": "unsigned"}
    })
}

/// The value of attribute `name` of a stored item, as bytes if it is `B`.
pub fn binary(item: &Value, name: &str) -> Vec<u8> {
    let text = item[name]["B"].as_str().unwrap();
    kms_api::base64::decode(text).unwrap()
}

pub fn set_binary(item: &mut Value, name: &str, bytes: &[u8]) {
    item[name] = json!({"B": kms_api::base64::encode(bytes)});
}

/// The item after a parse and re-serialisation (canonical sets and numbers).
pub fn canonical(item: &Value) -> Value {
    kms_envelope::item::value::item_to_json(
        &kms_envelope::item::value::item_from_json(item).unwrap(),
    )
}
