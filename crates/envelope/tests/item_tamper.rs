//! Tampering with a stored item: every change to a signed attribute, the header or the
//! footer must make decryption fail, with an error that names no secret.
#![allow(missing_docs, clippy::unwrap_used)]

mod item_common;

use item_common::*;
use kms_envelope::item::{
    ItemEncryptor, ItemEncryptorConfig, ItemError, ItemSuite, KeyringContext, FOOTER_ATTRIBUTE,
    HEADER_ATTRIBUTE,
};
use serde_json::{json, Value};

const SECRETS: [&str; 3] = ["123-45-6789", "4111 1111 1111 1111", "ada@example.com"];

fn setup(suite: ItemSuite, keyring_context: KeyringContext) -> (ItemEncryptor, Value) {
    let mut c: ItemEncryptorConfig = config();
    c.algorithm_suite = suite;
    c.keyring_context = keyring_context;
    let e = encryptor(c);
    let stored = block_on(e.encrypt_item(&customer())).unwrap();
    (e, stored)
}

/// Decryption fails, and the error says nothing of the plaintext.
fn refused(e: &ItemEncryptor, item: &Value) -> ItemError {
    let err = block_on(e.decrypt_item(item)).expect_err("tampered item decrypted");
    let text = format!("{err} {err:?}");
    for secret in SECRETS {
        assert!(!text.contains(secret), "error leaks a secret: {text}");
    }
    err
}

fn verification_failed(e: &ItemEncryptor, item: &Value) {
    let err = refused(e, item);
    assert!(matches!(err, ItemError::DecryptionFailed), "expected DecryptionFailed, got {err:?}");
    assert_eq!(err.code(), "InvalidCiphertextException");
}

#[test]
fn flipping_a_byte_of_any_encrypted_attribute_fails() {
    let (e, stored) = setup(ItemSuite::EcdsaP384HmacSha384, KeyringContext::Item);
    for name in ["ssn", "card", "email", "tags"] {
        let original = binary(&stored, name);
        for index in [0, 1, 2, original.len() / 2, original.len() - 1] {
            let mut bytes = original.clone();
            bytes[index] ^= 0x01;
            let mut item = stored.clone();
            set_binary(&mut item, name, &bytes);
            verification_failed(&e, &item);
        }
    }
}

#[test]
fn changing_any_signed_plaintext_attribute_fails() {
    for keyring_context in [KeyringContext::Item, KeyringContext::Table] {
        let (e, stored) = setup(ItemSuite::EcdsaP384HmacSha384, keyring_context);
        for (name, value) in [
            ("name", json!({"S": "Bob"})),
            ("name", json!({"B": "QWRh"})), // same bytes, other type
            ("pk", json!({"S": "customer#43"})),
            ("sk", json!({"N": "8"})),
            ("sk", json!({"S": "7"})),
        ] {
            let mut item = stored.clone();
            item[name] = value;
            let err = refused(&e, &item);
            if keyring_context == KeyringContext::Table || name == "name" {
                // The keyring does not see this value; the signature catches the change.
                assert!(matches!(err, ItemError::DecryptionFailed), "{name}: {err:?}");
            }
        }
    }
}

#[test]
fn swapping_two_encrypted_values_fails() {
    let (e, stored) = setup(ItemSuite::EcdsaP384HmacSha384, KeyringContext::Item);
    for (a, b) in [("ssn", "card"), ("card", "email"), ("ssn", "tags")] {
        let mut item = stored.clone();
        item[a] = stored[b].clone();
        item[b] = stored[a].clone();
        verification_failed(&e, &item);
    }
    // Also across two items of the same table under the same data key holder.
    let other = block_on(e.encrypt_item(&customer())).unwrap();
    let mut item = stored.clone();
    item["ssn"] = other["ssn"].clone();
    verification_failed(&e, &item);
}

#[test]
fn renaming_adding_or_removing_a_signed_attribute_fails() {
    let (e, stored) = setup(ItemSuite::EcdsaP384HmacSha384, KeyringContext::Item);
    let rename = |from: &str, to: &str| {
        let mut item = stored.clone();
        let value = item.as_object_mut().unwrap().remove(from).unwrap();
        item[to] = value;
        item
    };
    verification_failed(&e, &rename("ssn", "ssx"));
    verification_failed(&e, &rename("name", "nane"));
    verification_failed(&e, &rename("email", "email2"));
    // A signed attribute renamed into the unsigned namespace is missing from the signature.
    verification_failed(&e, &rename("name", ":name"));

    let mut added = stored.clone();
    added["admin"] = json!({"BOOL": true});
    verification_failed(&e, &added);
    let mut added = stored.clone();
    added["ssn2"] = stored["ssn"].clone();
    verification_failed(&e, &added);

    for name in ["ssn", "name", "tags", "sk"] {
        let mut removed = stored.clone();
        removed.as_object_mut().unwrap().remove(name);
        let err = refused(&e, &removed);
        if name != "sk" {
            assert!(matches!(err, ItemError::DecryptionFailed), "{name}: {err:?}");
        }
    }
}

#[test]
fn unsigned_attributes_may_change() {
    let (e, stored) = setup(ItemSuite::EcdsaP384HmacSha384, KeyringContext::Item);
    let mut item = stored.clone();
    item[":note"] = json!({"N": "5"});
    item[":extra"] = json!({"S": "added"});
    let back = block_on(e.decrypt_item(&item)).unwrap();
    assert_eq!(back[":note"], json!({"N": "5"}));
    assert_eq!(back[":extra"], json!({"S": "added"}));
    assert_eq!(back["ssn"], json!({"S": "123-45-6789"}));
}

#[test]
fn changing_any_byte_of_the_header_or_footer_fails() {
    for suite in [ItemSuite::HmacSha384, ItemSuite::EcdsaP384HmacSha384] {
        let (e, stored) = setup(suite, KeyringContext::Item);
        // ECDSA verification is slow in debug builds: sample the signed suite's bytes.
        let step = if suite == ItemSuite::HmacSha384 { 1 } else { 5 };
        for name in [HEADER_ATTRIBUTE, FOOTER_ATTRIBUTE] {
            let original = binary(&stored, name);
            for index in (0..original.len()).step_by(step).chain([original.len() - 1]) {
                for flip in [0x01, 0x80] {
                    let mut bytes = original.clone();
                    bytes[index] ^= flip;
                    let mut item = stored.clone();
                    set_binary(&mut item, name, &bytes);
                    refused(&e, &item);
                }
            }
            let mut item = stored.clone();
            set_binary(&mut item, name, &original[..original.len() - 1]);
            refused(&e, &item);
            let mut longer = original.clone();
            longer.push(0);
            set_binary(&mut item, name, &longer);
            refused(&e, &item);
            item[name] = json!({"S": "x"});
            assert!(matches!(refused(&e, &item), ItemError::Malformed(_)));
            item.as_object_mut().unwrap().remove(name);
            assert!(matches!(refused(&e, &item), ItemError::InvalidItem(_)));
        }
    }
}

#[test]
fn header_and_footer_of_another_item_do_not_fit() {
    let (e, stored) = setup(ItemSuite::EcdsaP384HmacSha384, KeyringContext::Table);
    let mut other = customer();
    other["name"] = json!({"S": "Eve"});
    let other = block_on(e.encrypt_item(&other)).unwrap();
    for names in
        [&[HEADER_ATTRIBUTE][..], &[FOOTER_ATTRIBUTE], &[HEADER_ATTRIBUTE, FOOTER_ATTRIBUTE]]
    {
        let mut item = stored.clone();
        for name in names {
            item[*name] = other[*name].clone();
        }
        verification_failed(&e, &item);
    }
}

#[test]
fn a_signed_item_cannot_be_downgraded_to_hmac_only() {
    let (_, stored) = setup(ItemSuite::EcdsaP384HmacSha384, KeyringContext::Item);
    let mut hmac_only = config();
    hmac_only.algorithm_suite = ItemSuite::HmacSha384;
    let e = encryptor(hmac_only);
    // As stored: the configured suite differs.
    refused(&e, &stored);
    // Rewritten to flavor 0 with the signature cut off: the commitment no longer matches,
    // and the stored public key contradicts the unsigned suite.
    let mut header = binary(&stored, HEADER_ATTRIBUTE);
    header[1] = 0x00;
    let footer = binary(&stored, FOOTER_ATTRIBUTE);
    let mut item = stored.clone();
    set_binary(&mut item, HEADER_ATTRIBUTE, &header);
    set_binary(&mut item, FOOTER_ATTRIBUTE, &footer[..48]);
    refused(&e, &item);
}
