//! `ItemEncryptor`: DynamoDB item encryption (kms-envelope's `item` module) for JavaScript.
//!
//! Items go in and come out as DynamoDB JSON objects (`{ pk: { S: "a" }, blob: { B:
//! "<base64>" } }`), exactly as DynamoDB's JSON wire format writes them; they cross into
//! Rust as JSON text. Failures are `KmsError`s with the codes of `ItemError::code`.

use std::sync::Arc;

use js_sys::{Array, Function, Object, Promise, Reflect, JSON};
use kms_envelope::item::ItemError;
use kms_envelope::item::{BatchError, BatchStats, ItemEncryptor as Inner, ItemEncryptorConfig};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::convert::{promise, set};
use crate::error::{invalid, kms_error, status_of};
use crate::handle::{cmm_of, keyring_of};

/// A `KmsError` for an item failure, with the stable code of `ItemError::code`.
fn item_error(error: &ItemError) -> JsValue {
    let code = error.code();
    kms_error(code, &error.to_string(), status_of(code))
}

/// A `KmsError` for a failed batch, with `index` set to the failing item's position.
fn batch_error(error: &BatchError) -> JsValue {
    let js = kms_error(error.error.code(), &error.to_string(), status_of(error.error.code()));
    // Setting a property on a fresh Error cannot fail.
    let _ = Reflect::set(&js, &"index".into(), &(error.index as f64).into());
    js
}

/// `value` as JSON text (JavaScript's `JSON.stringify`): objects only.
fn to_json(value: &JsValue, what: &str) -> Result<String, JsValue> {
    if !value.is_object() {
        return Err(invalid(&format!("{what} must be an object in DynamoDB JSON")));
    }
    JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| invalid(&format!("{what} cannot be turned into JSON")))
}

/// JSON text as a fresh JavaScript value.
fn from_json(text: &str) -> Result<JsValue, JsValue> {
    JSON::parse(text).map_err(|_| invalid("internal: JSON output did not parse"))
}

/// The configuration object, with `attributeActions` accepted for the DB-ESDK's
/// `attributeActionsOnEncrypt` (renamed on a shallow copy).
fn config_of(config: &JsValue) -> Result<ItemEncryptorConfig, JsValue> {
    let mut config = config.clone();
    if config.is_object() {
        // Own properties only: one inherited from Object.prototype must not choose actions.
        let has = |k: &str| Object::has_own(config.unchecked_ref::<Object>(), &k.into());
        if has("attributeActions") {
            if has("attributeActionsOnEncrypt") {
                return Err(invalid(
                    "give attributeActions or attributeActionsOnEncrypt, not both",
                ));
            }
            let copy = Object::assign(&Object::new(), config.unchecked_ref());
            let actions = Reflect::get(&copy, &"attributeActions".into())?;
            Reflect::delete_property(&copy, &"attributeActions".into())?;
            Reflect::set(&copy, &"attributeActionsOnEncrypt".into(), &actions)?;
            config = copy.into();
        }
    }
    ItemEncryptorConfig::from_json(&to_json(&config, "config")?).map_err(|e| item_error(&e))
}

/// The counters of a `CachingMaterialsManager` (its JS `stats()`), if `value` is one.
#[derive(Clone, Copy, Default)]
struct CmmCounters {
    hits: f64,
    misses: f64,
    kms_calls: f64,
}

fn counters_of(cmm: &JsValue) -> Option<CmmCounters> {
    let stats = Reflect::get(cmm, &"stats".into()).ok()?.dyn_into::<Function>().ok()?;
    let s = stats.call0(cmm).ok()?;
    let num = |k: &str| Reflect::get(&s, &k.into()).ok().and_then(|v| v.as_f64());
    Some(CmmCounters { hits: num("hits")?, misses: num("misses")?, kms_calls: num("kmsCalls")? })
}

/// Encrypts and decrypts DynamoDB items of one table:
/// `new ItemEncryptor(config, keyringOrCmm)`.
///
/// `config`: `{ tableName, partitionKeyName, sortKeyName?, attributeActions (or
/// attributeActionsOnEncrypt), defaultAction?, allowedUnsignedAttributes?,
/// allowedUnsignedAttributePrefix?, algorithmSuite?, keyringContext?: "ITEM" | "TABLE" }`.
/// With a `CachingMaterialsManager`, items share data keys only under
/// `keyringContext: "TABLE"` (with `"ITEM"` each item's context differs).
#[wasm_bindgen]
pub struct ItemEncryptor {
    inner: Arc<Inner>,
    /// The caching materials manager passed in, whose counters the batches report.
    cmm: Option<JsValue>,
}

#[wasm_bindgen]
impl ItemEncryptor {
    /// Creates the encryptor; throws a `KmsError` (`ValidationException`) for a
    /// configuration that breaks a rule (the message says which).
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "ItemEncryptorConfig")] config: JsValue,
        #[wasm_bindgen(js_name = keyringOrCmm, unchecked_param_type = "Keyring | CachingMaterialsManager")]
        keyring_or_cmm: JsValue,
    ) -> Result<ItemEncryptor, JsValue> {
        let config = config_of(&config)?;
        if let Ok(keyring) = keyring_of(&keyring_or_cmm, "keyringOrCmm") {
            let inner = Inner::with_keyring(config, keyring).map_err(|e| item_error(&e))?;
            return Ok(ItemEncryptor { inner: Arc::new(inner), cmm: None });
        }
        let cmm = cmm_of(&keyring_or_cmm)?;
        let inner = Inner::new(config, cmm).map_err(|e| item_error(&e))?;
        let counted = counters_of(&keyring_or_cmm).is_some().then_some(keyring_or_cmm);
        Ok(ItemEncryptor { inner: Arc::new(inner), cmm: counted })
    }

    /// Encrypts one item; resolves to the item to store (encrypted attributes as `B`, plus
    /// `aws_dbe_head` and `aws_dbe_foot`).
    #[wasm_bindgen(js_name = encryptItem, unchecked_return_type = "Promise<DynamoDbItem>")]
    pub fn encrypt_item(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DynamoDbItem")] item: JsValue,
    ) -> Result<Promise, JsValue> {
        self.one(item, true)
    }

    /// Decrypts one stored item; resolves to the plaintext item only if every check
    /// passes, else rejects with `InvalidCiphertextException`.
    #[wasm_bindgen(js_name = decryptItem, unchecked_return_type = "Promise<DynamoDbItem>")]
    pub fn decrypt_item(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DynamoDbItem")] item: JsValue,
    ) -> Result<Promise, JsValue> {
        self.one(item, false)
    }

    /// Encrypts many items in order: `{ items, keyringCalls, cacheHits, cacheMisses }`.
    /// Stops at the first failing item (the error's `index` says which).
    #[wasm_bindgen(js_name = encryptItems, unchecked_return_type = "Promise<ItemBatchResult>")]
    pub fn encrypt_items(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DynamoDbItem[]")] items: JsValue,
    ) -> Result<Promise, JsValue> {
        self.batch(items, true)
    }

    /// Decrypts many items in order: `{ items, keyringCalls, cacheHits, cacheMisses }`.
    /// Nothing is returned unless every item verifies.
    #[wasm_bindgen(js_name = decryptItems, unchecked_return_type = "Promise<ItemBatchResult>")]
    pub fn decrypt_items(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DynamoDbItem[]")] items: JsValue,
    ) -> Result<Promise, JsValue> {
        self.batch(items, false)
    }
}

impl ItemEncryptor {
    fn one(&self, item: JsValue, encrypt: bool) -> Result<Promise, JsValue> {
        let item = to_json(&item, "item")?;
        let inner = self.inner.clone();
        let signed = !encrypt || inner.config().algorithm_suite.suite().is_signed();
        Ok(promise(async move {
            // Signed suites sign and verify in the EC module (ec.rs).
            crate::ec::ensure_if(signed).await?;
            let out = if encrypt {
                inner.encrypt_item_json(&item).await
            } else {
                inner.decrypt_item_json(&item).await
            }
            .map_err(|e| item_error(&e))?;
            from_json(&out)
        }))
    }

    fn batch(&self, items: JsValue, encrypt: bool) -> Result<Promise, JsValue> {
        if !Array::is_array(&items) {
            return Err(invalid("items must be an array of DynamoDB JSON items"));
        }
        let items: Array = items.unchecked_into();
        // Each item as its own JSON text; a non-object fails at its index in the batch.
        let items: Vec<String> = items
            .iter()
            .map(|item| JSON::stringify(&item).ok().and_then(|s| s.as_string()).unwrap_or_default())
            .collect();
        let inner = self.inner.clone();
        let cmm = self.cmm.clone();
        let signed = !encrypt || inner.config().algorithm_suite.suite().is_signed();
        Ok(promise(async move {
            crate::ec::ensure_if(signed).await?;
            let before = cmm.as_ref().and_then(counters_of);
            let (items, stats) =
                inner.process_items_json(&items, encrypt).await.map_err(|e| batch_error(&e))?;
            let after = cmm.as_ref().and_then(counters_of);
            let result = Object::new();
            let out = Array::new();
            for item in &items {
                out.push(&from_json(item)?);
            }
            set(&result, "items", &out);
            report(&result, stats, before.zip(after));
            Ok(result.into())
        }))
    }
}

/// Sets the batch counters: from the encryptor's own counting keyring, or from the
/// caching materials manager's counters before and after the batch.
fn report(out: &Object, stats: BatchStats, cmm: Option<(CmmCounters, CmmCounters)>) {
    let opt = |v: Option<f64>| v.map_or(JsValue::NULL, JsValue::from);
    let (calls, hits, misses) = match cmm {
        Some((b, a)) => {
            (Some(a.kms_calls - b.kms_calls), Some(a.hits - b.hits), Some(a.misses - b.misses))
        }
        None => (
            stats.keyring_calls.map(|n| n as f64),
            stats.cache_hits.map(|n| n as f64),
            stats.cache_misses.map(|n| n as f64),
        ),
    };
    set(out, "keyringCalls", &opt(calls));
    set(out, "cacheHits", &opt(hits));
    set(out, "cacheMisses", &opt(misses));
}

#[wasm_bindgen(typescript_custom_section)]
const ITEM_TYPES: &'static str = r#"
/** One DynamoDB attribute value in DynamoDB JSON; binary values are base64 strings. */
export type AttributeValue =
  | { S: string } | { N: string } | { B: string } | { BOOL: boolean } | { NULL: true }
  | { M: Record<string, AttributeValue> } | { L: AttributeValue[] }
  | { SS: string[] } | { NS: string[] } | { BS: string[] };

/** An item in DynamoDB JSON. */
export type DynamoDbItem = Record<string, AttributeValue>;

export type CryptoAction =
  | "ENCRYPT_AND_SIGN"
  | "SIGN_ONLY"
  | "SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT"
  | "DO_NOTHING";

/** The item encryptor's configuration (the AWS Database Encryption SDK's names). */
export interface ItemEncryptorConfig {
  tableName: string;
  partitionKeyName: string;
  sortKeyName?: string;
  /** Action per attribute name (alias of attributeActionsOnEncrypt). */
  attributeActions?: Record<string, CryptoAction>;
  attributeActionsOnEncrypt?: Record<string, CryptoAction>;
  /** Action of unlisted attributes; without it an unlisted attribute is an error. */
  defaultAction?: "ENCRYPT_AND_SIGN" | "SIGN_ONLY";
  allowedUnsignedAttributes?: string[];
  allowedUnsignedAttributePrefix?: string;
  algorithmSuite?:
    | "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384_SYMSIG_HMAC_SHA384"
    | "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_SYMSIG_HMAC_SHA384";
  /** "ITEM" (default): the context holds the item's keys. "TABLE": only the table name,
   * so a caching materials manager shares data keys across items. */
  keyringContext?: "ITEM" | "TABLE";
}

/** What a batch returns: the items in order, and what they cost (null: not counted). */
export interface ItemBatchResult {
  items: DynamoDbItem[];
  /** Keyring calls (with a KMS keyring over one key: KMS requests). */
  keyringCalls: number | null;
  cacheHits: number | null;
  cacheMisses: number | null;
}
"#;
