//! [`ContentKey`] (the `aes-gcm` crate's GCM over [`AnyAes`](super::any_aes::AnyAes))
//! against published AES-GCM vectors and against the `aes-gcm` crate's own AES-128, AES-192
//! and AES-256 instantiations.

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::aes::Aes192;
use aes_gcm::{Aes128Gcm, Aes256Gcm, AesGcm, Nonce, Tag};
use proptest::prelude::*;

use super::ContentKey;
use crate::error::Error;

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

/// The GCM specification's test cases (McGrew and Viega, "The Galois/Counter Mode of
/// Operation", appendix B) with 96-bit IVs: 1-4 (AES-128), 7-10 (AES-192), 13-16 (AES-256).
/// Fields: key, IV, plaintext, AAD, ciphertext, tag.
const GCM_SPEC_VECTORS: &[[&str; 6]] = &[
    [
        "00000000000000000000000000000000",
        "000000000000000000000000",
        "",
        "",
        "",
        "58e2fccefa7e3061367f1d57a4e7455a",
    ],
    [
        "00000000000000000000000000000000",
        "000000000000000000000000",
        "00000000000000000000000000000000",
        "",
        "0388dace60b6a392f328c2b971b2fe78",
        "ab6e47d42cec13bdf53a67b21257bddf",
    ],
    [
        "feffe9928665731c6d6a8f9467308308",
        "cafebabefacedbaddecaf888",
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
         1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
        "",
        "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e\
         21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
        "4d5c2af327cd64a62cf35abd2ba6fab4",
    ],
    [
        "feffe9928665731c6d6a8f9467308308",
        "cafebabefacedbaddecaf888",
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
         1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        "feedfacedeadbeeffeedfacedeadbeefabaddad2",
        "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e\
         21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
        "5bc94fbc3221a5db94fae95ae7121a47",
    ],
    [
        "000000000000000000000000000000000000000000000000",
        "000000000000000000000000",
        "",
        "",
        "",
        "cd33b28ac773f74ba00ed1f312572435",
    ],
    [
        "000000000000000000000000000000000000000000000000",
        "000000000000000000000000",
        "00000000000000000000000000000000",
        "",
        "98e7247c07f0fe411c267e4384b0f600",
        "2ff58d80033927ab8ef4d4587514f0fb",
    ],
    [
        "feffe9928665731c6d6a8f9467308308feffe9928665731c",
        "cafebabefacedbaddecaf888",
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
         1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
        "",
        "3980ca0b3c00e841eb06fac4872a2757859e1ceaa6efd984628593b40ca1e19c\
         7d773d00c144c525ac619d18c84a3f4718e2448b2fe324d9ccda2710acade256",
        "9924a7c8587336bfb118024db8674a14",
    ],
    [
        "feffe9928665731c6d6a8f9467308308feffe9928665731c",
        "cafebabefacedbaddecaf888",
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
         1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        "feedfacedeadbeeffeedfacedeadbeefabaddad2",
        "3980ca0b3c00e841eb06fac4872a2757859e1ceaa6efd984628593b40ca1e19c\
         7d773d00c144c525ac619d18c84a3f4718e2448b2fe324d9ccda2710",
        "2519498e80f1478f37ba55bd6d27618c",
    ],
    [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000",
        "",
        "",
        "",
        "530f8afbc74536b9a963b4f1c4cb738b",
    ],
    [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000",
        "00000000000000000000000000000000",
        "",
        "cea7403d4d606b6e074ec5d3baf39d18",
        "d0d1c8a799996bf0265b98b5d48ab919",
    ],
    [
        "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
        "cafebabefacedbaddecaf888",
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
         1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
        "",
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa\
         8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
        "b094dac5d93471bdec1a502270e3cc6c",
    ],
    [
        "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
        "cafebabefacedbaddecaf888",
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
         1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        "feedfacedeadbeeffeedfacedeadbeefabaddad2",
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa\
         8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
        "76fc6ece0f4e1768cddf8853bb2d551b",
    ],
];

#[test]
fn matches_the_gcm_specification_vectors() {
    for [key, iv, plaintext, aad, ciphertext, tag] in GCM_SPEC_VECTORS {
        let key = ContentKey::new(&unhex(key)).unwrap();
        let iv: [u8; 12] = unhex(iv).try_into().unwrap();
        let (aad, expected_ct, expected_tag) = (unhex(aad), unhex(ciphertext), unhex(tag));
        let mut buf = unhex(plaintext);
        let tag = key.encrypt_in_place(&iv, &aad, &mut buf).unwrap();
        assert_eq!(hex::encode(&buf), hex::encode(&expected_ct));
        assert_eq!(tag.to_vec(), expected_tag);
        key.decrypt_in_place(&iv, &aad, &mut buf, &tag).unwrap();
        assert_eq!(buf, unhex(plaintext));
    }
}

/// The same operation through the `aes-gcm` crate's own instantiation for the key size.
fn reference_seal(key: &[u8], iv: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> [u8; 16] {
    let nonce = Nonce::from_slice(iv);
    let tag = match key.len() {
        16 => Aes128Gcm::new_from_slice(key).unwrap().encrypt_in_place_detached(nonce, aad, buf),
        24 => AesGcm::<Aes192, U12>::new_from_slice(key)
            .unwrap()
            .encrypt_in_place_detached(nonce, aad, buf),
        _ => Aes256Gcm::new_from_slice(key).unwrap().encrypt_in_place_detached(nonce, aad, buf),
    };
    tag.unwrap().into()
}

fn reference_open(key: &[u8], iv: &[u8; 12], aad: &[u8], buf: &mut [u8], tag: &[u8; 16]) -> bool {
    let (nonce, tag) = (Nonce::from_slice(iv), Tag::from_slice(tag));
    match key.len() {
        16 => {
            Aes128Gcm::new_from_slice(key).unwrap().decrypt_in_place_detached(nonce, aad, buf, tag)
        }
        24 => AesGcm::<Aes192, U12>::new_from_slice(key)
            .unwrap()
            .decrypt_in_place_detached(nonce, aad, buf, tag),
        _ => {
            Aes256Gcm::new_from_slice(key).unwrap().decrypt_in_place_detached(nonce, aad, buf, tag)
        }
    }
    .is_ok()
}

fn key_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(vec![16usize, 24, 32])
        .prop_flat_map(|n| prop::collection::vec(any::<u8>(), n))
}

proptest! {
    /// Encryption gives the `aes-gcm` crate's ciphertext and tag, for every key size and
    /// lengths across the eight-block batches and partial blocks.
    #[test]
    fn seals_like_the_aes_gcm_crate(
        key in key_bytes(),
        iv in any::<[u8; 12]>(),
        aad in prop::collection::vec(any::<u8>(), 0..70),
        plaintext in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        let mut ours = plaintext.clone();
        let tag = ContentKey::new(&key).unwrap().encrypt_in_place(&iv, &aad, &mut ours).unwrap();
        let mut theirs = plaintext.clone();
        let reference_tag = reference_seal(&key, &iv, &aad, &mut theirs);
        prop_assert_eq!(&ours, &theirs);
        prop_assert_eq!(tag, reference_tag);
        prop_assert!(reference_open(&key, &iv, &aad, &mut theirs, &tag));
        prop_assert_eq!(theirs, plaintext);
    }

    /// A flipped bit in the ciphertext, the tag or the AAD fails decryption, and the buffer
    /// is left as it was: no plaintext is released before the tag checks.
    #[test]
    fn rejects_any_change_before_decrypting(
        key in key_bytes(),
        iv in any::<[u8; 12]>(),
        aad in prop::collection::vec(any::<u8>(), 1..40),
        plaintext in prop::collection::vec(any::<u8>(), 1..200),
        which in 0usize..3,
        bit in any::<usize>(),
    ) {
        let key = ContentKey::new(&key).unwrap();
        let mut ct = plaintext.clone();
        let mut tag = key.encrypt_in_place(&iv, &aad, &mut ct).unwrap();
        let mut aad = aad;
        match which {
            0 => { let i = bit % (ct.len() * 8); ct[i / 8] ^= 1 << (i % 8); }
            1 => { let i = bit % 128; tag[i / 8] ^= 1 << (i % 8); }
            _ => { let i = bit % (aad.len() * 8); aad[i / 8] ^= 1 << (i % 8); }
        }
        let mut buf = ct.clone();
        let result = key.decrypt_in_place(&iv, &aad, &mut buf, &tag);
        prop_assert!(matches!(result, Err(Error::DecryptionFailed)));
        prop_assert_eq!(buf, ct);
    }
}
