//! The message body (spec `data-format/message-body.md`) and the body AAD (spec
//! `data-format/message-body-aad.md`).

use crate::codec::{invalid, put_u32, put_u64, ReadError, Reader};
use crate::error::Malformed;
use crate::suite::{IV_LEN_BYTES, TAG_LEN_BYTES};

/// The 4 bytes that open a final frame in place of a sequence number.
pub const SEQUENCE_NUMBER_END: u32 = 0xFFFF_FFFF;

/// The largest non-framed content: `2^36 - 32` bytes (AES-GCM's limit).
pub const NON_FRAMED_CONTENT_MAX_BYTES: u64 = (1 << 36) - 32;

/// The "Body AAD Content" string of a piece of the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyAadContent {
    /// A regular frame.
    Frame,
    /// The final frame.
    FinalFrame,
    /// Non-framed content.
    SingleBlock,
}

impl BodyAadContent {
    /// The UTF-8 string the spec assigns.
    pub fn as_bytes(self) -> &'static [u8] {
        match self {
            BodyAadContent::Frame => b"AWSKMSEncryptionClient Frame",
            BodyAadContent::FinalFrame => b"AWSKMSEncryptionClient Final Frame",
            BodyAadContent::SingleBlock => b"AWSKMSEncryptionClient Single Block",
        }
    }
}

/// The serialised body AAD: message id, content string, sequence number (`u32`),
/// content length (`u64`). Held on the stack.
#[derive(Clone)]
pub struct BodyAad {
    buf: [u8; 32 + 35 + 4 + 8],
    len: usize,
}

impl BodyAad {
    /// The AAD of one frame (or of the single non-framed block, with sequence number 1).
    ///
    /// `message_id` is 16 or 32 bytes long.
    pub fn new(message_id: &[u8], content: BodyAadContent, sequence_number: u32, len: u64) -> Self {
        let mut buf = [0u8; 32 + 35 + 4 + 8];
        let mut at = 0;
        for part in [
            message_id.get(..32).unwrap_or(message_id),
            content.as_bytes(),
            &sequence_number.to_be_bytes(),
            &len.to_be_bytes(),
        ] {
            buf[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        Self { buf, len: at }
    }

    /// The AAD bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// The IV of frame `sequence_number`: the number as a 12-byte big-endian integer.
pub fn frame_iv(sequence_number: u32) -> [u8; IV_LEN_BYTES] {
    let mut iv = [0u8; IV_LEN_BYTES];
    iv[IV_LEN_BYTES - 4..].copy_from_slice(&sequence_number.to_be_bytes());
    iv
}

/// One frame, borrowed from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The sequence number (1, 2, ...).
    pub sequence_number: u32,
    /// Whether this is the final frame.
    pub is_final: bool,
    /// The IV.
    pub iv: [u8; IV_LEN_BYTES],
    /// The encrypted content.
    pub ciphertext: &'a [u8],
    /// The authentication tag.
    pub tag: [u8; TAG_LEN_BYTES],
}

impl<'a> Frame<'a> {
    /// Reads one frame of a body with frame length `frame_length`. Checks only the
    /// frame's own structure; [`FrameSequence`] checks its place in the body.
    ///
    /// # Errors
    /// [`ReadError::Incomplete`] if the input ends inside the frame;
    /// [`ReadError::Malformed`] if a final frame is longer than the frame length.
    pub fn read(r: &mut Reader<'a>, frame_length: u32) -> Result<Self, ReadError> {
        let first = r.u32()?;
        let is_final = first == SEQUENCE_NUMBER_END;
        let sequence_number = if is_final { r.u32()? } else { first };
        let iv = r.array()?;
        let len = if is_final {
            let len = r.u32()?;
            if len > frame_length {
                return Err(invalid("final frame content length (exceeds the frame length)"));
            }
            len
        } else {
            frame_length
        };
        let ciphertext = r.bytes(to_usize(u64::from(len))?)?;
        let tag = r.array()?;
        Ok(Frame { sequence_number, is_final, iv, ciphertext, tag })
    }

    /// Appends the frame.
    pub fn encode(&self, out: &mut Vec<u8>) {
        encode_frame_prefix(out, self.sequence_number, self.is_final, self.ciphertext.len());
        out.extend_from_slice(self.ciphertext);
        out.extend_from_slice(&self.tag);
    }

    /// The body AAD of this frame.
    pub fn aad(&self, message_id: &[u8]) -> BodyAad {
        let content =
            if self.is_final { BodyAadContent::FinalFrame } else { BodyAadContent::Frame };
        BodyAad::new(message_id, content, self.sequence_number, self.ciphertext.len() as u64)
    }
}

/// Appends everything of a frame before its encrypted content: the end marker (final
/// frame), sequence number, IV (derived from the sequence number) and content length
/// (final frame).
pub fn encode_frame_prefix(out: &mut Vec<u8>, sequence_number: u32, is_final: bool, len: usize) {
    if is_final {
        put_u32(out, SEQUENCE_NUMBER_END);
    }
    put_u32(out, sequence_number);
    out.extend_from_slice(&frame_iv(sequence_number));
    if is_final {
        // Callers never pass more than the frame length, itself a `u32`.
        put_u32(out, u32::try_from(len).unwrap_or(u32::MAX));
    }
}

/// Tracks the frames of one body: sequence numbers from 1 up by one, IVs equal to the
/// sequence number, exactly one final frame, last.
#[derive(Debug, Clone)]
pub struct FrameSequence {
    frame_length: u32,
    read: u32,
    finished: bool,
}

impl FrameSequence {
    /// A body with frame length `frame_length` whose first frame is yet to come.
    pub fn new(frame_length: u32) -> Self {
        Self { frame_length, read: 0, finished: false }
    }

    /// Whether the final frame has been read.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// How many frames have been read.
    pub fn frames_read(&self) -> u32 {
        self.read
    }

    /// Reads the next frame and checks its sequence number and IV. On an error nothing
    /// changes, so a read that was [`ReadError::Incomplete`] can be retried.
    ///
    /// # Errors
    /// As [`Frame::read`], plus [`Malformed::FrameSequence`] for a frame out of order or
    /// with the wrong IV, and [`Malformed::TrailingBytes`] after the final frame.
    pub fn read_next<'a>(&mut self, r: &mut Reader<'a>) -> Result<Frame<'a>, ReadError> {
        if self.finished {
            return Err(Malformed::TrailingBytes.into());
        }
        // `read` reaches 2^32 - 1 only with a final frame of that number, after which
        // `finished` is set, so this never fails; the check keeps it panic-free.
        let expected = self.read.checked_add(1).ok_or(Malformed::FrameSequence)?;
        let frame = Frame::read(r, self.frame_length)?;
        if frame.sequence_number != expected || frame.iv != frame_iv(expected) {
            return Err(Malformed::FrameSequence.into());
        }
        self.read = expected;
        self.finished = frame.is_final;
        Ok(frame)
    }
}

/// The non-framed body (decrypt only): IV, content length (`u64`), content, tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonFramedBody<'a> {
    /// The IV (must be 1 as a 12-byte integer).
    pub iv: [u8; IV_LEN_BYTES],
    /// The encrypted content.
    pub ciphertext: &'a [u8],
    /// The authentication tag.
    pub tag: [u8; TAG_LEN_BYTES],
}

impl<'a> NonFramedBody<'a> {
    /// Reads a non-framed body.
    ///
    /// # Errors
    /// [`ReadError::Incomplete`] if the input ends inside the body;
    /// [`ReadError::Malformed`] for a content length over `2^36 - 32` or an IV other than 1.
    pub fn read(r: &mut Reader<'a>) -> Result<Self, ReadError> {
        let iv = r.array()?;
        if iv != frame_iv(1) {
            return Err(Malformed::FrameSequence.into());
        }
        let len = r.u64()?;
        if len > NON_FRAMED_CONTENT_MAX_BYTES {
            return Err(invalid("non-framed content length"));
        }
        let ciphertext = r.bytes(to_usize(len)?)?;
        let tag = r.array()?;
        Ok(NonFramedBody { iv, ciphertext, tag })
    }

    /// Appends the body.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.iv);
        put_u64(out, self.ciphertext.len() as u64);
        out.extend_from_slice(self.ciphertext);
        out.extend_from_slice(&self.tag);
    }

    /// The body AAD.
    pub fn aad(&self, message_id: &[u8]) -> BodyAad {
        BodyAad::new(message_id, BodyAadContent::SingleBlock, 1, self.ciphertext.len() as u64)
    }
}

fn to_usize(len: u64) -> Result<usize, ReadError> {
    usize::try_from(len).map_err(|_| invalid("content length (too large for this platform)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(seq: u32, is_final: bool, ct: &[u8]) -> Vec<u8> {
        let f = Frame {
            sequence_number: seq,
            is_final,
            iv: frame_iv(seq),
            ciphertext: ct,
            tag: [7; 16],
        };
        let mut out = Vec::new();
        f.encode(&mut out);
        out
    }

    #[test]
    fn body_aad_layout() {
        let aad = BodyAad::new(&[0xAA; 16], BodyAadContent::FinalFrame, 3, 5);
        let b = aad.as_bytes();
        assert_eq!(b.len(), 16 + 34 + 4 + 8);
        assert_eq!(&b[16..50], b"AWSKMSEncryptionClient Final Frame");
        assert_eq!(&b[50..], &[0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 5]);
        let aad = BodyAad::new(&[0xAA; 32], BodyAadContent::SingleBlock, 1, 0);
        assert_eq!(aad.as_bytes().len(), 32 + 35 + 12);
    }

    #[test]
    fn frames_round_trip_and_sequence_is_enforced() {
        let mut body = frame(1, false, &[1; 4]);
        body.extend(frame(2, true, &[2; 3]));
        let mut seq = FrameSequence::new(4);
        let mut r = Reader::new(&body);
        let f1 = seq.read_next(&mut r).unwrap();
        assert!(!f1.is_final);
        let f2 = seq.read_next(&mut r).unwrap();
        assert!(f2.is_final && f2.ciphertext == [2; 3]);
        assert!(r.is_empty() && seq.is_finished());
        assert_eq!(seq.frames_read(), 2);
        let mut again = Vec::new();
        f1.encode(&mut again);
        f2.encode(&mut again);
        assert_eq!(again, body);
    }

    #[test]
    fn out_of_order_wrong_iv_and_oversized_final_frames_are_rejected() {
        let two = frame(2, false, &[0; 4]);
        assert_eq!(
            FrameSequence::new(4).read_next(&mut Reader::new(&two)),
            Err(Malformed::FrameSequence.into())
        );
        let mut bad_iv = frame(1, false, &[0; 4]);
        bad_iv[15] ^= 1;
        assert_eq!(
            FrameSequence::new(4).read_next(&mut Reader::new(&bad_iv)),
            Err(Malformed::FrameSequence.into())
        );
        let big_final = frame(1, true, &[0; 5]);
        assert!(matches!(
            FrameSequence::new(4).read_next(&mut Reader::new(&big_final)),
            Err(ReadError::Malformed(Malformed::InvalidField(_)))
        ));
    }

    #[test]
    fn a_huge_declared_frame_is_incomplete_not_allocated() {
        let mut head = vec![0, 0, 0, 1];
        head.extend_from_slice(&frame_iv(1));
        let mut seq = FrameSequence::new(u32::MAX);
        assert_eq!(
            seq.read_next(&mut Reader::new(&head)),
            Err(ReadError::Incomplete { needed: 16 + u32::MAX as usize })
        );
        assert_eq!(seq.frames_read(), 0);
    }
}
