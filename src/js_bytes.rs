//! Byte buffers: those kept in JavaScript memory, so that wasm memory holds only a bounded
//! piece of a message at a time (wasm memory grows but never shrinks) — a snapshot of an
//! input argument, read in pieces, and the pieces of an output, joined at the end — and
//! the wasm buffers that hold plaintext, wiped fast.

use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::invalid_named;

/// Inputs go into wasm memory this many bytes at a time. (Copied in whole, a 16 MiB
/// one-shot message grew the module's memory from 1 to 50 MiB, for good.)
pub(crate) const PIECE_BYTES: u32 = 1 << 20;

/// `(start, end)` of each piece of a `len`-byte input.
pub(crate) fn pieces(len: u32) -> impl Iterator<Item = (u32, u32)> {
    (0..len).step_by(PIECE_BYTES as usize).map(move |start| (start, len.min(start + PIECE_BYTES)))
}

/// This call's own copy of a `Uint8Array` argument, taken before the call returns, so the
/// caller may reuse its array while the Promise is pending. A secret snapshot is wiped when
/// dropped.
pub(crate) struct Snapshot {
    array: Uint8Array,
    secret: bool,
}

impl Snapshot {
    /// Copies `value`, which must be a `Uint8Array` (`what` names it in the error).
    pub(crate) fn new(value: &JsValue, what: &str, secret: bool) -> Result<Self, JsValue> {
        let array = value
            .dyn_ref::<Uint8Array>()
            .ok_or_else(|| invalid_named(what, " must be a Uint8Array"))?;
        // `new Uint8Array(array)` always copies (`slice` would not: Node's `Buffer`
        // overrides it with a view, and a secret snapshot is wiped after use).
        Ok(Self { array: Uint8Array::new(array), secret })
    }

    /// The length in bytes.
    pub(crate) fn len(&self) -> u32 {
        self.array.length()
    }

    /// Bytes `start..end` as a view of this snapshot (JavaScript memory, no copy).
    pub(crate) fn view(&self, start: u32, end: u32) -> Uint8Array {
        self.array.subarray(start, end)
    }

    /// A copy of bytes `start..end` in wasm memory (written once: no zero-filling first).
    pub(crate) fn read(&self, start: u32, end: u32) -> Vec<u8> {
        self.array.subarray(start, end).to_vec()
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        if self.secret {
            self.array.fill(0, 0, self.array.length());
        }
    }
}

/// The pieces of one output in JavaScript memory, in order. Plaintext pieces are wiped
/// once joined, or when dropped (a failed call).
pub(crate) struct JsParts {
    parts: Vec<Uint8Array>,
    secret: bool,
}

impl JsParts {
    /// Pieces of plaintext.
    pub(crate) fn plaintext() -> Self {
        Self { parts: Vec::new(), secret: true }
    }

    /// Pieces of ciphertext.
    pub(crate) fn ciphertext() -> Self {
        Self { parts: Vec::new(), secret: false }
    }

    /// Appends a piece.
    pub(crate) fn push(&mut self, part: Uint8Array) {
        if part.length() > 0 {
            self.parts.push(part);
        }
    }

    /// Appends `more`, emptying it.
    pub(crate) fn append(&mut self, more: &mut Vec<Uint8Array>) {
        self.parts.append(more);
    }

    /// Appends a copy of `bytes` from wasm memory.
    pub(crate) fn push_bytes(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.parts.push(Uint8Array::from(bytes));
        }
    }

    /// Whether no piece has been added.
    pub(crate) fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// All pieces as one array.
    pub(crate) fn join(mut self) -> Uint8Array {
        if self.parts.len() == 1 {
            // A single piece is returned as it is: nothing to wipe.
            return self.parts.remove(0);
        }
        let total: u32 = self.parts.iter().map(Uint8Array::length).sum();
        let whole = Uint8Array::new_with_length(total);
        let mut at = 0;
        for part in &self.parts {
            whole.set(part, at);
            at += part.length();
        }
        whole
    }
}

impl Drop for JsParts {
    fn drop(&mut self) {
        if self.secret {
            for part in &self.parts {
                part.fill(0, 0, part.length());
            }
        }
    }
}

/// A wasm-memory buffer that may hold plaintext, wiped (its whole capacity) when dropped.
///
/// `Zeroizing<Vec<u8>>` wipes a `Vec` one volatile byte store at a time (zeroize 1.9 walks
/// the elements), which on wasm32 cost 10-18% of a WebCrypto-path stream (Node CPU
/// profile); a slice is wiped 16 bytes per volatile store.
#[derive(Default)]
pub(crate) struct SecretBuf(Vec<u8>);

impl From<Vec<u8>> for SecretBuf {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl std::ops::Deref for SecretBuf {
    type Target = Vec<u8>;

    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl std::ops::DerefMut for SecretBuf {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

impl Drop for SecretBuf {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// Wipes a buffer, its spare capacity too, and empties it.
pub(crate) use kms_envelope::crypto::wipe_vec as wipe;
