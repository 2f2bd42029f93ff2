//! Item encryption round trips: every DynamoDB type under every action, both suites,
//! both keyring contexts, and the stored form of an encrypted item.
#![allow(missing_docs, clippy::unwrap_used)]

mod item_common;

use item_common::*;
use kms_envelope::item::header::{ItemHeader, LEGEND_CONTEXT, LEGEND_ENCRYPT, LEGEND_SIGN};
use kms_envelope::item::{
    CryptoAction, ItemEncryptor, ItemError, ItemSuite, KeyringContext, FOOTER_ATTRIBUTE,
    HEADER_ATTRIBUTE,
};
use serde_json::{json, Value};

fn with_key(mut item: Value) -> Value {
    item["pk"] = json!({"S": "p"});
    item["sk"] = json!({"N": "1"});
    item
}

fn round_trip(encryptor: &ItemEncryptor, item: &Value) -> Value {
    let stored = block_on(encryptor.encrypt_item(item)).unwrap();
    assert!(stored.get(HEADER_ATTRIBUTE).is_some() && stored.get(FOOTER_ATTRIBUTE).is_some());
    let back = block_on(encryptor.decrypt_item(&stored)).unwrap();
    assert_eq!(back, canonical(item));
    stored
}

#[test]
fn every_type_round_trips_under_every_action() {
    let types = every_type();
    for action in [
        CryptoAction::EncryptAndSign,
        CryptoAction::SignOnly,
        CryptoAction::SignAndIncludeInEncryptionContext,
        CryptoAction::DoNothing,
    ] {
        let mut c = config();
        for name in types.as_object().unwrap().keys() {
            let name =
                if action == CryptoAction::DoNothing { format!(":{name}") } else { name.clone() };
            c.attribute_actions_on_encrypt.insert(name, action);
        }
        let mut item = json!({});
        for (name, value) in types.as_object().unwrap() {
            let name =
                if action == CryptoAction::DoNothing { format!(":{name}") } else { name.clone() };
            item[name] = value.clone();
        }
        let item = with_key(item);
        let stored = round_trip(&encryptor(c), &item);
        for (name, value) in item.as_object().unwrap() {
            let stored_value = &stored[name];
            if action == CryptoAction::EncryptAndSign && name != "pk" && name != "sk" {
                assert!(stored_value.get("B").is_some(), "{name} must be stored as B");
                assert_ne!(stored_value, value);
            } else {
                assert_eq!(stored_value, &canonical(&json!({"x": value}))["x"], "{action}: {name}");
            }
        }
    }
}

#[test]
fn encrypted_attributes_keep_their_type_inside_the_ciphertext() {
    let e = encryptor(config());
    let stored = block_on(e.encrypt_item(&customer())).unwrap();
    // ssn is an S: type id 0x0001 is the clear prefix of the stored value.
    assert_eq!(&binary(&stored, "ssn")[..2], &[0x00, 0x01]);
    assert!(!stored.to_string().contains("123-45-6789"));
    assert!(!stored.to_string().contains("ada@example.com"));
    // tags is encrypted by the default action: an SS is 0x0101.
    assert_eq!(&binary(&stored, "tags")[..2], &[0x01, 0x01]);
    assert_eq!(stored[":note"], json!({"S": "unsigned"}));
    assert_eq!(stored["name"], json!({"S": "Ada"}));

    let header = ItemHeader::parse(&binary(&stored, HEADER_ATTRIBUTE)).unwrap();
    assert_eq!(header.version, 1);
    assert_eq!(header.suite, ItemSuite::EcdsaP384HmacSha384);
    // Canonical-path order: by name length first, then bytes.
    // pk, sk, ssn, card, name, tags, email
    assert_eq!(header.legend, b"sseesee".to_vec());
    // Only the public key is stored; the item's pairs are rebuilt when decrypting.
    assert_eq!(header.encryption_context.keys().collect::<Vec<_>>(), ["aws-crypto-public-key"]);
    assert_eq!(binary(&stored, FOOTER_ATTRIBUTE).len(), 48 + 96);
    let back = block_on(e.decrypt_item(&stored)).unwrap();
    assert_eq!(back, canonical(&customer()));
}

#[test]
fn each_item_gets_a_fresh_message_id_and_ciphertext() {
    let e = encryptor(config());
    let a = block_on(e.encrypt_item(&customer())).unwrap();
    let b = block_on(e.encrypt_item(&customer())).unwrap();
    assert_ne!(a["ssn"], b["ssn"]);
    assert_ne!(a[HEADER_ATTRIBUTE], b[HEADER_ATTRIBUTE]);
}

#[test]
fn unsigned_suite_and_table_context_round_trip() {
    for suite in [ItemSuite::HmacSha384, ItemSuite::EcdsaP384HmacSha384] {
        for keyring_context in [KeyringContext::Item, KeyringContext::Table] {
            let mut c = config();
            c.algorithm_suite = suite;
            c.keyring_context = keyring_context;
            let stored = round_trip(&encryptor(c), &customer());
            let footer = binary(&stored, FOOTER_ATTRIBUTE);
            assert_eq!(footer.len(), if suite == ItemSuite::HmacSha384 { 48 } else { 144 });
        }
    }
}

#[test]
fn context_attributes_use_header_version_2() {
    let mut c = config();
    c.attribute_actions_on_encrypt
        .insert("name".into(), CryptoAction::SignAndIncludeInEncryptionContext);
    c.attribute_actions_on_encrypt
        .insert("pk".into(), CryptoAction::SignAndIncludeInEncryptionContext);
    let stored = round_trip(&encryptor(c.clone()), &customer());
    let header = ItemHeader::parse(&binary(&stored, HEADER_ATTRIBUTE)).unwrap();
    assert_eq!(header.version, 2);
    assert_eq!(header.legend.iter().filter(|b| **b == LEGEND_CONTEXT).count(), 2);
    assert!(header.legend.contains(&LEGEND_SIGN) && header.legend.contains(&LEGEND_ENCRYPT));
    // A context attribute is required on every item.
    let mut missing = customer();
    missing.as_object_mut().unwrap().remove("name");
    let err = block_on(encryptor(c).encrypt_item(&missing)).unwrap_err();
    assert!(matches!(err, ItemError::InvalidItem(ref m) if m.contains("\"name\"")), "{err}");
}

#[test]
fn another_key_or_table_cannot_decrypt() {
    let stored = block_on(encryptor(config()).encrypt_item(&customer())).unwrap();
    let wrong_key = ItemEncryptor::with_keyring(config(), other_keyring()).unwrap();
    let err = block_on(wrong_key.decrypt_item(&stored)).unwrap_err();
    assert!(matches!(err, ItemError::Envelope(_)), "{err}");
    let mut other_table = config();
    other_table.table_name = "orders".into();
    assert!(block_on(encryptor(other_table).decrypt_item(&stored)).is_err());
    let mut table_context = config();
    table_context.keyring_context = KeyringContext::Table;
    assert!(block_on(encryptor(table_context).decrypt_item(&stored)).is_err());
}

#[test]
fn json_text_interface_round_trips() {
    let e = encryptor(config());
    let stored = block_on(e.encrypt_item_json(&customer().to_string())).unwrap();
    let back: Value =
        serde_json::from_str(&block_on(e.decrypt_item_json(&stored)).unwrap()).unwrap();
    assert_eq!(back, canonical(&customer()));
    let err = block_on(e.encrypt_item_json("{not json")).unwrap_err();
    assert_eq!(err.code(), "ValidationException");
}

#[test]
fn plaintext_items_and_bad_items_are_refused_clearly() {
    let e = encryptor(config());
    let err = block_on(e.decrypt_item(&customer())).unwrap_err();
    assert!(err.to_string().contains("not an encrypted item"), "{err}");
    let mut no_key = customer();
    no_key.as_object_mut().unwrap().remove("pk");
    let err = block_on(e.encrypt_item(&no_key)).unwrap_err();
    assert!(err.to_string().contains("\"pk\""), "{err}");
    let mut reserved = customer();
    reserved["aws_dbe_head"] = json!({"S": "x"});
    assert!(block_on(e.encrypt_item(&reserved)).unwrap_err().to_string().contains("reserved"));
    let mut strict = config();
    strict.default_action = None;
    let err = block_on(encryptor(strict).encrypt_item(&customer())).unwrap_err();
    assert!(err.to_string().contains("\"tags\" has no configured action"), "{err}");
}

/// On native targets the futures are `Send`, so a multi-threaded server can await them.
#[test]
fn futures_are_send_on_native_targets() {
    fn assert_send<T: Send>(_: &T) {}
    let e = encryptor(config());
    let item = customer();
    assert_send(&e.encrypt_item(&item));
    assert_send(&e.decrypt_item(&item));
    assert_send(&e.encrypt_items(std::slice::from_ref(&item)));
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ItemEncryptor>();
}
