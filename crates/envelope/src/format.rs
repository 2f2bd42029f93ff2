//! The message format (spec `data-format/message.md`): a header, a body of frames (or
//! one non-framed block), and a footer for signed suites.
//!
//! Each part is parsed and serialised in one file: [`header`], [`frame`], [`footer`].
//! [`parse_message`] reads a whole message without any key, checking structure only
//! (lengths, sequence numbers, IVs, trailing bytes); it is what the fuzz target and
//! the test-vector parsing run.

pub mod footer;
pub mod frame;
pub mod header;

pub use footer::Footer;
pub use frame::{BodyAad, BodyAadContent, Frame, FrameSequence, NonFramedBody};
pub use header::{
    deserialize_encryption_context, serialize_encryption_context, ContentType, HeaderLimits,
    MessageHeader, MessageId, ParsedHeader,
};

use crate::codec::{Codec, Reader};
use crate::error::{Error, Malformed};

/// A whole message parsed without keys, borrowing the body from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedMessage<'a> {
    /// The header.
    pub header: MessageHeader,
    /// Length of the header body (the bytes the header tag authenticates).
    pub header_body_len: usize,
    /// Length of the whole header.
    pub header_len: usize,
    /// The body.
    pub body: ParsedBody<'a>,
    /// The footer (present exactly when the suite signs).
    pub footer: Option<Footer<'a>>,
}

/// A parsed message body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedBody<'a> {
    /// Non-framed content.
    NonFramed(NonFramedBody<'a>),
    /// Frames, the last one final.
    Framed(Vec<Frame<'a>>),
}

impl ParsedMessage<'_> {
    /// The message serialised again (byte-identical to the input for any message
    /// whose encryption context pairs were sorted, as the spec requires).
    ///
    /// # Errors
    /// As [`MessageHeader::encode`].
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        self.header.encode(&mut out)?;
        match &self.body {
            ParsedBody::NonFramed(b) => b.encode(&mut out),
            ParsedBody::Framed(frames) => frames.iter().for_each(|f| f.encode(&mut out)),
        }
        if let Some(footer) = &self.footer {
            footer.encode(&mut out)?;
        }
        Ok(out)
    }

    /// The total length of the encrypted content (equal to the plaintext length).
    pub fn content_len(&self) -> u64 {
        match &self.body {
            ParsedBody::NonFramed(b) => b.ciphertext.len() as u64,
            ParsedBody::Framed(frames) => frames.iter().map(|f| f.ciphertext.len() as u64).sum(),
        }
    }
}

/// Parses a complete message without decrypting anything. The message must fill
/// `data` exactly.
///
/// # Errors
/// [`Error::Malformed`] (with [`Malformed::Truncated`] if `data` ends early and
/// [`Malformed::TrailingBytes`] if bytes follow the message), [`Error::UnsupportedSuite`],
/// or [`Error::TooManyEncryptedDataKeys`].
pub fn parse_message<'a>(
    data: &'a [u8],
    limits: &HeaderLimits,
) -> Result<ParsedMessage<'a>, Error> {
    let parsed = MessageHeader::parse(data, limits)?;
    let mut r = Reader::new(&data[parsed.len..]);
    let body = match parsed.header.content_type {
        ContentType::NonFramed => ParsedBody::NonFramed(NonFramedBody::read(&mut r)?),
        ContentType::Framed => {
            let mut seq = FrameSequence::new(parsed.header.frame_length);
            let mut frames = Vec::new();
            while !seq.is_finished() {
                frames.push(seq.read_next(&mut r)?);
            }
            ParsedBody::Framed(frames)
        }
    };
    let footer = if parsed.header.suite.is_signed() { Some(Footer::read(&mut r)?) } else { None };
    if !r.is_empty() {
        return Err(Malformed::TrailingBytes.into());
    }
    Ok(ParsedMessage {
        header: parsed.header,
        header_body_len: parsed.body_len,
        header_len: parsed.len,
        body,
        footer,
    })
}
