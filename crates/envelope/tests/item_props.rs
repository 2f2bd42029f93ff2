//! Property tests of the item encryptor: a round trip is the identity for arbitrary items
//! and configurations, any flipped bit of a protected attribute fails decryption, and the
//! header, footer and value parsers never panic on arbitrary or mutated input.
#![allow(missing_docs, clippy::unwrap_used)]

mod item_common;

use std::collections::BTreeMap;

use item_common::*;
use kms_api::base64;
use kms_envelope::fuzzing;
use kms_envelope::item::value::{
    item_from_json, item_from_json_text, item_to_json, item_to_json_text, AttributeValue,
};
use kms_envelope::item::{
    CryptoAction, ItemEncryptor, ItemEncryptorConfig, ItemSuite, KeyringContext, FOOTER_ATTRIBUTE,
    HEADER_ATTRIBUTE,
};
use proptest::prelude::*;
use serde_json::{json, Value};

fn b64(bytes: &[u8]) -> String {
    base64::encode(bytes)
}

fn number() -> impl Strategy<Value = String> {
    (any::<i64>(), 0u32..6, -20i32..20).prop_map(|(m, frac, exp)| {
        let digits = m.unsigned_abs().to_string();
        let sign = if m < 0 { "-" } else { "" };
        let split = digits.len().saturating_sub(frac as usize);
        format!("{sign}0{}.{}e{exp}", &digits[..split], &digits[split..])
    })
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(|s| json!({ "S": s })),
        number().prop_map(|n| json!({ "N": n })),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(|b| json!({ "B": b64(&b) })),
        any::<bool>().prop_map(|b| json!({ "BOOL": b })),
        Just(json!({ "NULL": true })),
        proptest::collection::btree_set(any::<String>(), 1..5)
            .prop_map(|s| json!({ "SS": s.into_iter().collect::<Vec<_>>() })),
        proptest::collection::btree_set(-1000i64..1000, 1..5).prop_map(
            |s| json!({ "NS": s.into_iter().map(|n| n.to_string()).collect::<Vec<_>>() })
        ),
        proptest::collection::btree_set(proptest::collection::vec(any::<u8>(), 0..8), 1..5)
            .prop_map(|s| json!({ "BS": s.iter().map(|b| b64(b)).collect::<Vec<_>>() })),
    ]
}

fn attribute_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(|l| json!({ "L": l })),
            proptest::collection::btree_map("[a-z\u{e9}\u{10348}]{1,4}", inner, 0..4)
                .prop_map(|m| json!({ "M": m })),
        ]
    })
}

fn action() -> impl Strategy<Value = CryptoAction> {
    prop_oneof![
        Just(CryptoAction::EncryptAndSign),
        Just(CryptoAction::SignOnly),
        Just(CryptoAction::SignAndIncludeInEncryptionContext),
        Just(CryptoAction::DoNothing),
    ]
}

/// An item with a partition key, and a configuration naming an action for every attribute.
fn item_and_config() -> impl Strategy<Value = (Value, ItemEncryptorConfig)> {
    (
        proptest::collection::btree_map(
            "[a-zA-Z0-9_.\u{e9}]{1,12}",
            (attribute_value(), action()),
            0..8,
        ),
        prop_oneof![Just(json!({"S": "k"})), Just(json!({"N": "12"})), Just(json!({"B": "AQI="}))],
        any::<bool>(),
        any::<bool>(),
        "[a-z]{1,10}",
    )
        .prop_map(|(attributes, key, signed, table_context, table)| {
            let mut config = ItemEncryptorConfig::new(table, "pk");
            config.attribute_actions_on_encrypt.insert("pk".into(), CryptoAction::SignOnly);
            config.allowed_unsigned_attribute_prefix = Some(":".into());
            config.algorithm_suite =
                if signed { ItemSuite::EcdsaP384HmacSha384 } else { ItemSuite::HmacSha384 };
            config.keyring_context =
                if table_context { KeyringContext::Table } else { KeyringContext::Item };
            let mut item = BTreeMap::new();
            item.insert("pk".to_owned(), key);
            for (name, (value, action)) in attributes {
                let name =
                    if action == CryptoAction::DoNothing { format!(":{name}") } else { name };
                if name == "pk" {
                    continue;
                }
                config.attribute_actions_on_encrypt.insert(name.clone(), action);
                item.insert(name, value);
            }
            (serde_json::to_value(item).unwrap(), config)
        })
}

proptest! {
    /// The JSON text written without serde is the text serde_json writes for the same item,
    /// and reads back (also pretty-printed) to the same item.
    #[test]
    fn item_json_text_matches_serde_json(value in attribute_value(), name in "[a-z\"\\\\]{1,4}") {
        let item = item_from_json(&json!({ name: value })).unwrap();
        let text = item_to_json_text(&item);
        prop_assert_eq!(&text, &item_to_json(&item).to_string());
        prop_assert_eq!(&item_from_json_text(&text).unwrap(), &item);
        let pretty = serde_json::to_string_pretty(&item_to_json(&item)).unwrap();
        prop_assert_eq!(item_from_json_text(&pretty).unwrap(), item);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_is_the_identity((item, config) in item_and_config()) {
        let e = ItemEncryptor::with_keyring(config, keyring()).unwrap();
        let stored = block_on(e.encrypt_item(&item)).unwrap();
        let back = block_on(e.decrypt_item(&stored)).unwrap();
        prop_assert_eq!(back, canonical(&item));
    }

    #[test]
    fn any_flipped_bit_of_a_protected_attribute_fails(
        (item, mut config) in item_and_config(),
        pick in any::<proptest::sample::Index>(),
        byte in any::<proptest::sample::Index>(),
        bit in 0u8..8,
    ) {
        config.algorithm_suite = ItemSuite::HmacSha384;
        let e = ItemEncryptor::with_keyring(config, keyring()).unwrap();
        let stored = block_on(e.encrypt_item(&item)).unwrap();
        // Header, footer and every encrypted (now binary) signed attribute.
        let targets: Vec<String> = stored
            .as_object()
            .unwrap()
            .iter()
            .filter(|(name, value)| !name.starts_with(':') && value.get("B").is_some())
            .map(|(name, _)| name.clone())
            .collect();
        let name = pick.get(&targets);
        let mut bytes = binary(&stored, name);
        prop_assume!(!bytes.is_empty());
        let index = byte.index(bytes.len());
        bytes[index] ^= 1 << bit;
        let mut tampered = stored.clone();
        set_binary(&mut tampered, name, &bytes);
        prop_assert!(block_on(e.decrypt_item(&tampered)).is_err());
    }

    #[test]
    fn values_serialise_and_parse_back(value in attribute_value()) {
        let parsed = AttributeValue::from_json(&value).unwrap();
        let bytes = parsed.serialize();
        prop_assert_eq!(AttributeValue::deserialize(parsed.type_id(), &bytes).unwrap(), parsed.clone());
        prop_assert_eq!(AttributeValue::from_json(&parsed.to_json()).unwrap(), parsed);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = fuzzing::parse_item_header(&data);
        let _ = fuzzing::parse_item_footer(&data);
        let _ = fuzzing::parse_item_value(&data);
    }
}

/// One stored item, made once (ECDSA signing is slow in debug builds).
fn stored_header_and_footer() -> (Vec<u8>, Vec<u8>, Value) {
    static STORED: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    let stored = STORED
        .get_or_init(|| block_on(encryptor(config()).encrypt_item(&customer())).unwrap())
        .clone();
    (binary(&stored, HEADER_ATTRIBUTE), binary(&stored, FOOTER_ATTRIBUTE), stored)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_000, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic_on_mutated_headers(
        edits in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<proptest::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let (header, footer, _) = stored_header_and_footer();
        for original in [header, footer] {
            let mut data = original.clone();
            for (at, byte) in &edits {
                let i = at.index(data.len());
                data[i] = *byte;
            }
            if truncate {
                data.truncate(cut.index(data.len() + 1));
            }
            let _ = fuzzing::parse_item_header(&data);
            let _ = fuzzing::parse_item_footer(&data);
            let _ = fuzzing::parse_item_value(&data);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The whole decrypt path, fed mutated header and footer attributes, returns an error
    /// and never panics.
    #[test]
    fn decrypt_never_panics_on_mutated_header_or_footer(
        edits in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 1..4),
        which in any::<bool>(),
    ) {
        let (header, footer, stored) = stored_header_and_footer();
        let (name, mut data) = if which { (HEADER_ATTRIBUTE, header) } else { (FOOTER_ATTRIBUTE, footer) };
        let original = data.clone();
        for (at, byte) in &edits {
            let i = at.index(data.len());
            data[i] = *byte;
        }
        prop_assume!(data != original);
        let mut item = stored.clone();
        set_binary(&mut item, name, &data);
        let e = encryptor(config());
        prop_assert!(block_on(e.decrypt_item(&item)).is_err());
    }
}

#[test]
fn item_parser_handles_hostile_json() {
    assert!(item_from_json(&json!([1, 2])).is_err());
    assert!(item_from_json(&json!({"": {"S": "x"}})).is_err());
    assert!(item_from_json(&json!({"a": {"N": "1".repeat(10_000)}})).is_err());
    assert!(item_from_json(&json!({"a": {"N": format!("1e{}", "9".repeat(100))}})).is_err());
}
