//! `encryptStream` / `decryptStream`: WHATWG `TransformStream`s of `Uint8Array` chunks.
//!
//! Memory stays bounded by one frame plus one input chunk, whatever the message length.
//! Decryption releases each frame once its tag verifies; for signed suites the final
//! frame is released only after the signature has verified (in `flush`). A stream that
//! fails errors both sides; plaintext already read from a failed signed stream must be
//! discarded.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Uint8Array};
use kms_envelope::{Decryptor, Encryptor};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::convert::{context_field, field, header_to_js, promise, set};
use crate::ec;
use crate::error::{from_envelope, invalid};
use crate::handle::cmm_of;
use crate::js_bytes::{pieces, wipe, JsParts, SecretBuf, Snapshot};
use crate::message::{decrypt_config, encrypt_config};
use crate::subtle_aead::{Bulk, BulkMode};
use crate::typings::{options_or_undefined, DecryptStreamOptions, EncryptStreamOptions};
use crate::websign;

#[wasm_bindgen]
extern "C" {
    /// A WHATWG `TransformStream` (browsers and Node 18+).
    #[wasm_bindgen(typescript_type = "TransformStream<Uint8Array, Uint8Array>")]
    pub type TransformStream;
    #[wasm_bindgen(catch, constructor)]
    fn new(transformer: &Object) -> Result<TransformStream, JsValue>;

    /// `TransformStreamDefaultController`.
    type Controller;
    #[wasm_bindgen(method, catch)]
    fn enqueue(this: &Controller, chunk: &JsValue) -> Result<(), JsValue>;
}

/// Sends plaintext downstream as a new `Uint8Array` and wipes the wasm copy.
fn emit(controller: &Controller, bytes: &mut Vec<u8>) -> Result<(), JsValue> {
    let sent = emit_public(controller, bytes);
    wipe(bytes);
    sent
}

/// Sends the pieces gathered in JavaScript memory downstream as one `Uint8Array`.
fn send(controller: &Controller, parts: JsParts) -> Result<(), JsValue> {
    if parts.is_empty() {
        return Ok(());
    }
    controller.enqueue(&parts.join())
}

/// Sends ciphertext downstream as a new `Uint8Array`.
fn emit_public(controller: &Controller, bytes: &[u8]) -> Result<(), JsValue> {
    if bytes.is_empty() {
        return Ok(());
    }
    controller.enqueue(&Uint8Array::from(bytes))
}

/// Calls `options.onMessageHeader(header)` if given.
fn report_header(callback: &Option<Function>, header: &kms_envelope::format::MessageHeader) {
    if let Some(f) = callback {
        // The callback is the caller's; its exceptions do not stop the stream.
        let _ = f.call1(&JsValue::UNDEFINED, &header_to_js(header));
    }
}

fn header_callback(options: &JsValue) -> Result<Option<Function>, JsValue> {
    match field(options, "onMessageHeader") {
        None => Ok(None),
        Some(f) => f
            .dyn_into::<Function>()
            .map(Some)
            .map_err(|_| invalid("onMessageHeader must be a function")),
    }
}

fn transformer(
    start: Option<Closure<dyn FnMut(JsValue) -> Promise>>,
    transform: Closure<dyn FnMut(JsValue, JsValue) -> Promise>,
    flush: Closure<dyn FnMut(JsValue) -> Promise>,
) -> Object {
    let object = Object::new();
    if let Some(start) = start {
        set(&object, "start", &start.into_js_value());
    }
    set(&object, "transform", &transform.into_js_value());
    set(&object, "flush", &flush.into_js_value());
    object
}

fn done() -> Result<JsValue, JsValue> {
    Ok(JsValue::UNDEFINED)
}

/// A `TransformStream` from plaintext chunks to one message (bulk AES-GCM as for `encrypt`,
/// decided per chunk: large chunks go to WebCrypto). Options as for `encrypt`,
/// plus `plaintextLength` (the exact or maximum length, needed for the caching materials
/// manager to reuse data keys) and `onMessageHeader(header)`.
#[wasm_bindgen(js_name = encryptStream)]
pub fn encrypt_stream(
    #[wasm_bindgen(js_name = keyringOrCmm, unchecked_param_type = "Keyring | CachingMaterialsManager")]
    keyring_or_cmm: JsValue,
    options: Option<EncryptStreamOptions>,
) -> Result<TransformStream, JsValue> {
    let options = options_or_undefined(options);
    let cmm = cmm_of(&keyring_or_cmm)?;
    let config = encrypt_config(&options)?;
    let context = context_field(&options, "encryptionContext")?;
    let on_header = header_callback(&options)?;
    let bulk = Bulk::new(BulkMode::from_options(&options)?)?;
    let state: Rc<RefCell<Option<(Encryptor, Bulk)>>> = Rc::new(RefCell::new(None));

    let setup = Some((cmm, context, config, on_header, bulk));
    let setup = Rc::new(RefCell::new(setup));
    let start_state = state.clone();
    let start = Closure::new(move |_controller: JsValue| {
        let setup = setup.borrow_mut().take();
        let state = start_state.clone();
        promise(async move {
            let (cmm, context, config, on_header, bulk) =
                setup.ok_or_else(|| invalid("the stream already started"))?;
            let suite = config.suite.unwrap_or_else(|| config.commitment_policy.default_suite());
            // Signed suites: the signing key is made and used in the EC module.
            ec::ensure_if(suite.is_signed()).await?;
            let encryptor =
                Encryptor::new(cmm.as_ref(), context, &config).await.map_err(from_envelope)?;
            // Cached materials may hold a WebCrypto key made by a one-shot `encrypt`: the
            // stream signs a running hash, so that key goes to the EC module too.
            websign::prepare_prehash(encryptor.signing_key()).await?;
            report_header(&on_header, encryptor.header());
            *state.borrow_mut() = Some((encryptor, bulk));
            done()
        })
    });

    let transform_state = state.clone();
    let transform = Closure::new(move |chunk: JsValue, controller: JsValue| {
        let state = transform_state.clone();
        promise(async move {
            let input = Snapshot::new(&chunk, "each chunk", true)?;
            // Taken out for the await: the stream never runs two transforms at once. On
            // failure it is not put back, so the stream stays failed.
            let (mut encryptor, mut bulk) =
                state.borrow_mut().take().ok_or_else(|| invalid("the stream has ended"))?;
            let controller: &Controller = controller.unchecked_ref();
            for (start, end) in pieces(input.len()) {
                let piece = SecretBuf::from(input.read(start, end));
                let mut message = JsParts::ciphertext();
                bulk.encrypt(&mut encryptor, &piece, &mut message).await?;
                send(controller, message)?;
            }
            *state.borrow_mut() = Some((encryptor, bulk));
            done()
        })
    });

    let flush = Closure::new(move |controller: JsValue| {
        let state = state.clone();
        promise(async move {
            let (encryptor, mut bulk) =
                state.borrow_mut().take().ok_or_else(|| invalid("the stream has ended"))?;
            let mut message = JsParts::ciphertext();
            bulk.finish_encrypt(encryptor, &mut message).await?;
            send(controller.unchecked_ref(), message)?;
            done()
        })
    });

    TransformStream::new(&transformer(Some(start), transform, flush))
}

/// A promise settled with `result`.
fn settle(result: Result<JsValue, JsValue>) -> Promise {
    match result {
        Ok(v) => Promise::resolve(&v),
        Err(e) => Promise::reject(&e),
    }
}

/// A `TransformStream` from message chunks to plaintext. Options as for `decrypt`, plus
/// `onMessageHeader(header)`, called once the header has been verified.
#[wasm_bindgen(js_name = decryptStream)]
pub fn decrypt_stream(
    #[wasm_bindgen(js_name = keyringOrCmm, unchecked_param_type = "Keyring | CachingMaterialsManager")]
    keyring_or_cmm: JsValue,
    options: Option<DecryptStreamOptions>,
) -> Result<TransformStream, JsValue> {
    let options = options_or_undefined(options);
    let cmm = cmm_of(&keyring_or_cmm)?;
    let config = decrypt_config(&options)?;
    let on_header = header_callback(&options)?;
    let bulk = Bulk::new(BulkMode::from_options(&options)?)?;
    let state: Rc<RefCell<Option<(Decryptor<'static>, Bulk)>>> =
        Rc::new(RefCell::new(Some((Decryptor::new_shared(cmm, &config), bulk))));
    let reported = Rc::new(RefCell::new(false));
    let peek = Rc::new(RefCell::new(ec::SignedPeek::default()));

    let transform_state = state.clone();
    let transform = Closure::new(move |chunk: JsValue, controller: JsValue| {
        let state = transform_state.clone();
        let on_header = on_header.clone();
        let reported = reported.clone();
        let peek = peek.clone();
        promise(async move {
            let input = Snapshot::new(&chunk, "each chunk", false)?;
            // Taken out for the await: the stream never runs two transforms at once.
            let (mut decryptor, mut bulk) =
                state.borrow_mut().take().ok_or_else(|| invalid("the stream has ended"))?;
            let controller: &Controller = controller.unchecked_ref();
            let mut out = SecretBuf::default();
            for (start, end) in pieces(input.len()) {
                let piece = input.read(start, end);
                // A signed message's signature is checked in the EC module.
                if !ec::ec_module_loaded() {
                    let signed = peek.borrow_mut().feed(&piece) == Some(true);
                    ec::ensure_if(signed).await?;
                }
                bulk.decrypt(&mut decryptor, &piece, &mut out).await?;
                if !*reported.borrow() {
                    if let Some(header) = decryptor.header() {
                        *reported.borrow_mut() = true;
                        report_header(&on_header, header);
                    }
                }
                // One path per piece: Rust output or WebCrypto output, never both.
                emit(controller, &mut out)?;
                let mut released = JsParts::plaintext();
                bulk.move_released(&mut released);
                send(controller, released)?;
            }
            *state.borrow_mut() = Some((decryptor, bulk));
            done()
        })
    });

    let flush = Closure::new(move |controller: JsValue| {
        let result = (|| {
            let (decryptor, mut bulk) =
                state.borrow_mut().take().ok_or_else(|| invalid("the stream has ended"))?;
            let mut out = SecretBuf::default();
            decryptor.finish(&mut out).map_err(from_envelope)?;
            // The signature has verified: the held final piece may go.
            let controller: &Controller = controller.unchecked_ref();
            emit(controller, &mut out)?;
            if let Some(chunk) = bulk.take_held() {
                controller.enqueue(&chunk)?;
            }
            done()
        })();
        settle(result)
    });

    TransformStream::new(&transformer(None, transform, flush))
}
