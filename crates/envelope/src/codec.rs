//! A bounds-checked reader and the write helpers the message format is built from.
//!
//! Every multi-byte integer in the message format is big-endian. A [`Reader`] never
//! panics and never allocates: reading past the end yields [`ReadError::Incomplete`]
//! with the number of bytes the input must hold for the read to succeed, so a
//! streaming caller can tell "wait for more bytes" apart from "these bytes are wrong".
//! Lengths declared by the input are only ever compared with what the input holds;
//! nothing is allocated from them.

use crate::error::{Error, Malformed};

/// Why a read failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadError {
    /// The input ends too early; it must hold at least `needed` bytes (counted from
    /// the start of the reader) for the read to get further.
    Incomplete {
        /// The input length, from the reader's start, needed to make progress.
        needed: usize,
    },
    /// The bytes violate the format.
    Malformed(Malformed),
    /// The header names an algorithm suite this build does not know.
    UnsupportedSuite(u16),
    /// The header holds more encrypted data keys than the configured maximum.
    TooManyEncryptedDataKeys(usize),
}

impl From<Malformed> for ReadError {
    fn from(m: Malformed) -> Self {
        ReadError::Malformed(m)
    }
}

impl From<ReadError> for Error {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Incomplete { .. } => Error::Malformed(Malformed::Truncated),
            ReadError::Malformed(m) => Error::Malformed(m),
            ReadError::UnsupportedSuite(id) => Error::UnsupportedSuite(id),
            ReadError::TooManyEncryptedDataKeys(max) => Error::TooManyEncryptedDataKeys(max),
        }
    }
}

/// Shorthand for [`ReadError::Malformed`] with [`Malformed::InvalidField`].
pub(crate) fn invalid(field: &'static str) -> ReadError {
    ReadError::Malformed(Malformed::InvalidField(field))
}

/// A cursor over a byte slice with checked reads.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// How many bytes have been read.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// How many bytes are left.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The bytes read so far.
    pub fn consumed(&self) -> &'a [u8] {
        &self.buf[..self.pos]
    }

    /// The next `n` bytes.
    ///
    /// # Errors
    /// [`ReadError::Incomplete`] if fewer than `n` bytes are left; the reader does not move.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], ReadError> {
        if n > self.remaining() {
            return Err(ReadError::Incomplete { needed: self.pos.saturating_add(n) });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// The next `N` bytes as an array.
    ///
    /// # Errors
    /// [`ReadError::Incomplete`] if fewer than `N` bytes are left.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], ReadError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    /// The next `n` bytes, without moving.
    ///
    /// # Errors
    /// [`ReadError::Incomplete`] if fewer than `n` bytes are left.
    pub fn peek(&self, n: usize) -> Result<&'a [u8], ReadError> {
        self.clone().bytes(n)
    }

    /// One byte.
    ///
    /// # Errors
    /// [`ReadError::Incomplete`] at the end of the input.
    pub fn u8(&mut self) -> Result<u8, ReadError> {
        Ok(self.array::<1>()?[0])
    }

    /// A big-endian `u16`.
    ///
    /// # Errors
    /// [`ReadError::Incomplete`] if fewer than 2 bytes are left.
    pub fn u16(&mut self) -> Result<u16, ReadError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// A big-endian `u32`.
    ///
    /// # Errors
    /// [`ReadError::Incomplete`] if fewer than 4 bytes are left.
    pub fn u32(&mut self) -> Result<u32, ReadError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// A big-endian `u64`.
    ///
    /// # Errors
    /// [`ReadError::Incomplete`] if fewer than 8 bytes are left.
    pub fn u64(&mut self) -> Result<u64, ReadError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A field prefixed by its `u16` length.
    ///
    /// # Errors
    /// [`ReadError::Incomplete`] if the input ends inside the field.
    pub fn u16_prefixed(&mut self) -> Result<&'a [u8], ReadError> {
        let n = self.u16()?;
        self.bytes(usize::from(n))
    }

    /// A sub-reader over the next `n` bytes, which must then be read completely.
    ///
    /// # Errors
    /// [`ReadError::Incomplete`] if fewer than `n` bytes are left.
    pub fn sub(&mut self, n: usize) -> Result<Reader<'a>, ReadError> {
        Ok(Reader::new(self.bytes(n)?))
    }

    /// Fails unless every byte has been read (for length-delimited sub-structures).
    ///
    /// # Errors
    /// [`ReadError::Malformed`] naming `field` if bytes are left over.
    pub fn expect_empty(&self, field: &'static str) -> Result<(), ReadError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(invalid(field))
        }
    }
}

/// Turns an [`ReadError::Incomplete`] from a sub-reader into a malformed `field`: a
/// length-delimited structure that ends early is malformed, not incomplete, because
/// the outer length already said all its bytes are there.
pub(crate) fn within(field: &'static str, e: ReadError) -> ReadError {
    match e {
        ReadError::Incomplete { .. } => invalid(field),
        other => other,
    }
}

/// A value with one binary encoding.
pub trait Codec<'a>: Sized {
    /// Appends the encoding of `self`.
    ///
    /// # Errors
    /// [`Error`] if a field does not fit its length prefix.
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error>;

    /// Reads one value.
    ///
    /// # Errors
    /// [`ReadError`] if the input is short or malformed.
    fn read(r: &mut Reader<'a>) -> Result<Self, ReadError>;

    /// Reads one value that must fill `bytes` exactly.
    ///
    /// # Errors
    /// [`ReadError`] if the input is short, malformed, or has trailing bytes.
    fn read_bytes(bytes: &'a [u8]) -> Result<Self, ReadError> {
        let mut r = Reader::new(bytes);
        let v = Self::read(&mut r)?;
        if r.is_empty() {
            Ok(v)
        } else {
            Err(ReadError::Malformed(Malformed::TrailingBytes))
        }
    }

    /// The encoding of `self` in a fresh vector.
    ///
    /// # Errors
    /// [`Error`] if a field does not fit its length prefix.
    fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        self.encode(&mut out)?;
        Ok(out)
    }
}

/// Appends a big-endian `u16`.
pub fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends a big-endian `u32`.
pub fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends a big-endian `u64`.
pub fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends `bytes` prefixed by its `u16` length.
///
/// # Errors
/// [`LengthOverflow`] if `bytes` is longer than 65,535 bytes; nothing is written.
pub fn put_u16_prefixed(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), LengthOverflow> {
    let n = u16::try_from(bytes.len()).map_err(|_| LengthOverflow)?;
    put_u16(out, n);
    out.extend_from_slice(bytes);
    Ok(())
}

/// A field is too long for its length prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LengthOverflow;

/// `bytes` as text, each invalid sequence replaced by U+FFFD exactly as
/// `String::from_utf8_lossy` does (for the wasm client, where std's `Utf8Chunks` is larger
/// than this loop over `from_utf8`, which the module holds anyway).
pub fn utf8_lossy(mut bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    loop {
        match std::str::from_utf8(bytes) {
            Ok(text) => {
                out.push_str(text);
                return out;
            }
            Err(e) => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                out.push(char::REPLACEMENT_CHARACTER);
                // `error_len` is the invalid sequence's length; `None` at a truncated end.
                bytes = rest.get(e.error_len().unwrap_or(rest.len())..).unwrap_or_default();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn utf8_lossy_replaces_as_std_does() {
        for bytes in [
            &b""[..],
            b"plain",
            "h\u{e9}\u{1F600}".as_bytes(),
            b"\xff",
            b"a\xffb",
            b"\xe2\x82",
            b"a\xe2\x82",
            b"\xe2\x82a\xf0\x9f\x98",
            b"\xed\xa0\x80",
            b"\xc0\xaf\xf5\x80",
            b"\xf0\x9f\x98\x80\x80",
        ] {
            assert_eq!(utf8_lossy(bytes), String::from_utf8_lossy(bytes), "{bytes:?}");
        }
    }

    proptest! {
        #[test]
        fn utf8_lossy_matches_std(bytes in proptest::collection::vec(
            prop_oneof![any::<u8>(), 0x80u8..0xc0, 0xc0u8..0xf8], 0..40)) {
            prop_assert_eq!(utf8_lossy(&bytes), String::from_utf8_lossy(&bytes));
        }
    }

    #[test]
    fn reads_big_endian_and_tracks_position() {
        let data = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
        let mut r = Reader::new(&data);
        assert_eq!(r.u8().unwrap(), 1);
        assert_eq!(r.u16().unwrap(), 0x0203);
        assert_eq!(r.u32().unwrap(), 0x0405_0607);
        assert_eq!(r.u64().unwrap(), 0x0809_0a0b_0c0d_0e0f);
        assert_eq!(r.position(), 15);
        assert!(r.is_empty());
        assert_eq!(r.consumed(), &data);
    }

    #[test]
    fn short_reads_report_the_needed_length_and_do_not_move() {
        let data = [0, 5, 1, 2];
        let mut r = Reader::new(&data);
        assert_eq!(r.u16_prefixed(), Err(ReadError::Incomplete { needed: 7 }));
        let mut r = Reader::new(&data);
        r.u8().unwrap();
        assert_eq!(r.u32(), Err(ReadError::Incomplete { needed: 5 }));
        assert_eq!(r.position(), 1);
        assert_eq!(r.bytes(usize::MAX), Err(ReadError::Incomplete { needed: usize::MAX }));
    }

    #[test]
    fn u16_prefixed_round_trips_and_rejects_oversized_fields() {
        let mut out = Vec::new();
        put_u16_prefixed(&mut out, b"abc").unwrap();
        assert_eq!(out, [0, 3, b'a', b'b', b'c']);
        assert_eq!(Reader::new(&out).u16_prefixed().unwrap(), b"abc");
        let big = vec![0u8; 65_536];
        assert_eq!(put_u16_prefixed(&mut out, &big), Err(LengthOverflow));
        assert_eq!(out.len(), 5);
    }

    #[test]
    fn sub_reader_shortfall_is_malformed() {
        let data = [0, 1, 2, 3];
        let mut r = Reader::new(&data);
        let mut s = r.sub(2).unwrap();
        let e = s.u32().unwrap_err();
        assert_eq!(within("aad", e), invalid("aad"));
        assert_eq!(r.remaining(), 2);
    }
}
