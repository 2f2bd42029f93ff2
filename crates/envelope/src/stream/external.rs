//! Frames sealed and opened by an AES-GCM outside this crate.
//!
//! [`crate::Encryptor`] and [`crate::Decryptor`] normally run AES-GCM themselves. In a
//! runtime with a much faster AES-GCM of its own (WebCrypto in a browser or Node, where
//! pure Rust compiled to wasm32 is 10-40 times slower), they can instead hand each frame
//! out: its IV, its body AAD (spec `data-format/message-body-aad.md`) and its bytes. The
//! caller seals (or opens) it with the message's derived content key
//! ([`ContentKeyBytes`], taken once per message) and gives the result back in order.
//! Everything else stays here, unchanged: the header and its tag, key commitment, frame
//! boundaries and serialisation, sequence numbers, the final-frame rules, the running
//! signature hash, and holding a signed message's final plaintext until the signature
//! verifies. The wire format is the same whichever side runs AES-GCM.
//!
//! ```text
//! encrypt: update_external(plaintext, seal)   seal(&frame, plaintext) for each full frame
//!          write_sealed(&frame, ct || tag, out)   in order, for each frame handed out
//!          finish_external(seal) + write_sealed(..), then finish(out) for the footer
//! decrypt: update_external(chunk, open).await   open(&frame, ct || tag) for each frame
//!          write_opened(&frame, plaintext, out)   in order, only after its tag verified
//!          (or release_opened(&frame): the caller keeps the plaintext, told when to release it)
//!          finish(out)
//! ```
//!
//! The callbacks run while the encryptor or decryptor is borrowed: they must use the
//! bytes before returning (WebCrypto copies its input when called) or copy them.

use crate::format::frame::BodyAad;
use crate::suite::IV_LEN_BYTES;

pub use crate::crypto::ContentKeyBytes;

/// When the plaintext of a frame opened outside may be released
/// ([`crate::Decryptor::release_opened`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// At once: its tag has verified and it is not the final piece of a signed message.
    Now,
    /// Only after [`crate::Decryptor::finish`] has succeeded: the final piece of a signed
    /// message, released only once the signature has verified.
    AfterFinish,
}

/// The AES-GCM tag length: a sealed frame is its plaintext length plus this.
pub const SEALED_OVERHEAD_BYTES: usize = crate::suite::TAG_LEN_BYTES;

/// What an external AES-GCM needs for one frame (or for a non-framed body), and where
/// it belongs in the message. Only encryptors and decryptors create them.
#[derive(Clone)]
pub struct FrameParams {
    pub(crate) sequence_number: u32,
    pub(crate) is_final: bool,
    pub(crate) iv: [u8; IV_LEN_BYTES],
    pub(crate) aad: BodyAad,
    pub(crate) len: usize,
}

impl FrameParams {
    /// The frame's sequence number (1 for a non-framed body).
    pub fn sequence_number(&self) -> u32 {
        self.sequence_number
    }

    /// Whether this is the final frame (or a non-framed body).
    pub fn is_final(&self) -> bool {
        self.is_final
    }

    /// The 12-byte IV.
    pub fn iv(&self) -> &[u8; IV_LEN_BYTES] {
        &self.iv
    }

    /// The additional authenticated data: the body AAD.
    pub fn aad(&self) -> &[u8] {
        self.aad.as_bytes()
    }

    /// The plaintext length; sealed, the frame is [`SEALED_OVERHEAD_BYTES`] longer.
    pub fn plaintext_len(&self) -> usize {
        self.len
    }

    /// Whether this frame belongs to the message with id `message_id`.
    pub(crate) fn belongs_to(&self, message_id: &[u8]) -> bool {
        self.aad.as_bytes().starts_with(message_id)
    }
}

impl std::fmt::Debug for FrameParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameParams")
            .field("sequence_number", &self.sequence_number)
            .field("is_final", &self.is_final)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// Receives each frame handed out: its parameters and its bytes (plaintext when
/// encrypting, ciphertext followed by the tag when decrypting). An error stops the call
/// and makes the encryptor or decryptor unusable. `Send` on native targets, so the
/// decryptor's futures stay `Send`.
#[cfg(not(target_arch = "wasm32"))]
pub type FrameCallback<'a> = dyn FnMut(&FrameParams, &[u8]) -> Result<(), crate::Error> + Send + 'a;

/// Receives each frame handed out: its parameters and its bytes (plaintext when
/// encrypting, ciphertext followed by the tag when decrypting). An error stops the call
/// and makes the encryptor or decryptor unusable.
#[cfg(target_arch = "wasm32")]
pub type FrameCallback<'a> = dyn FnMut(&FrameParams, &[u8]) -> Result<(), crate::Error> + 'a;
