//! wasm-bindgen-test under Node: the exported API called from Rust, as JS would call it.
//! The test runner's output holds this module only, not the EC module (kms_wasm_ec): what
//! needs it (signed streams, DIGEST verification) is tested against the npm package
//! (tests/node, tests/browser); here it must fail cleanly. Signed one-shot calls need only
//! WebCrypto.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)]

use js_sys::{Object, Reflect, Uint8Array};
use kms_wasm::{decrypt, ec_module_loaded, encrypt, verify, RawAesKeyring};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &(*k).into(), v).unwrap();
    }
    o.into()
}

fn bytes(b: &[u8]) -> JsValue {
    Uint8Array::from(b).into()
}

fn get(o: &JsValue, k: &str) -> JsValue {
    Reflect::get(o, &k.into()).unwrap()
}

fn keyring(key: u8) -> JsValue {
    let options = object(&[
        ("keyNamespace", "ns".into()),
        ("keyName", "name".into()),
        ("wrappingKey", Uint8Array::from(&[key; 32][..]).into()),
    ]);
    RawAesKeyring::new(options).unwrap().into()
}

#[wasm_bindgen_test]
async fn raw_aes_round_trip_and_wrong_key_fails() {
    let ring = keyring(1);
    let context =
        object(&[("encryptionContext", object(&[("k", "v".into())])), ("suiteId", 0x0478.into())]);
    let out = JsFuture::from(
        encrypt(ring.clone(), bytes(b"wasm test"), Some(context.unchecked_into())).unwrap(),
    )
    .await
    .unwrap();
    let header = get(&out, "messageHeader");
    assert_eq!(get(&header, "suiteId").as_f64(), Some(f64::from(0x0478)));
    let ct = get(&out, "result").unchecked_into::<Uint8Array>().to_vec();

    let back = JsFuture::from(decrypt(ring, bytes(&ct), None).unwrap()).await.unwrap();
    let pt = get(&back, "plaintext").unchecked_into::<Uint8Array>().to_vec();
    assert_eq!(pt, b"wasm test");

    let err = JsFuture::from(decrypt(keyring(2), bytes(&ct), None).unwrap()).await.unwrap_err();
    assert_eq!(get(&err, "code").as_string().as_deref(), Some("NoDecryptableDataKey"));
    assert_eq!(get(&err, "name").as_string().as_deref(), Some("KmsError"));
}

#[wasm_bindgen_test]
async fn signed_one_shot_calls_use_webcrypto_and_the_ec_module_is_only_needed_elsewhere() {
    // The default suite (ECDSA P-384): WebCrypto signs and verifies one-shot messages.
    let out = JsFuture::from(encrypt(keyring(1), bytes(b"signed"), None).unwrap()).await.unwrap();
    let back = JsFuture::from(decrypt(keyring(1), get(&out, "result"), None).unwrap());
    let plaintext = get(&back.await.unwrap(), "plaintext").unchecked_into::<Uint8Array>();
    assert_eq!(plaintext.to_vec(), b"signed");
    let mut tampered = get(&out, "result").unchecked_into::<Uint8Array>().to_vec();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let err = JsFuture::from(decrypt(keyring(1), bytes(&tampered), None).unwrap()).await;
    assert_eq!(get(&err.unwrap_err(), "code").as_string().as_deref(), Some("DecryptionFailed"));
    assert!(!ec_module_loaded());

    // DIGEST verification needs the EC module, which this runner's output does not hold.
    let context = get(&get(&out, "messageHeader"), "encryptionContext");
    let point = get(&context, "aws-crypto-public-key").as_string().unwrap();
    let atob = get(&js_sys::global(), "atob").unchecked_into::<js_sys::Function>();
    let point = atob.call1(&JsValue::NULL, &point.into()).unwrap().as_string().unwrap();
    let mut spki = vec![
        0x30, 0x46, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05,
        0x2b, 0x81, 0x04, 0x00, 0x22, 0x03, 0x32, 0x00,
    ];
    spki.extend(point.chars().map(|c| c as u8));
    let signature = [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01];
    let (message, signature) = (vec![0; 48], signature.to_vec());
    let digest = verify(spki, message, signature, "ECDSA_SHA_384".into(), Some("DIGEST".into()));
    let err = JsFuture::from(digest).await.unwrap_err();
    assert_eq!(get(&err, "code").as_string().as_deref(), Some("EcModuleUnavailable"));
    assert!(!ec_module_loaded());
}

#[wasm_bindgen_test]
async fn verify_rejects_garbage_keys_with_a_code() {
    let (spki, message, signature) = (b"junk".to_vec(), b"m".to_vec(), b"s".to_vec());
    let verified = verify(spki, message, signature, "ECDSA_SHA_256".into(), None);
    let err = JsFuture::from(verified).await.unwrap_err();
    assert_eq!(get(&err, "code").as_string().as_deref(), Some("InvalidKey"));
}

#[wasm_bindgen_test]
fn bad_options_are_validation_errors() {
    let err = RawAesKeyring::new(object(&[("keyNamespace", "ns".into())])).err().unwrap();
    assert_eq!(get(&err, "code").as_string().as_deref(), Some("ValidationException"));
}

/// The bulk AES-GCM paths, forced: each decrypts what the other encrypts (several pieces of
/// a one-shot call, frames straddling them), and a flipped byte fails on both.
#[wasm_bindgen_test]
async fn rust_and_webcrypto_paths_read_each_other() {
    let ring = keyring(3);
    let data: Vec<u8> = (0..2_500_000u32).map(|i| (i % 251) as u8).collect();
    for (enc, dec) in [("webcrypto", "rust"), ("rust", "webcrypto")] {
        let opts = |mode: &str| object(&[("bulkCrypto", mode.into()), ("suiteId", 0x0478.into())]);
        let out = JsFuture::from(
            encrypt(ring.clone(), bytes(&data), Some(opts(enc).unchecked_into())).unwrap(),
        );
        let ct = get(&out.await.unwrap(), "result").unchecked_into::<Uint8Array>().to_vec();
        let back = JsFuture::from(
            decrypt(ring.clone(), bytes(&ct), Some(opts(dec).unchecked_into())).unwrap(),
        );
        let pt = get(&back.await.unwrap(), "plaintext").unchecked_into::<Uint8Array>().to_vec();
        assert!(pt == data, "{enc} -> {dec}");
        let mut bad = ct.clone();
        let at = bad.len() - 5000;
        bad[at] ^= 1;
        let err = JsFuture::from(
            decrypt(ring.clone(), bytes(&bad), Some(opts(dec).unchecked_into())).unwrap(),
        );
        let err = err.await.unwrap_err();
        assert_eq!(get(&err, "code").as_string().as_deref(), Some("DecryptionFailed"));
    }
}

#[wasm_bindgen_test]
fn client_endpoints_must_be_plain_http_urls() {
    let client = |endpoint: &str| {
        let credentials =
            object(&[("accessKeyId", "AKID".into()), ("secretAccessKey", "secret".into())]);
        let options = object(&[
            ("endpoint", endpoint.into()),
            ("region", "us-east-1".into()),
            ("credentials", credentials),
        ]);
        kms_wasm::KmsClient::new(options)
    };
    for ok in [
        "http://127.0.0.1:7080",
        "https://KMS.example.com",
        "https://kms.example.com:8443/",
        "http://[::1]:80/prefix/kms",
    ] {
        assert!(client(ok).is_ok(), "{ok}");
    }
    for (bad, message) in [
        ("ftp://x", "must start with http:// or https://"),
        ("HTTP://x", "must start with http:// or https://"),
        ("http:/x", "must start with http:// or https://"),
        ("x://http://y", "must start with http:// or https://"),
        ("http://", "is not a plain http(s) URL"),
        ("https:///path", "is not a plain http(s) URL"),
        ("http://user@x", "is not a plain http(s) URL"),
        ("http://x/a?b", "is not a plain http(s) URL"),
        ("http://x/a#b", "is not a plain http(s) URL"),
        ("http://x?a/b", "must not have a query or fragment"),
        ("http://x#a", "must not have a query or fragment"),
    ] {
        let err = client(bad).err().unwrap_or_else(|| panic!("{bad} was accepted"));
        assert_eq!(get(&err, "code").as_string().as_deref(), Some("ValidationException"));
        let text = get(&err, "message").as_string().unwrap();
        assert!(text.contains(message), "{bad}: {text}");
    }
}

#[wasm_bindgen_test]
async fn a_region_that_cannot_be_signed_fails_the_call_before_fetch() {
    let credentials =
        object(&[("accessKeyId", "AKID".into()), ("secretAccessKey", "secret".into())]);
    let options = object(&[
        // Nothing listens here: a request that got as far as fetch would fail differently.
        ("endpoint", "http://127.0.0.1:9".into()),
        ("region", "us east/1".into()),
        ("credentials", credentials),
        ("maxAttempts", 1.into()),
    ]);
    let client = kms_wasm::KmsClient::new(options).unwrap();
    let err = JsFuture::from(client.generate_random(16)).await.unwrap_err();
    assert_eq!(get(&err, "code").as_string().as_deref(), Some("InvalidSignatureException"));
    let message = get(&err, "message").as_string().unwrap();
    assert!(message.contains("must not contain"), "{message}");
}

#[wasm_bindgen_test]
fn randomness_comes_from_get_random_values_in_chunks_and_fails_without_it() {
    use kms_envelope::crypto::fill_random;
    // Longer than two getRandomValues calls (65,536 bytes each): no chunk may stay zero.
    let mut buf = vec![0u8; 2 * 65_536 + 17];
    fill_random(&mut buf).unwrap();
    for window in buf.chunks(512) {
        assert!(window.iter().any(|&b| b != 0));
    }
    fill_random(&mut []).unwrap();

    // Without globalThis.crypto the call fails rather than leave the buffer as it was.
    let global = js_sys::global();
    let crypto = Reflect::get_own_property_descriptor(&global, &"crypto".into()).unwrap();
    assert!(!crypto.is_undefined(), "this Node has no globalThis.crypto");
    let hidden = object(&[("value", JsValue::UNDEFINED), ("configurable", true.into())]);
    Reflect::define_property(&global, &"crypto".into(), hidden.unchecked_ref()).unwrap();
    let result = fill_random(&mut [0u8; 16]);
    Reflect::define_property(&global, &"crypto".into(), crypto.unchecked_ref()).unwrap();
    assert!(matches!(result, Err(kms_envelope::Error::Random)), "{result:?}");
    fill_random(&mut [0u8; 16]).unwrap();
}

/// How many times the 16 bytes of `marker` occur, at any offset, in this module's memory
/// (counted in JS, so that the scan copies nothing into that memory).
fn occurrences_in_wasm_memory(marker: &Uint8Array) -> u32 {
    let count = js_sys::Function::new_with_args(
        "memory, m",
        "const a = new Uint8Array(memory.buffer); let n = 0; \
         for (let i = 0; i + 16 <= a.length; i++) { \
           if (a[i] !== m[0]) continue; \
           let j = 1; while (j < 16 && a[i + j] === m[j]) j++; \
           if (j === 16) n++; } return n",
    );
    count.call2(&JsValue::NULL, &wasm_bindgen::memory(), marker).unwrap().as_f64().unwrap() as u32
}

/// Decrypted plaintext passes through wasm memory on the Rust path: no copy of it may stay
/// behind there after the call, in particular none left in freed blocks when an output
/// buffer grew (the TLSF allocator moves a block to grow it).
#[wasm_bindgen_test]
async fn decrypt_leaves_no_plaintext_in_wasm_memory() {
    // Built in JS memory: the marker's bytes are not in this module's data.
    let marker = Uint8Array::new_with_length(16);
    js_random(&marker);
    let blocks = 16_384u32; // 256 KiB
    let plaintext = Uint8Array::new_with_length(16 * blocks);
    for i in 0..blocks {
        plaintext.set(&marker, 16 * i);
    }
    let ring = keyring(3);
    let options = || {
        object(&[
            ("suiteId", 0x0478.into()),
            ("frameLength", 4096.into()),
            ("bulkCrypto", "rust".into()),
        ])
    };
    let before = occurrences_in_wasm_memory(&marker);
    let sealed = JsFuture::from(
        encrypt(ring.clone(), plaintext.into(), Some(options().unchecked_into())).unwrap(),
    )
    .await
    .unwrap();
    let opened = JsFuture::from(
        decrypt(ring, get(&sealed, "result"), Some(options().unchecked_into())).unwrap(),
    )
    .await
    .unwrap();
    let back = get(&opened, "plaintext").unchecked_into::<Uint8Array>();
    assert_eq!(back.length(), 16 * blocks);
    assert_eq!(back.subarray(16 * (blocks - 1), 16 * blocks).to_string(), marker.to_string());
    let left = occurrences_in_wasm_memory(&marker) - before;
    assert!(left < 64, "{left} of {blocks} plaintext blocks are still in wasm memory");
}

/// Fills `bytes` with random bytes from JS (`crypto.getRandomValues`).
fn js_random(bytes: &Uint8Array) {
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).unwrap();
    let get_random = Reflect::get(&crypto, &"getRandomValues".into()).unwrap();
    get_random.unchecked_into::<js_sys::Function>().call1(&crypto, bytes).unwrap();
}
