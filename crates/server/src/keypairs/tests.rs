use super::*;

fn roundtrip(kind: KeyKind, algorithm: SigningAlgorithm) {
    let generated = generate(kind).unwrap();
    let key = SecretKey::load(kind, false, &generated.secret).unwrap();
    assert_eq!(key.public_key_der().unwrap(), generated.public_key);
    let message = b"the message";
    let signature = key.sign(algorithm, SignInput::Raw(message)).unwrap();
    verify(kind, &generated.public_key, algorithm, SignInput::Raw(message), &signature).unwrap();
    assert_eq!(
        verify(kind, &generated.public_key, algorithm, SignInput::Raw(b"other"), &signature),
        Err(CryptoError::Mismatch)
    );
    if let Some(hash) = algorithm.digest_hash() {
        let digest = digest::digest(hash.digest_algorithm(), message);
        let from_digest = key.sign(algorithm, SignInput::Digest(digest.as_ref())).unwrap();
        // A signature over the digest verifies as a signature over the message.
        verify(kind, &generated.public_key, algorithm, SignInput::Raw(message), &from_digest)
            .unwrap();
        verify(
            kind,
            &generated.public_key,
            algorithm,
            SignInput::Digest(digest.as_ref()),
            &signature,
        )
        .unwrap();
    }
}

#[test]
fn every_signing_algorithm_round_trips() {
    for name in ["RSASSA_PSS_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PSS_SHA_512"] {
        roundtrip(KeyKind::Rsa(2048), SigningAlgorithm::from_name(name).unwrap());
    }
    roundtrip(KeyKind::Ecc(Curve::P256), SigningAlgorithm::Ecdsa(Hash::Sha256));
    roundtrip(KeyKind::Ecc(Curve::P384), SigningAlgorithm::Ecdsa(Hash::Sha384));
    roundtrip(KeyKind::Ecc(Curve::P521), SigningAlgorithm::Ecdsa(Hash::Sha512));
    roundtrip(KeyKind::Ecc(Curve::Secp256k1), SigningAlgorithm::Ecdsa(Hash::Sha256));
    roundtrip(KeyKind::Ed25519, SigningAlgorithm::Ed25519);
    for level in [44, 65, 87] {
        roundtrip(KeyKind::MlDsa(level), SigningAlgorithm::MlDsa);
    }
}

#[test]
fn a_key_of_the_wrong_kind_or_curve_is_rejected() {
    let p256 = generate(KeyKind::Ecc(Curve::P256)).unwrap();
    assert!(SecretKey::load(KeyKind::Ecc(Curve::P384), false, &p256.secret).is_err());
    assert!(SecretKey::load(KeyKind::Rsa(2048), false, &p256.secret).is_err());
    let rsa = generate(KeyKind::Rsa(2048)).unwrap();
    assert!(SecretKey::load(KeyKind::Rsa(3072), false, &rsa.secret).is_err());
}

#[test]
fn rsa_oaep_round_trips_and_respects_the_size_limit() {
    let generated = generate(KeyKind::Rsa(2048)).unwrap();
    let key = SecretKey::load(KeyKind::Rsa(2048), false, &generated.secret).unwrap();
    for hash in [Hash::Sha1, Hash::Sha256] {
        let max = oaep_max_plaintext(2048, hash);
        let plaintext = vec![7u8; max];
        let ciphertext = encrypt(&generated.public_key, hash, &plaintext).unwrap();
        assert_eq!(key.decrypt(hash, &ciphertext).unwrap().as_slice(), plaintext.as_slice());
        assert!(encrypt(&generated.public_key, hash, &vec![7u8; max + 1]).is_err());
    }
    assert_eq!(oaep_max_plaintext(2048, Hash::Sha1), 214);
    assert_eq!(oaep_max_plaintext(4096, Hash::Sha256), 446);
}

#[test]
fn ecdh_agrees_with_the_peer() {
    let ours = generate(KeyKind::Ecc(Curve::P256)).unwrap();
    let theirs = generate(KeyKind::Ecc(Curve::P256)).unwrap();
    let a = SecretKey::load(KeyKind::Ecc(Curve::P256), true, &ours.secret).unwrap();
    let b = SecretKey::load(KeyKind::Ecc(Curve::P256), true, &theirs.secret).unwrap();
    assert_eq!(a.agree(&theirs.public_key).unwrap(), b.agree(&ours.public_key).unwrap());
    let p384 = generate(KeyKind::Ecc(Curve::P384)).unwrap();
    assert_eq!(a.agree(&p384.public_key), Err(CryptoError::Invalid));
}

#[test]
fn hmac_verifies_and_detects_tampering() {
    let generated = generate(KeyKind::Hmac(384)).unwrap();
    assert_eq!(generated.secret.len(), 48);
    let key = SecretKey::load(KeyKind::Hmac(384), false, &generated.secret).unwrap();
    let tag = key.mac(b"m").unwrap();
    assert_eq!(tag.len(), 48);
    key.verify_mac(b"m", &tag).unwrap();
    assert_eq!(key.verify_mac(b"n", &tag), Err(CryptoError::Mismatch));
}

#[test]
fn imported_material_unwraps_with_both_wrapping_families() {
    let wrapping = generate_wrapping_key(2048).unwrap();
    let material = [0x42u8; 32];
    let oaep = encrypt(&wrapping.public_key, Hash::Sha256, &material).unwrap();
    let opened = unwrap_import(&wrapping.secret, Wrapping::Oaep(Hash::Sha256), &oaep).unwrap();
    assert_eq!(opened.as_slice(), &material);

    let aes_key = [9u8; 32];
    let mut blob = encrypt(&wrapping.public_key, Hash::Sha1, &aes_key).unwrap();
    let kek = AesKek::new(&AES_256, &aes_key).unwrap();
    let long = [0x17u8; 70];
    let mut out = vec![0u8; long.len() + 16];
    let wrapped = kek.wrap_with_padding(&long, &mut out).unwrap();
    blob.extend_from_slice(wrapped);
    let opened =
        unwrap_import(&wrapping.secret, Wrapping::RsaAesKeyWrap(Hash::Sha1), &blob).unwrap();
    assert_eq!(opened.as_slice(), &long);
    blob[300] ^= 1;
    assert!(unwrap_import(&wrapping.secret, Wrapping::RsaAesKeyWrap(Hash::Sha1), &blob).is_err());
}
