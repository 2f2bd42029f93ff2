//! AES of any key size behind one type, so that AES-GCM (the `aes-gcm` crate's generic
//! [`AesGcm`](aes_gcm::AesGcm)) is instantiated once for AES-128, AES-192 and AES-256.
//!
//! Each `AesGcm<Aes128>`, `AesGcm<Aes192>` and `AesGcm<Aes256>` is a separate copy of the
//! counter mode, GHASH glue and tag logic in the wasm client. [`AnyAes`] is a block cipher
//! (the `cipher` crate's traits) that dispatches each batch of blocks to the AES of its key
//! size, so only the key schedules and the AES rounds exist per key size. The AES state is
//! the `aes` crate's own types, which zeroize their key schedules on drop (its `zeroize`
//! feature).

use aes::cipher::consts::{U16, U8};
use aes::cipher::inout::{InOut, InOutBuf};
use aes::cipher::{
    Block, BlockBackend, BlockCipher, BlockClosure, BlockEncrypt, BlockSizeUser, KeyInit,
    ParBlocks, ParBlocksSizeUser,
};
use aes::{Aes128, Aes192, Aes256};

/// AES with a 128, 192 or 256-bit key (encryption direction only, which is all GCM uses).
#[derive(Clone)]
pub(crate) enum AnyAes {
    Aes128(Aes128),
    Aes192(Aes192),
    Aes256(Aes256),
}

impl AnyAes {
    /// The cipher for a 16, 24 or 32-byte key; `None` for any other length.
    pub(crate) fn new(key: &[u8]) -> Option<Self> {
        Some(match key.len() {
            16 => AnyAes::Aes128(Aes128::new_from_slice(key).ok()?),
            24 => AnyAes::Aes192(Aes192::new_from_slice(key).ok()?),
            32 => AnyAes::Aes256(Aes256::new_from_slice(key).ok()?),
            _ => return None,
        })
    }
}

impl BlockSizeUser for AnyAes {
    type BlockSize = U16;
}

impl BlockCipher for AnyAes {}

impl BlockEncrypt for AnyAes {
    fn encrypt_with_backend(&self, f: impl BlockClosure<BlockSize = U16>) {
        f.call(&mut Backend(self));
    }
}

/// The backend the modes (CTR, GCM's hash key) drive: batches of up to eight blocks, each
/// handed whole to the AES of the key size, which runs them through its own parallel path
/// (two or four blocks at a time in software, eight with AES-NI or ARMv8).
struct Backend<'a>(&'a AnyAes);

impl BlockSizeUser for Backend<'_> {
    type BlockSize = U16;
}

impl ParBlocksSizeUser for Backend<'_> {
    type ParBlocksSize = U8;
}

impl Backend<'_> {
    /// Encrypts `blocks` with the AES of the key's size.
    fn encrypt(&self, blocks: InOutBuf<'_, '_, Block<AnyAes>>) {
        match self.0 {
            AnyAes::Aes128(c) => c.encrypt_blocks_inout(blocks),
            AnyAes::Aes192(c) => c.encrypt_blocks_inout(blocks),
            AnyAes::Aes256(c) => c.encrypt_blocks_inout(blocks),
        }
    }
}

impl BlockBackend for Backend<'_> {
    fn proc_block(&mut self, block: InOut<'_, '_, Block<Self>>) {
        // In place, by the AES of the key's size: no copy of the block (GHASH's key, a tag
        // mask or keystream) is left on the stack.
        match self.0 {
            AnyAes::Aes128(c) => c.encrypt_block_inout(block),
            AnyAes::Aes192(c) => c.encrypt_block_inout(block),
            AnyAes::Aes256(c) => c.encrypt_block_inout(block),
        }
    }

    fn proc_par_blocks(&mut self, blocks: InOut<'_, '_, ParBlocks<Self>>) {
        self.encrypt(blocks.into_buf());
    }

    fn proc_tail_blocks(&mut self, blocks: InOutBuf<'_, '_, Block<Self>>) {
        self.encrypt(blocks);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FIPS-197 appendix C: one block under each key size.
    #[test]
    fn encrypts_the_fips_197_blocks() {
        let plaintext: [u8; 16] = core::array::from_fn(|i| (i as u8) * 0x11);
        let key: [u8; 32] = core::array::from_fn(|i| i as u8);
        let cases: [(usize, &str); 3] = [
            (16, "69c4e0d86a7b0430d8cdb78070b4c55a"),
            (24, "dda97ca4864cdfe06eaf70a0ec0d7191"),
            (32, "8ea2b7ca516745bfeafc49904b496089"),
        ];
        for (len, expected) in cases {
            let aes = AnyAes::new(&key[..len]).unwrap();
            let mut block = Block::<AnyAes>::clone_from_slice(&plaintext);
            aes.encrypt_block(&mut block);
            assert_eq!(hex::encode(block), expected, "AES-{}", len * 8);
        }
    }

    /// Batches of every length from 1 to 20 blocks (the parallel, tail and single-block
    /// paths) match the `aes` crate's types used directly.
    #[test]
    fn batches_match_the_aes_crate() {
        let key = [0x5a; 32];
        for len in [16, 24, 32] {
            let aes = AnyAes::new(&key[..len]).unwrap();
            for n in 1..=20 {
                let mut batch: Vec<Block<AnyAes>> =
                    (0..n).map(|i| Block::<AnyAes>::clone_from_slice(&[i as u8; 16])).collect();
                let mut reference = batch.clone();
                aes.encrypt_blocks(&mut batch);
                match len {
                    16 => {
                        Aes128::new_from_slice(&key[..16]).unwrap().encrypt_blocks(&mut reference)
                    }
                    24 => {
                        Aes192::new_from_slice(&key[..24]).unwrap().encrypt_blocks(&mut reference)
                    }
                    _ => Aes256::new_from_slice(&key).unwrap().encrypt_blocks(&mut reference),
                }
                assert_eq!(batch, reference);
                if let Some(first) = reference.first() {
                    let mut one = Block::<AnyAes>::clone_from_slice(&[0; 16]);
                    aes.encrypt_block(&mut one);
                    assert_eq!(&one, first);
                }
            }
        }
    }

    #[test]
    fn rejects_other_key_lengths() {
        for len in [0, 15, 17, 31, 33, 64] {
            assert!(AnyAes::new(&vec![1; len]).is_none());
        }
    }
}
