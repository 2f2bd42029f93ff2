//! `CachingMaterialsManager`: reuses data keys within limits, so many small messages cost
//! few KMS calls.

use std::sync::Arc;
use std::time::Duration;

use js_sys::Object;
use kms_envelope::cache::{Clock, LocalCryptographicMaterialsCache};
use kms_envelope::cmm::caching::{CachingCmm, DEFAULT_LIMIT_BYTES, MAX_LIMIT_MESSAGES};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use crate::convert::{field, set, string_field, uint_field};
use crate::error::{from_envelope, invalid};
use crate::handle::{hand_over, keyring_of, Shared};

/// Milliseconds since the epoch from `Date.now()` (std's clock panics on wasm32).
struct DateClock;

impl Clock for DateClock {
    fn now_ms(&self) -> u64 {
        // Date.now() is a whole, non-negative number of milliseconds.
        js_sys::Date::now() as u64
    }
}

/// Default number of cache entries.
const DEFAULT_CAPACITY: u64 = 1000;

/// The caching materials manager: `new CachingMaterialsManager({ keyring, capacity?,
/// maxAge, maxMessagesEncrypted?, maxBytesEncrypted?, partition? })`, `maxAge` in
/// milliseconds. Encryption reuses cached data keys only when the plaintext length is
/// known (always for `encrypt`; for `encryptStream` pass `plaintextLength`).
#[wasm_bindgen]
pub struct CachingMaterialsManager {
    inner: Arc<CachingCmm>,
}

#[wasm_bindgen]
impl CachingMaterialsManager {
    /// Creates the materials manager; throws a `KmsError` for bad options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(
            unchecked_param_type = "{ keyring: Keyring, capacity?: number, maxAge: number, maxMessagesEncrypted?: number, maxBytesEncrypted?: number, partition?: string }"
        )]
        options: JsValue,
    ) -> Result<CachingMaterialsManager, JsValue> {
        let keyring =
            keyring_of(&field(&options, "keyring").unwrap_or(JsValue::UNDEFINED), "keyring")?;
        let capacity = uint_field(&options, "capacity", 1 << 20)?.unwrap_or(DEFAULT_CAPACITY);
        if capacity == 0 {
            return Err(invalid("capacity must be at least 1"));
        }
        let max_age = uint_field(&options, "maxAge", u64::MAX)?
            .ok_or_else(|| invalid("maxAge (milliseconds) is required"))?;
        // capacity is at most 2^20 (checked above), so it fits in usize.
        let cache = Arc::new(LocalCryptographicMaterialsCache::new(capacity as usize));
        let mut builder = CachingCmm::builder_with_keyring(
            keyring,
            cache,
            Arc::new(DateClock),
            Duration::from_millis(max_age),
        );
        if let Some(n) = uint_field(&options, "maxMessagesEncrypted", MAX_LIMIT_MESSAGES)? {
            builder = builder.limit_messages(n);
        }
        if let Some(n) = uint_field(&options, "maxBytesEncrypted", DEFAULT_LIMIT_BYTES)? {
            builder = builder.limit_bytes(n);
        }
        if let Some(p) = string_field(&options, "partition")? {
            builder = builder.partition_id(p);
        }
        Ok(CachingMaterialsManager { inner: Arc::new(builder.build().map_err(from_envelope)?) })
    }

    #[doc(hidden)]
    #[wasm_bindgen(js_name = "__handle", skip_typescript)]
    pub fn handle(&self) {
        hand_over(Shared::Cmm(self.inner.clone()));
    }

    /// Counters since creation: `{ hits, misses, bypasses, kmsCalls }` (`kmsCalls` counts
    /// calls to the keyring, which for KMS keyrings means KMS requests).
    #[wasm_bindgen(
        unchecked_return_type = "{ hits: number, misses: number, bypasses: number, kmsCalls: number }"
    )]
    pub fn stats(&self) -> Object {
        let s = self.inner.stats();
        let out = Object::new();
        set(&out, "hits", &(s.hits as f64).into());
        set(&out, "misses", &(s.misses as f64).into());
        set(&out, "bypasses", &(s.bypasses as f64).into());
        set(&out, "kmsCalls", &(s.underlying_calls as f64).into());
        out
    }
}
