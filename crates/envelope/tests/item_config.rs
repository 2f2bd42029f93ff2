//! Configurations that break a rule are rejected with an error that names the rule.
#![allow(missing_docs, clippy::unwrap_used)]

mod item_common;

use item_common::*;
use kms_envelope::item::{CryptoAction, ItemEncryptor, ItemEncryptorConfig, ItemError};

fn rejected(config: ItemEncryptorConfig, needle: &str) {
    let err = ItemEncryptor::with_keyring(config, keyring()).unwrap_err();
    assert!(matches!(err, ItemError::InvalidConfig(_)), "{err:?}");
    assert_eq!(err.code(), "ValidationException");
    assert!(err.to_string().contains(needle), "{err} does not mention {needle:?}");
}

fn with(name: &str, action: CryptoAction) -> ItemEncryptorConfig {
    let mut c = config();
    c.attribute_actions_on_encrypt.insert(name.into(), action);
    c
}

#[test]
fn the_sample_configuration_is_valid() {
    ItemEncryptor::with_keyring(config(), keyring()).unwrap();
}

#[test]
fn keys_must_be_sign_only_or_in_the_context() {
    rejected(with("pk", CryptoAction::EncryptAndSign), "partition key \"pk\" must be SIGN_ONLY");
    rejected(with("sk", CryptoAction::EncryptAndSign), "sort key \"sk\" must be SIGN_ONLY");
    rejected(with("pk", CryptoAction::DoNothing), "\"pk\" is DO_NOTHING");
    ItemEncryptor::with_keyring(
        with("pk", CryptoAction::SignAndIncludeInEncryptionContext),
        keyring(),
    )
    .unwrap();
    // An unlisted key takes the default action, which must then be a signing-only action.
    let mut c = config();
    c.attribute_actions_on_encrypt.remove("pk");
    rejected(c.clone(), "partition key \"pk\" must be SIGN_ONLY or SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT, not ENCRYPT_AND_SIGN");
    c.default_action = None;
    rejected(c.clone(), "partition key \"pk\" needs an action");
    c.default_action = Some(CryptoAction::SignOnly);
    ItemEncryptor::with_keyring(c, keyring()).unwrap();
    // A key may not be unsigned by prefix either.
    let mut c = ItemEncryptorConfig::new("t", ":pk");
    c.allowed_unsigned_attribute_prefix = Some(":".into());
    rejected(c, "partition key \":pk\" must be SIGN_ONLY");
}

#[test]
fn unsigned_attributes_must_be_allowed_and_allowed_ones_unsigned() {
    rejected(
        with("notes", CryptoAction::DoNothing),
        "\"notes\" is DO_NOTHING but is not an allowed unsigned attribute",
    );
    rejected(with(":notes", CryptoAction::SignOnly), "\":notes\" is an allowed unsigned attribute");
    let mut c = with("notes", CryptoAction::DoNothing);
    c.allowed_unsigned_attributes.push("notes".into());
    ItemEncryptor::with_keyring(c, keyring()).unwrap();
    let mut c = config();
    c.allowed_unsigned_attribute_prefix = Some(String::new());
    rejected(c, "prefix must not be empty");
}

#[test]
fn the_default_action_must_sign() {
    for action in [CryptoAction::DoNothing, CryptoAction::SignAndIncludeInEncryptionContext] {
        let mut c = config();
        c.default_action = Some(action);
        rejected(c, "the default action must be ENCRYPT_AND_SIGN or SIGN_ONLY");
    }
}

#[test]
fn names_must_be_present_distinct_and_not_reserved() {
    let mut c = config();
    c.table_name = String::new();
    rejected(c, "table name must not be empty");
    let mut c = config();
    c.partition_key_name = String::new();
    rejected(c, "partition key name must not be empty");
    let mut c = config();
    c.sort_key_name = Some("pk".into());
    rejected(c, "sort key must differ");
    rejected(with("aws_dbe_head", CryptoAction::SignOnly), "reserved prefix aws_dbe_");
    rejected(with("", CryptoAction::SignOnly), "names must not be empty");
}

#[test]
fn json_configuration_errors_are_validation_errors() {
    let err = ItemEncryptorConfig::from_json(r#"{"tableName": "t"}"#).unwrap_err();
    assert_eq!(err.code(), "ValidationException");
    assert!(err.to_string().contains("partitionKeyName"), "{err}");
    let err = ItemEncryptorConfig::from_json(
        r#"{"tableName": "t", "partitionKeyName": "pk", "attributeActionsOnEncrypt": {"pk": "ENCRYPT"}}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("unknown variant"), "{err}");
}
