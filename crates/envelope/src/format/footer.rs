//! The message footer (spec `data-format/message-footer.md`): the signature over the
//! header and body, for suites with a signature algorithm.

use crate::codec::{put_u16_prefixed, Codec, ReadError, Reader};
use crate::error::Error;

/// The footer: a `u16`-length-prefixed DER-encoded ECDSA signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Footer<'a> {
    /// The DER-encoded signature.
    pub signature: &'a [u8],
}

impl<'a> Codec<'a> for Footer<'a> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        put_u16_prefixed(out, self.signature)
            .map_err(|_| Error::ApiMisuse("a signature longer than 65535 bytes".into()))
    }

    fn read(r: &mut Reader<'a>) -> Result<Self, ReadError> {
        Ok(Footer { signature: r.u16_prefixed()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Malformed;

    #[test]
    fn footer_round_trips_and_rejects_trailing_bytes() {
        let f = Footer { signature: &[0x30, 0x06, 2, 1, 1, 2, 1, 1] };
        let bytes = f.to_bytes().unwrap();
        assert_eq!(bytes[..2], [0, 8]);
        assert_eq!(Footer::read_bytes(&bytes).unwrap(), f);
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            Footer::read_bytes(&longer),
            Err(ReadError::Malformed(Malformed::TrailingBytes))
        );
        assert_eq!(Footer::read_bytes(&bytes[..5]), Err(ReadError::Incomplete { needed: 10 }));
    }
}
