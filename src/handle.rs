//! How one JS object of this package finds the Rust value inside another one passed in an
//! options object (`{ client }`, `{ keyring }`, `encrypt(keyringOrCmm, ..)`).
//!
//! Each class has a hidden `__handle()` method that hands a share of its inner value over
//! to the Rust call asking for it (a one-value slot, taken at once: JavaScript and this
//! module are single-threaded, so nothing runs in between). Cheaper in code than a handle
//! class whose object Rust would take over.

use std::cell::Cell;
use std::sync::Arc;

use js_sys::{Function, Reflect};
use kms_envelope::cmm::default::DefaultCmm;
use kms_envelope::cmm::CryptographicMaterialsManager;
use kms_envelope::keyring::Keyring;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{invalid, invalid_named};
use crate::transport::FetchKmsClient;

/// What a handle shares.
#[derive(Clone)]
pub(crate) enum Shared {
    Client(Arc<FetchKmsClient>),
    Keyring(Arc<dyn Keyring>),
    Cmm(Arc<dyn CryptographicMaterialsManager>),
}

thread_local! {
    /// The share the running `__handle()` call handed over, until [`shared_of`] takes it.
    static HANDED: Cell<Option<Shared>> = const { Cell::new(None) };
}

/// What `__handle()` does: hands `shared` over to the [`shared_of`] call running now.
pub(crate) fn hand_over(shared: Shared) {
    HANDED.with(|slot| slot.set(Some(shared)));
}

/// The shared value inside `value`, if it is one of this package's objects.
fn shared_of(value: &JsValue) -> Option<Shared> {
    let method = Reflect::get(value, &"__handle".into()).ok()?.dyn_into::<Function>().ok()?;
    // Empty the slot first: a `__handle` that hands nothing over must not find an old share
    // (one left by a direct call from JavaScript).
    HANDED.with(Cell::take);
    // `call1` with an ignored argument: the module imports `call1` anyway, `call0` not.
    method.call1(value, &JsValue::UNDEFINED).ok()?;
    HANDED.with(Cell::take)
}

/// The KMS client in `value` (a `KmsClient`).
pub(crate) fn client_of(value: &JsValue, what: &str) -> Result<Arc<FetchKmsClient>, JsValue> {
    match shared_of(value) {
        Some(Shared::Client(c)) => Ok(c),
        _ => Err(invalid_named(what, " must be a KmsClient")),
    }
}

/// The keyring in `value` (any keyring class).
pub(crate) fn keyring_of(value: &JsValue, what: &str) -> Result<Arc<dyn Keyring>, JsValue> {
    match shared_of(value) {
        Some(Shared::Keyring(k)) => Ok(k),
        _ => Err(invalid_named(what, " must be a keyring")),
    }
}

/// A materials manager from a keyring (wrapped in the default CMM) or a materials manager.
pub(crate) fn cmm_of(value: &JsValue) -> Result<Arc<dyn CryptographicMaterialsManager>, JsValue> {
    cmm_and_caching(value).map(|(cmm, _)| cmm)
}

/// [`cmm_of`], and whether `value` is a `CachingMaterialsManager`, from one `__handle` call
/// (a second call could be answered differently by a hostile object).
pub(crate) fn cmm_and_caching(
    value: &JsValue,
) -> Result<(Arc<dyn CryptographicMaterialsManager>, bool), JsValue> {
    match shared_of(value) {
        Some(Shared::Cmm(c)) => Ok((c, true)),
        Some(Shared::Keyring(k)) => Ok((Arc::new(DefaultCmm::new(k)), false)),
        _ => Err(invalid("expected a keyring or a CachingMaterialsManager")),
    }
}
