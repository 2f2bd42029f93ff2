//! Bulk AES-GCM through WebCrypto (`globalThis.crypto.subtle`, in browsers and Node 20+).
//!
//! Pure-Rust AES-GCM compiled to wasm32 runs at 20-35 MB/s here; WebCrypto's runs natively,
//! but every call costs a Promise and a thread hop (measured: 20-45 us per call in Node 20
//! and Chromium 156, whatever the size up to a few KiB). So large pieces of a message go to
//! WebCrypto, frame by frame through kms-envelope's external-AEAD API
//! (`kms_envelope::stream::external`), with all frames of a batch issued before any is
//! awaited; small pieces, small frames, and runtimes without `crypto.subtle` (such as
//! pages on plain HTTP) stay on the Rust path. Both paths write the same bytes.
//!
//! The derived content key is imported once per message as a non-extractable AES-GCM
//! `CryptoKey`; the wasm copy and the JavaScript copy of its bytes are zeroized as soon as
//! `importKey` has read them. Every frame's tag is checked by WebCrypto's `decrypt`, which
//! rejects on a bad tag: that becomes `DecryptionFailed`, as on the Rust path, and nothing
//! of that batch is released. What WebCrypto returns stays in JavaScript memory: opened
//! plaintext (released in order as kms-envelope allows: a signed message's final piece only
//! after the signature verifies) and, for unsigned suites, sealed frames (kms-envelope writes
//! the header and frame prefixes around them). Signed suites copy sealed frames through wasm
//! memory, where the signature's running hash needs them.

use js_sys::{Array, ArrayBuffer, Promise, Reflect, Uint8Array};
use kms_envelope::format::{ContentType, HeaderLimits, MessageHeader};
use kms_envelope::stream::external::{ContentKeyBytes, FrameParams, Release};
use kms_envelope::{Decryptor, Encryptor, Error};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AesGcmParams, CryptoKey, SubtleCrypto};

use crate::convert::field;
use crate::error::{from_envelope, invalid};
use crate::js_bytes::JsParts;

/// Below this many bytes in one call, the Rust path is used: it saves the key import and
/// the Promise round trips. Measured (scripts/bench-wasm, BENCH_BULK=rust,webcrypto, 0x0478,
/// one-shot, MB/s best [median], 2 cores at load 9): at 512 B Rust is ahead in Chromium
/// (7.8 [5.2] vs 5.3 [2.2]) and level in Node; at 1 KiB they are level (Node 4.4 [3.2] vs
/// 6.6 [5.6], Chromium 3.5 [2.8] vs 7.6 [2.8]); at 2 KiB WebCrypto leads in Node (11.7 [11.5]
/// vs 11.2 [3.7]) and is level in Chromium; at 4 KiB it is 2-3 times faster in both.
const WEBCRYPTO_MIN_BYTES: usize = 2 * 1024;

/// Frames shorter than this stay on the Rust path: per frame, WebCrypto's fixed cost
/// (20-45 us measured here) exceeds what Rust spends on that many bytes (about 40 us per
/// KiB).
const WEBCRYPTO_MIN_FRAME_BYTES: usize = 1024;

/// At most this many plaintext bytes in flight per batch (all its frames are issued, then
/// awaited together): enough to keep WebCrypto's worker threads busy, small enough to
/// bound memory. Measured (0x0478, 4 KiB frames, MB/s best [median], load 7-8): Node 1 MiB
/// one-shot 184 [142] encrypt / 192 [100] decrypt with 1 MiB batches against 74 [33] /
/// 137 [68] awaiting each frame in turn and 97 [46] / 164 [98] with 64 KiB batches;
/// Chromium was level within the noise (198 [45] / 226 [72], 111 [34] / 184 [64],
/// 189 [103] / 186 [97]).
const BATCH_BYTES: usize = 1 << 20;

/// Which AES-GCM runs the bulk of a message: option `bulkCrypto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BulkMode {
    /// WebCrypto for large pieces when it exists, Rust otherwise (the default).
    Auto,
    /// Rust only.
    Rust,
    /// WebCrypto for every frame; fails where `crypto.subtle` is missing.
    WebCrypto,
}

impl BulkMode {
    /// `options.bulkCrypto`: `"auto"` (default), `"rust"` or `"webcrypto"`.
    pub(crate) fn from_options(options: &JsValue) -> Result<Self, JsValue> {
        match field(options, "bulkCrypto").map(|v| v.as_string()) {
            None => Ok(BulkMode::Auto),
            Some(Some(s)) if s == "auto" => Ok(BulkMode::Auto),
            Some(Some(s)) if s == "rust" => Ok(BulkMode::Rust),
            Some(Some(s)) if s == "webcrypto" => Ok(BulkMode::WebCrypto),
            Some(_) => Err(invalid("bulkCrypto must be \"auto\", \"rust\" or \"webcrypto\"")),
        }
    }
}

/// `globalThis.crypto.subtle`, if this runtime has it.
fn global_subtle() -> Option<SubtleCrypto> {
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).ok()?;
    if !crypto.is_object() {
        return None;
    }
    let subtle = Reflect::get(&crypto, &"subtle".into()).ok()?;
    subtle.is_object().then(|| subtle.unchecked_into())
}

/// A message's content key inside WebCrypto.
struct SubtleKey {
    subtle: SubtleCrypto,
    key: CryptoKey,
}

impl SubtleKey {
    /// Imports `bytes` as a non-extractable AES-GCM key for encrypt and decrypt.
    async fn import(subtle: SubtleCrypto, bytes: ContentKeyBytes) -> Result<Self, JsValue> {
        let js_bytes = Uint8Array::from(bytes.expose_secret());
        drop(bytes);
        let usages = Array::of2(&"encrypt".into(), &"decrypt".into());
        // importKey copies the key data before returning (WebCrypto spec, step 1 of the
        // method), so the JavaScript copy is wiped at once, whatever happens next.
        let imported = subtle.import_key_with_str("raw", &js_bytes, "AES-GCM", false, &usages);
        js_bytes.fill(0, 0, js_bytes.length());
        let key = JsFuture::from(imported?).await?;
        Ok(Self { subtle, key: key.unchecked_into() })
    }

    fn params(frame: &FrameParams) -> AesGcmParams {
        let params = AesGcmParams::new_with_u8_array("AES-GCM", &Uint8Array::from(&frame.iv()[..]));
        params.set_additional_data_u8_array(&Uint8Array::from(frame.aad()));
        params
    }

    /// Starts sealing one frame: a Promise of `ciphertext || tag`. WebCrypto copies
    /// `plaintext` before returning.
    fn seal(&self, frame: &FrameParams, plaintext: &[u8]) -> Result<Promise, JsValue> {
        self.subtle.encrypt_with_object_and_u8_array(&Self::params(frame), &self.key, plaintext)
    }

    /// Starts opening one frame (`ciphertext || tag`): a Promise of the plaintext that
    /// rejects if the tag does not verify.
    fn open(&self, frame: &FrameParams, sealed: &[u8]) -> Result<Promise, JsValue> {
        self.subtle.decrypt_with_object_and_u8_array(&Self::params(frame), &self.key, sealed)
    }
}

/// Chooses the AES-GCM for each piece of one message and holds its WebCrypto key, and the
/// plaintext WebCrypto opened: it stays in JavaScript memory (it never enters wasm memory,
/// so there is no wasm copy to wipe), in message order, until the caller releases it.
pub(crate) struct Bulk {
    mode: BulkMode,
    subtle: Option<SubtleCrypto>,
    key: Option<SubtleKey>,
    /// Opened frames whose tags verified, not yet handed to the caller.
    released: Vec<Uint8Array>,
    /// The final piece of a signed message: only after the signature verifies.
    held: Option<Uint8Array>,
}

impl Drop for Bulk {
    /// Plaintext WebCrypto opened and nobody took (the call failed: a tag, the signature or
    /// the transport) is zero-filled, like the wasm-side buffers.
    fn drop(&mut self) {
        for piece in self.released.drain(..).chain(self.held.take()) {
            piece.fill(0, 0, piece.length());
        }
    }
}

impl Bulk {
    /// # Errors
    /// `ValidationException` if `mode` is `WebCrypto` and this runtime has no WebCrypto.
    pub(crate) fn new(mode: BulkMode) -> Result<Self, JsValue> {
        let subtle = match mode {
            BulkMode::Rust => None,
            BulkMode::Auto => global_subtle(),
            BulkMode::WebCrypto => Some(
                global_subtle()
                    .ok_or_else(|| invalid("bulkCrypto \"webcrypto\": crypto.subtle is missing"))?,
            ),
        };
        Ok(Self { mode, subtle, key: None, released: Vec::new(), held: None })
    }

    /// Whether `len` bytes in frames of `frame_len` (if known) go to WebCrypto.
    fn use_webcrypto(&self, len: usize, frame_len: Option<usize>) -> bool {
        match (self.mode, &self.subtle) {
            (_, None) | (BulkMode::Rust, _) => false,
            (BulkMode::WebCrypto, Some(_)) => true,
            (BulkMode::Auto, Some(_)) => {
                len >= WEBCRYPTO_MIN_BYTES
                    && frame_len.is_none_or(|f| f >= WEBCRYPTO_MIN_FRAME_BYTES)
            }
        }
    }

    /// The WebCrypto key, imported from `bytes` the first time.
    async fn key(&mut self, bytes: Option<ContentKeyBytes>) -> Result<&SubtleKey, JsValue> {
        if self.key.is_none() {
            let (Some(subtle), Some(bytes)) = (self.subtle.clone(), bytes) else {
                return Err(from_envelope(Error::ApiMisuse("no content key for WebCrypto".into())));
            };
            self.key = Some(SubtleKey::import(subtle, bytes).await?);
        }
        // Set just above.
        self.key.as_ref().ok_or_else(|| invalid("no WebCrypto key"))
    }

    /// Encrypts `input` with `encryptor` (Rust or WebCrypto), appending the message bytes
    /// that are ready to `message`.
    pub(crate) async fn encrypt(
        &mut self,
        encryptor: &mut Encryptor,
        input: &[u8],
        message: &mut JsParts,
    ) -> Result<(), JsValue> {
        let frame_len = encryptor.header().frame_length as usize;
        let mut out = Vec::new();
        if !self.use_webcrypto(input.len() + encryptor.buffered_len(), Some(frame_len)) {
            encryptor.update(input, &mut out).map_err(from_envelope)?;
            message.push_bytes(&out);
            return Ok(());
        }
        let key_bytes = encryptor.take_content_key();
        let key = self.key(key_bytes).await?;
        // Whole frames per batch where possible.
        let step = (BATCH_BYTES / frame_len.max(1)).max(1).saturating_mul(frame_len);
        for piece in input.chunks(step.max(1)) {
            let mut frames = Vec::new();
            encryptor
                .update_external(piece, &mut |f, p| issue(&mut frames, f, key.seal(f, p)))
                .map_err(from_envelope)?;
            write_sealed_batch(encryptor, frames, message).await?;
        }
        Ok(())
    }

    /// Writes the final frame and the footer to `message`.
    pub(crate) async fn finish_encrypt(
        &mut self,
        mut encryptor: Encryptor,
        message: &mut JsParts,
    ) -> Result<(), JsValue> {
        let frame_len = encryptor.header().frame_length as usize;
        if self.use_webcrypto(encryptor.buffered_len(), Some(frame_len)) {
            let key_bytes = encryptor.take_content_key();
            let key = self.key(key_bytes).await?;
            let mut frames = Vec::new();
            encryptor
                .finish_external(&mut |f, p| issue(&mut frames, f, key.seal(f, p)))
                .map_err(from_envelope)?;
            write_sealed_batch(&mut encryptor, frames, message).await?;
        }
        let mut out = Vec::new();
        encryptor.finish(&mut out).map_err(from_envelope)?;
        message.push_bytes(&out);
        Ok(())
    }

    /// Moves the plaintext opened by WebCrypto since the last call to `parts`.
    pub(crate) fn move_released(&mut self, parts: &mut JsParts) {
        parts.append(&mut self.released);
    }

    /// The final piece of a signed message. Call only once the decryptor's `finish` has
    /// succeeded: that is when the signature has verified.
    pub(crate) fn take_held(&mut self) -> Option<Uint8Array> {
        self.held.take()
    }

    /// Decrypts `input` with `decryptor`: on the Rust path released plaintext is appended
    /// to `out`; on the WebCrypto path it stays in JavaScript memory, for
    /// [`Bulk::move_released`] and [`Bulk::take_held`].
    pub(crate) async fn decrypt(
        &mut self,
        decryptor: &mut Decryptor<'_>,
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), JsValue> {
        // Before the header has been read, peek at it for the frame length.
        let frame_len = match decryptor.header() {
            Some(header) => body_frame_len(header),
            None => MessageHeader::parse(input, &HeaderLimits::default())
                .ok()
                .and_then(|parsed| body_frame_len(&parsed.header)),
        };
        if !self.use_webcrypto(input.len(), frame_len) {
            return decryptor.update(input, out).await.map_err(from_envelope);
        }
        for piece in input.chunks(BATCH_BYTES) {
            // Frames that arrive with the header come before the key exists: they are
            // copied and opened once it is imported; later ones are opened at once.
            let mut frames = Vec::new();
            let mut waiting: Vec<(FrameParams, Vec<u8>)> = Vec::new();
            let key = self.key.as_ref();
            decryptor
                .update_external(piece, &mut |f, s| match key {
                    Some(key) => issue(&mut frames, f, key.open(f, s)),
                    None => {
                        waiting.push((f.clone(), s.to_vec()));
                        Ok(())
                    }
                })
                .await
                .map_err(from_envelope)?;
            if !waiting.is_empty() {
                let key_bytes = decryptor.take_content_key();
                let key = self.key(key_bytes).await?;
                for (f, s) in waiting {
                    issue(&mut frames, &f, key.open(&f, &s)).map_err(from_envelope)?;
                }
            }
            self.take_opened_batch(decryptor, frames).await?;
        }
        Ok(())
    }

    /// Awaits a batch of WebCrypto decryptions and keeps their plaintext, in order.
    async fn take_opened_batch(
        &mut self,
        decryptor: &mut Decryptor<'_>,
        frames: Vec<(FrameParams, Promise)>,
    ) -> Result<(), JsValue> {
        if frames.is_empty() {
            return Ok(());
        }
        // WebCrypto rejects a frame whose tag does not verify: opaque, as on the Rust path.
        let results =
            settle_all(&frames).await.map_err(|_| from_envelope(Error::DecryptionFailed))?;
        for (i, (frame, _)) in frames.iter().enumerate() {
            let buffer = results.get(i as u32);
            let buffer =
                buffer.dyn_ref::<ArrayBuffer>().ok_or_else(|| invalid("WebCrypto result"))?;
            let plaintext = Uint8Array::new(buffer);
            if plaintext.length() as usize != frame.plaintext_len() {
                return Err(invalid("WebCrypto returned a plaintext of the wrong length"));
            }
            match decryptor.release_opened(frame).map_err(from_envelope)? {
                Release::Now => self.released.push(plaintext),
                Release::AfterFinish => self.held = Some(plaintext),
            }
        }
        Ok(())
    }
}

/// The frame length, or `None` for a non-framed body (one piece as long as the message).
fn body_frame_len(header: &MessageHeader) -> Option<usize> {
    match header.content_type {
        ContentType::Framed => Some(header.frame_length as usize),
        ContentType::NonFramed => None,
    }
}

/// Records a frame whose WebCrypto call has started.
fn issue(
    frames: &mut Vec<(FrameParams, Promise)>,
    frame: &FrameParams,
    call: Result<Promise, JsValue>,
) -> Result<(), Error> {
    // A synchronous throw means WebCrypto refused the arguments (never a bad tag).
    let promise = call.map_err(|e| Error::ApiMisuse(format!("WebCrypto: {}", describe(&e))))?;
    frames.push((frame.clone(), promise));
    Ok(())
}

fn describe(error: &JsValue) -> String {
    js_sys::JSON::stringify(error).ok().and_then(|s| s.as_string()).unwrap_or_default()
}

/// Awaits every frame of a batch together; the results in order.
async fn settle_all(frames: &[(FrameParams, Promise)]) -> Result<Array, JsValue> {
    let promises: Array = frames.iter().map(|(_, p)| JsValue::from(p)).collect();
    let results = JsFuture::from(Promise::all(&promises)).await?;
    Ok(results.unchecked_into())
}

/// Awaits a batch of WebCrypto encryptions and appends the frames to `message`. Unsigned
/// suites keep the sealed bytes in JavaScript memory (only the frame prefixes come from
/// wasm); a signature must hash them, so signed suites copy them through wasm.
async fn write_sealed_batch(
    encryptor: &mut Encryptor,
    frames: Vec<(FrameParams, Promise)>,
    message: &mut JsParts,
) -> Result<(), JsValue> {
    if frames.is_empty() {
        return Ok(());
    }
    let results = settle_all(&frames).await.map_err(|e| {
        from_envelope(Error::ApiMisuse(format!("WebCrypto encrypt: {}", describe(&e))))
    })?;
    // A detached signature (websign.rs) hashes nothing here: no copy needed either.
    let signed = encryptor.signing_key().is_some();
    let mut out = Vec::new();
    for (i, (frame, _)) in frames.iter().enumerate() {
        let result = results.get(i as u32);
        let buffer = result.dyn_ref::<ArrayBuffer>().ok_or_else(|| invalid("WebCrypto result"))?;
        let sealed = Uint8Array::new(buffer);
        if signed {
            encryptor.write_sealed(frame, &sealed.to_vec(), &mut out).map_err(from_envelope)?;
        } else {
            let len = sealed.length() as usize;
            encryptor.write_sealed_prefix(frame, len, &mut out).map_err(from_envelope)?;
            message.push_bytes(&out);
            out.clear();
            message.push(sealed);
        }
    }
    message.push_bytes(&out);
    Ok(())
}
