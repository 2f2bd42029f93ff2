//! SHA-256, SHA-384 and SHA-512 behind one type, with HMAC (RFC 2104) and HKDF (RFC 5869)
//! written once over it.
//!
//! The `hmac` and `hkdf` crates are generic over the hash, so every hash they are used
//! with is another copy of their code (and of the `digest` wrappers) in the wasm client.
//! Here the hash is chosen at run time: [`Hasher`] drives one of the two `sha2` compression
//! functions (SHA-384 is SHA-512's with its own initial value and a shorter output), and
//! [`Hmac`] and [`Hkdf`] exist once for all three.
//!
//! Key material is kept in zeroizing buffers: the padded HMAC key blocks, the HKDF
//! pseudorandom key and every [`Output`] are wiped when dropped.

use sha2::digest::generic_array::GenericArray;
use zeroize::{Zeroize, Zeroizing};

/// The longest output of the hashes here (SHA-512), in bytes.
pub const MAX_OUTPUT_LEN_BYTES: usize = 64;
/// The longest block of the hashes here (SHA-384 and SHA-512), in bytes.
const MAX_BLOCK_LEN_BYTES: usize = 128;
/// HMAC's inner padding byte (RFC 2104 section 2).
const IPAD: u8 = 0x36;
/// HMAC's outer padding byte.
const OPAD: u8 = 0x5c;
/// HKDF's output limit, in hash lengths (RFC 5869 section 2.3: `L <= 255*HashLen`).
const HKDF_MAX_BLOCKS: usize = 255;

/// A SHA-2 hash function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlgorithm {
    /// SHA-256: 32-byte output, 64-byte blocks.
    Sha256,
    /// SHA-384: 48-byte output, 128-byte blocks.
    Sha384,
    /// SHA-512: 64-byte output, 128-byte blocks.
    Sha512,
}

impl HashAlgorithm {
    /// The output length in bytes (`HashLen`).
    pub const fn output_len(self) -> usize {
        match self {
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha384 => 48,
            HashAlgorithm::Sha512 => 64,
        }
    }

    /// The block length in bytes (HMAC's `B`).
    pub const fn block_len(self) -> usize {
        match self {
            HashAlgorithm::Sha256 => 64,
            HashAlgorithm::Sha384 | HashAlgorithm::Sha512 => 128,
        }
    }
}

/// A hash output of up to [`MAX_OUTPUT_LEN_BYTES`], read as a byte slice; zeroized on drop
/// because HMAC and HKDF outputs are keys.
pub struct Output {
    bytes: [u8; MAX_OUTPUT_LEN_BYTES],
    len: usize,
}

impl Output {
    /// The output bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The output as an array of its exact length `N` (32, 48 or 64 for SHA-256, SHA-384
    /// and SHA-512).
    ///
    /// # Panics
    /// If `N` is not the output's length: a caller names the hash it asked for.
    pub fn to_array<const N: usize>(&self) -> [u8; N] {
        let mut out = [0u8; N];
        out.copy_from_slice(self.as_bytes());
        out
    }
}

impl AsRef<[u8]> for Output {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Output(<{} bytes>)", self.len)
    }
}

/// SHA-256's initial hash value (FIPS 180-4 section 5.3.3).
const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];
/// SHA-384's initial hash value (section 5.3.4).
const SHA384_IV: [u64; 8] = [
    0xcbbb_9d5d_c105_9ed8,
    0x629a_292a_367c_d507,
    0x9159_015a_3070_dd17,
    0x152f_ecd8_f70e_5939,
    0x6733_2667_ffc0_0b31,
    0x8eb4_4a87_6858_1511,
    0xdb0c_2e0d_64f9_8fa7,
    0x47b5_481d_befa_4fa4,
];
/// SHA-512's initial hash value (section 5.3.5).
const SHA512_IV: [u64; 8] = [
    0x6a09_e667_f3bc_c908,
    0xbb67_ae85_84ca_a73b,
    0x3c6e_f372_fe94_f82b,
    0xa54f_f53a_5f1d_36f1,
    0x510e_527f_ade6_82d1,
    0x9b05_688c_2b3e_6c1f,
    0x1f83_d9ab_fb41_bd6b,
    0x5be0_cd19_137e_2179,
];

/// The chaining value of one of the two SHA-2 compression functions (the `sha2` crate's
/// `compress256` and `compress512`; SHA-384 is `compress512` from its own initial value).
#[derive(Clone)]
enum State {
    Sha256([u32; 8]),
    Sha512([u64; 8]),
}

impl State {
    /// Compresses one block (64 bytes for SHA-256, 128 for SHA-384/512).
    fn compress(&mut self, block: &[u8]) {
        match self {
            State::Sha256(words) => {
                sha2::compress256(words, core::slice::from_ref(GenericArray::from_slice(block)))
            }
            State::Sha512(words) => {
                sha2::compress512(words, core::slice::from_ref(GenericArray::from_slice(block)))
            }
        }
    }
}

/// An incremental SHA-2 hash: the message is cut into blocks for the `sha2` crate's
/// compression functions, and padded here (FIPS 180-4 section 5.1). The state and the
/// buffered bytes are zeroized on drop, since HMAC keeps keyed states in it.
#[derive(Clone)]
pub struct Hasher {
    algorithm: HashAlgorithm,
    state: State,
    /// Bytes not compressed yet: always fewer than a block.
    buffer: [u8; MAX_BLOCK_LEN_BYTES],
    buffered: usize,
    /// Bytes fed so far.
    total: u128,
}

impl Drop for Hasher {
    fn drop(&mut self) {
        match &mut self.state {
            State::Sha256(words) => words.zeroize(),
            State::Sha512(words) => words.zeroize(),
        }
        self.buffer.zeroize();
    }
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hasher({:?})", self.algorithm)
    }
}

impl Hasher {
    /// A hash of nothing yet.
    pub fn new(algorithm: HashAlgorithm) -> Self {
        let state = match algorithm {
            HashAlgorithm::Sha256 => State::Sha256(SHA256_IV),
            HashAlgorithm::Sha384 => State::Sha512(SHA384_IV),
            HashAlgorithm::Sha512 => State::Sha512(SHA512_IV),
        };
        Hasher { algorithm, state, buffer: [0; MAX_BLOCK_LEN_BYTES], buffered: 0, total: 0 }
    }

    /// The hash function.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    /// Feeds `data`.
    pub fn update(&mut self, mut data: &[u8]) {
        let block_len = self.algorithm.block_len();
        self.total = self.total.wrapping_add(data.len() as u128);
        if self.buffered > 0 {
            let take = data.len().min(block_len - self.buffered);
            let (head, rest) = data.split_at(take);
            self.buffer[self.buffered..self.buffered + take].copy_from_slice(head);
            self.buffered += take;
            data = rest;
            if self.buffered < block_len {
                return;
            }
            self.state.compress(&self.buffer[..block_len]);
            self.buffered = 0;
        }
        let mut blocks = data.chunks_exact(block_len);
        for block in &mut blocks {
            self.state.compress(block);
        }
        let tail = blocks.remainder();
        self.buffer[..tail.len()].copy_from_slice(tail);
        self.buffered = tail.len();
    }

    /// The hash of everything fed.
    pub fn finalize(mut self) -> Output {
        let block_len = self.algorithm.block_len();
        // The length field: 64 bits for SHA-256, 128 bits for SHA-384/512.
        let length_len = block_len / 8;
        let bits = self.total.wrapping_mul(8).to_be_bytes();
        let buffered = self.buffered;
        self.buffer[buffered] = 0x80;
        self.buffer[buffered + 1..block_len].fill(0);
        if buffered + 1 > block_len - length_len {
            self.state.compress(&self.buffer[..block_len]);
            self.buffer[..block_len].fill(0);
        }
        self.buffer[block_len - length_len..block_len].copy_from_slice(&bits[16 - length_len..]);
        self.state.compress(&self.buffer[..block_len]);
        let len = self.algorithm.output_len();
        let mut out = Output { bytes: [0; MAX_OUTPUT_LEN_BYTES], len };
        match &self.state {
            State::Sha256(words) => {
                for (chunk, word) in out.bytes.chunks_exact_mut(4).zip(words) {
                    chunk.copy_from_slice(&word.to_be_bytes());
                }
            }
            State::Sha512(words) => {
                for (chunk, word) in out.bytes.chunks_exact_mut(8).zip(words) {
                    chunk.copy_from_slice(&word.to_be_bytes());
                }
            }
        }
        // SHA-384 is the first 48 bytes; the rest of the SHA-512 state is not output.
        out.bytes[len..].fill(0);
        out
    }
}

/// The hash of `data` in one call.
pub fn digest(algorithm: HashAlgorithm, data: &[u8]) -> Output {
    let mut hasher = Hasher::new(algorithm);
    hasher.update(data);
    hasher.finalize()
}

/// An incremental HMAC (RFC 2104) over a SHA-2 hash.
#[derive(Clone)]
pub struct Hmac {
    /// The hash, already fed the key XOR ipad.
    inner: Hasher,
    /// The hash, already fed the key XOR opad.
    outer: Hasher,
}

impl std::fmt::Debug for Hmac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hmac({:?})", self.inner.algorithm)
    }
}

impl Hmac {
    /// An HMAC keyed with `key` of any length (keys longer than a block are hashed first).
    pub fn new(algorithm: HashAlgorithm, key: &[u8]) -> Self {
        let block_len = algorithm.block_len();
        // The key padded with zeros to a block; wiped when dropped.
        let mut block = Zeroizing::new([0u8; MAX_BLOCK_LEN_BYTES]);
        if key.len() > block_len {
            let hashed = digest(algorithm, key);
            block[..hashed.len].copy_from_slice(hashed.as_bytes());
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let block = &mut block[..block_len];
        block.iter_mut().for_each(|b| *b ^= IPAD);
        let mut inner = Hasher::new(algorithm);
        inner.update(block);
        block.iter_mut().for_each(|b| *b ^= IPAD ^ OPAD);
        let mut outer = Hasher::new(algorithm);
        outer.update(block);
        Hmac { inner, outer }
    }

    /// Feeds `data`.
    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }

    /// The tag: `H(key XOR opad || H(key XOR ipad || data))`.
    pub fn finalize(self) -> Output {
        let inner = self.inner.finalize();
        let mut outer = self.outer;
        outer.update(inner.as_bytes());
        outer.finalize()
    }
}

/// HMAC of `data` under `key` in one call.
pub fn hmac(algorithm: HashAlgorithm, key: &[u8], data: &[u8]) -> Output {
    let mut mac = Hmac::new(algorithm, key);
    mac.update(data);
    mac.finalize()
}

/// HKDF was asked for more than `255 * HashLen` bytes of output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("HKDF output longer than 255 hash lengths")]
pub struct HkdfOutputTooLong;

/// HKDF (RFC 5869) after its extract step: the pseudorandom key, ready to expand.
pub struct Hkdf {
    algorithm: HashAlgorithm,
    /// `PRK = HMAC-Hash(salt, IKM)`; the first `HashLen` bytes are used.
    prk: Zeroizing<[u8; MAX_OUTPUT_LEN_BYTES]>,
}

impl std::fmt::Debug for Hkdf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hkdf({:?}, <redacted>)", self.algorithm)
    }
}

impl Hkdf {
    /// HKDF-Extract. `None` as the salt means `HashLen` zero bytes (RFC 5869 section 2.2),
    /// which gives the same key as an empty salt.
    pub fn extract(algorithm: HashAlgorithm, salt: Option<&[u8]>, ikm: &[u8]) -> Self {
        let zeros = [0u8; MAX_OUTPUT_LEN_BYTES];
        let salt = salt.unwrap_or(&zeros[..algorithm.output_len()]);
        let prk_output = hmac(algorithm, salt, ikm);
        let mut prk = Zeroizing::new([0u8; MAX_OUTPUT_LEN_BYTES]);
        prk[..prk_output.len].copy_from_slice(prk_output.as_bytes());
        Hkdf { algorithm, prk }
    }

    /// HKDF-Expand into `okm`, with `info` the concatenation of `info_parts`:
    /// `T(i) = HMAC-Hash(PRK, T(i-1) || info || i)`, `okm` the first bytes of `T(1) || T(2) ..`.
    ///
    /// # Errors
    /// [`HkdfOutputTooLong`] if `okm` is longer than `255 * HashLen` bytes.
    pub fn expand(&self, info_parts: &[&[u8]], okm: &mut [u8]) -> Result<(), HkdfOutputTooLong> {
        let hash_len = self.algorithm.output_len();
        if okm.len() > HKDF_MAX_BLOCKS * hash_len {
            return Err(HkdfOutputTooLong);
        }
        let keyed = Hmac::new(self.algorithm, &self.prk[..hash_len]);
        let mut previous: Option<Output> = None;
        for (counter, chunk) in (1..=u8::MAX).zip(okm.chunks_mut(hash_len)) {
            let mut mac = keyed.clone();
            if let Some(t) = &previous {
                mac.update(t.as_bytes());
            }
            info_parts.iter().for_each(|part| mac.update(part));
            mac.update(&[counter]);
            let t = mac.finalize();
            chunk.copy_from_slice(&t.as_bytes()[..chunk.len()]);
            previous = Some(t);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn digests_match_the_fips_180_examples() {
        let cases = [
            (
                HashAlgorithm::Sha256,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            (
                HashAlgorithm::Sha384,
                "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed\
                 8086072ba1e7cc2358baeca134c825a7",
            ),
            (
                HashAlgorithm::Sha512,
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
                 2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            ),
        ];
        for (algorithm, expected) in cases {
            assert_eq!(hex::encode(digest(algorithm, b"abc")), expected, "{algorithm:?}");
            let mut split = Hasher::new(algorithm);
            split.update(b"a");
            split.update(b"");
            split.update(b"bc");
            assert_eq!(split.algorithm(), algorithm);
            assert_eq!(hex::encode(split.finalize()), expected);
        }
    }

    /// RFC 4231 test cases 1, 2, 6 and 7 (short key, short key and data, keys longer than
    /// the SHA-256 and SHA-512 blocks), all three hashes.
    #[test]
    fn hmac_matches_rfc_4231() {
        let long_key = vec![0xaa; 131];
        let cases: [(&[u8], &[u8], [&str; 3]); 4] = [
            (
                &[0x0b; 20],
                b"Hi There",
                [
                    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
                    "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c\
                     faea9ea9076ede7f4af152e8b2fa9cb6",
                    "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde\
                     daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
                ],
            ),
            (
                b"Jefe",
                b"what do ya want for nothing?",
                [
                    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
                    "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e\
                     8e2240ca5e69e2c78b3239ecfab21649",
                    "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
                     9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
                ],
            ),
            (
                &long_key,
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                [
                    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
                    "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6\
                     0c2ef6ab4030fe8296248df163f44952",
                    "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352\
                     6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
                ],
            ),
            (
                &long_key,
                b"This is a test using a larger than block-size key and a larger than \
                  block-size data. The key needs to be hashed before being used by the \
                  HMAC algorithm.",
                [
                    "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
                    "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5\
                     a678cc31e799176d3860e6110c46523e",
                    "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944\
                     b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58",
                ],
            ),
        ];
        let algorithms = [HashAlgorithm::Sha256, HashAlgorithm::Sha384, HashAlgorithm::Sha512];
        for (key, data, expected) in cases {
            for (algorithm, expected) in algorithms.into_iter().zip(expected) {
                assert_eq!(hex::encode(hmac(algorithm, key, data)), expected, "{algorithm:?}");
            }
        }
    }

    /// An HKDF known answer: input key material, salt, info, output.
    type HkdfCase = (Vec<u8>, Option<Vec<u8>>, Vec<u8>, &'static str);

    /// RFC 5869 appendix A.1 to A.3 (SHA-256: basic, long inputs and outputs, empty salt
    /// and info).
    #[test]
    fn hkdf_matches_rfc_5869() {
        let long = |start: u8| (start..=start + 0x4f).collect::<Vec<u8>>();
        let cases: [HkdfCase; 3] = [
            (
                vec![0x0b; 22],
                Some(unhex("000102030405060708090a0b0c")),
                unhex("f0f1f2f3f4f5f6f7f8f9"),
                "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf\
                 34007208d5b887185865",
            ),
            (
                long(0x00),
                Some(long(0x60)),
                long(0xb0),
                "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c\
                 59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71\
                 cc30c58179ec3e87c14c01d5c1f3434f1d87",
            ),
            (
                vec![0x0b; 22],
                None,
                Vec::new(),
                "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d\
                 9d201395faa4b61a96c8",
            ),
        ];
        for (ikm, salt, info, expected) in cases {
            let hk = Hkdf::extract(HashAlgorithm::Sha256, salt.as_deref(), &ikm);
            let mut okm = vec![0u8; expected.len() / 2];
            hk.expand(&[&info], &mut okm).unwrap();
            assert_eq!(hex::encode(&okm), expected);
            // The info may come in pieces.
            let (a, b) = info.split_at(info.len() / 2);
            let mut split = vec![0u8; okm.len()];
            hk.expand(&[a, &[], b], &mut split).unwrap();
            assert_eq!(split, okm);
        }
        // An empty salt is the same as none.
        let mut none = [0u8; 42];
        let mut empty = [0u8; 42];
        Hkdf::extract(HashAlgorithm::Sha256, None, b"ikm").expand(&[], &mut none).unwrap();
        Hkdf::extract(HashAlgorithm::Sha256, Some(b""), b"ikm").expand(&[], &mut empty).unwrap();
        assert_eq!(none, empty);
    }

    #[test]
    fn hkdf_output_stops_at_255_hash_lengths() {
        for algorithm in [HashAlgorithm::Sha256, HashAlgorithm::Sha384, HashAlgorithm::Sha512] {
            let hk = Hkdf::extract(algorithm, Some(b"salt"), b"ikm");
            let max = 255 * algorithm.output_len();
            let mut okm = vec![0u8; max + 1];
            assert_eq!(hk.expand(&[b"info"], &mut okm), Err(HkdfOutputTooLong));
            assert!(okm.iter().all(|&b| b == 0), "nothing is written on error");
            hk.expand(&[b"info"], &mut okm[..max]).unwrap();
            assert!(okm[max - algorithm.output_len()..max].iter().any(|&b| b != 0));
            hk.expand(&[], &mut []).unwrap();
        }
    }

    #[test]
    fn debug_output_hides_the_keys() {
        let hk = Hkdf::extract(HashAlgorithm::Sha384, None, b"secret");
        assert_eq!(format!("{hk:?}"), "Hkdf(Sha384, <redacted>)");
        let mac = Hmac::new(HashAlgorithm::Sha256, b"secret");
        assert_eq!(format!("{mac:?}"), "Hmac(Sha256)");
        assert_eq!(format!("{:?}", mac.finalize()), "Output(<32 bytes>)");
    }
}
