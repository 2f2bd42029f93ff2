//! Incremental encryption and decryption with memory bounded by the frame length,
//! whatever the message length (spec `client-apis/streaming.md`).
//!
//! The caller moves the bytes: each call takes a slice and appends output to a
//! `Vec<u8>` it owns. The final call consumes the encryptor or decryptor, so nothing
//! can follow it.
//!
//! ```text
//! let mut e = Encryptor::new(&cmm, context, &EncryptConfig::default()).await?;
//! e.update(b"part one", &mut out)?;     // header, then each frame once full
//! e.update(b"part two", &mut out)?;
//! e.finish(&mut out)?;                  // final frame and footer
//!
//! let mut d = Decryptor::new(&cmm, &DecryptConfig::default());
//! d.update(&out[..10], &mut plain).await?;  // the header triggers the materials call
//! d.update(&out[10..], &mut plain).await?;  // frames, released once their tag verifies
//! let info = d.finish(&mut plain)?;         // fails on truncation; releases held plaintext
//! ```
//!
//! [`external`] lets an AES-GCM outside this crate (WebCrypto) seal and open the frames.

mod decrypt;
mod encrypt;
pub mod external;

pub use decrypt::{Decryptor, DetachedSignature};
pub use encrypt::Encryptor;

use crate::format::MessageHeader;
use crate::materials::EncryptionContext;
use crate::suite::AlgorithmSuite;

/// What a decryptor learned about the message, returned by [`Decryptor::finish`].
#[derive(Debug, Clone)]
pub struct MessageInfo {
    /// The message's algorithm suite.
    pub suite: &'static AlgorithmSuite,
    /// The encryption context that was authenticated: the stored pairs plus any
    /// reproduced pairs that were not stored.
    pub encryption_context: EncryptionContext,
    /// The parsed header.
    pub header: MessageHeader,
}
