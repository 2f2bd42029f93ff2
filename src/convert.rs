//! `JsValue` <-> Rust: option objects, byte arrays, encryption contexts, message headers.

use std::future::Future;
use std::pin::Pin;

use js_sys::{Array, JsString, Object, Promise, Reflect, Uint8Array};
use kms_envelope::format::{ContentType, MessageHeader};
use kms_envelope::materials::EncryptionContext;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::future_to_promise;
use zeroize::Zeroizing;

use crate::error::{invalid, invalid_named};

/// A Promise of `future`. The future is boxed so the module holds one copy of
/// wasm-bindgen-futures' promise machinery, not one per async method (about 1 KB each).
pub(crate) fn promise(future: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> Promise {
    let boxed: Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>> = Box::pin(future);
    future_to_promise(boxed)
}

/// `object[key]`, or `None` when it is `undefined` or `null` (or `object` is not an object).
pub(crate) fn field(object: &JsValue, key: &str) -> Option<JsValue> {
    if !object.is_object() {
        return None;
    }
    Reflect::get(object, &key.into()).ok().filter(|v| !v.is_undefined() && !v.is_null())
}

/// An optional string option.
pub(crate) fn string_field(object: &JsValue, key: &str) -> Result<Option<String>, JsValue> {
    match field(object, key) {
        None => Ok(None),
        Some(v) => well_formed_string(&v)
            .map(Some)
            .ok_or_else(|| invalid_named(key, " must be a string of well-formed UTF-16")),
    }
}

/// A required string option.
pub(crate) fn required_string(object: &JsValue, key: &str) -> Result<String, JsValue> {
    string_field(object, key)?.ok_or_else(|| invalid_named(key, " is required"))
}

/// An optional boolean option.
pub(crate) fn bool_field(object: &JsValue, key: &str) -> Result<Option<bool>, JsValue> {
    match field(object, key) {
        None => Ok(None),
        Some(v) => v.as_bool().map(Some).ok_or_else(|| invalid_named(key, " must be a boolean")),
    }
}

/// An optional non-negative whole-number option, at most `max`.
pub(crate) fn uint_field(object: &JsValue, key: &str, max: u64) -> Result<Option<u64>, JsValue> {
    let Some(v) = field(object, key) else { return Ok(None) };
    let n = v.as_f64().ok_or_else(|| invalid_named(key, " must be a number"))?;
    // 2^53: every whole f64 below it is exact.
    if n < 0.0 || n.fract() != 0.0 || n > max as f64 || n > 9_007_199_254_740_992.0 {
        return Err(invalid(&format!("{key} must be a whole number from 0 to {max}")));
    }
    // Checked above: n is a whole number in 0..=max.
    Ok(Some(n as u64))
}

/// An optional array of strings (`[]` when absent).
pub(crate) fn strings_field(object: &JsValue, key: &str) -> Result<Vec<String>, JsValue> {
    let Some(v) = field(object, key) else { return Ok(Vec::new()) };
    let bad = || invalid_named(key, " must be an array of strings of well-formed UTF-16");
    let array = v.dyn_into::<Array>().map_err(|_| bad())?;
    // A loop rather than collecting into a Result: smaller in wasm.
    let mut out = Vec::new();
    for item in array.iter() {
        out.push(well_formed_string(&item).ok_or_else(bad)?);
    }
    Ok(out)
}

/// Bytes from a `Uint8Array`, copied into wasm memory (zeroized when dropped).
pub(crate) fn bytes_of(value: &JsValue, what: &str) -> Result<Zeroizing<Vec<u8>>, JsValue> {
    let array = value
        .dyn_ref::<Uint8Array>()
        .ok_or_else(|| invalid_named(what, " must be a Uint8Array"))?;
    Ok(Zeroizing::new(array.to_vec()))
}

/// An optional `Uint8Array` option.
pub(crate) fn bytes_field(
    object: &JsValue,
    key: &str,
) -> Result<Option<Zeroizing<Vec<u8>>>, JsValue> {
    field(object, key).map(|v| bytes_of(&v, key)).transpose()
}

/// A fresh `Uint8Array` holding a copy of `bytes`.
pub(crate) fn to_uint8(bytes: &[u8]) -> Uint8Array {
    Uint8Array::from(bytes)
}

/// Sets `object[key] = value` on an object this module created.
pub(crate) fn set(object: &Object, key: &str, value: &JsValue) {
    // Setting a property of a plain object created here cannot fail.
    let _ = Reflect::set(object, &key.into(), value);
}

/// A JS string as Rust, refusing one that is not well-formed UTF-16: `as_string` would
/// replace a lone surrogate with U+FFFD, so distinct JS strings could become the same text.
fn well_formed_string(value: &JsValue) -> Option<String> {
    value.dyn_ref::<JsString>().filter(|s| s.is_valid_utf16()).and_then(|s| s.as_string())
}

/// An encryption context from a plain object of string values (`{}` when absent). Keys and
/// values must be well-formed UTF-16, so that two different JS objects never become the same
/// context (a message bound to one would then decrypt with the other).
pub(crate) fn context_field(object: &JsValue, key: &str) -> Result<EncryptionContext, JsValue> {
    let Some(v) = field(object, key) else { return Ok(EncryptionContext::new()) };
    if !v.is_object() {
        return Err(invalid_named(key, " must be an object of strings"));
    }
    let entries = Object::entries(v.unchecked_ref::<Object>());
    let mut pairs = Vec::with_capacity(entries.length() as usize);
    for entry in entries.iter() {
        let pair = entry.unchecked_into::<Array>();
        match (well_formed_string(&pair.get(0)), well_formed_string(&pair.get(1))) {
            (Some(k), Some(value)) => pairs.push((k, value)),
            _ => {
                return Err(invalid_named(
                    key,
                    " keys and values must be strings of well-formed UTF-16",
                ))
            }
        }
    }
    let count = pairs.len();
    let context: EncryptionContext = pairs.into_iter().collect();
    // Distinct well-formed JS keys stay distinct in UTF-8; checked all the same.
    if context.len() != count {
        return Err(invalid_named(key, " has a key twice"));
    }
    Ok(context)
}

/// An encryption context as a plain object.
pub(crate) fn context_to_js(context: &EncryptionContext) -> Object {
    let object = Object::new();
    for (k, v) in context {
        set(&object, k, &v.into());
    }
    object
}

/// The header fields `@aws-crypto/client-*` return as `messageHeader`.
pub(crate) fn header_to_js(header: &MessageHeader) -> Object {
    let object = Object::new();
    let version = match header.suite.message_format {
        kms_envelope::suite::MessageFormatVersion::V1 => 1,
        kms_envelope::suite::MessageFormatVersion::V2 => 2,
    };
    set(&object, "version", &version.into());
    set(&object, "suiteId", &header.suite.id.into());
    set(&object, "suiteName", &header.suite.name.into());
    set(&object, "messageId", &to_uint8(header.message_id.as_bytes()));
    set(&object, "encryptionContext", &context_to_js(&header.encryption_context));
    let keys = Array::new();
    for edk in &header.encrypted_data_keys {
        let key = Object::new();
        set(&key, "providerId", &edk.provider_id.as_str().into());
        let info = kms_envelope::codec::utf8_lossy(&edk.provider_info);
        set(&key, "providerInfo", &info.into());
        set(&key, "rawInfo", &to_uint8(&edk.provider_info));
        set(&key, "encryptedDataKey", &to_uint8(&edk.ciphertext));
        keys.push(&key);
    }
    set(&object, "encryptedDataKeys", &keys);
    let content_type = match header.content_type {
        ContentType::NonFramed => 1,
        ContentType::Framed => 2,
    };
    set(&object, "contentType", &content_type.into());
    set(&object, "frameLength", &header.frame_length.into());
    object
}
