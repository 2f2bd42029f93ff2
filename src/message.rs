//! One-shot `encrypt` / `decrypt`, and the options they share with the streams.

use js_sys::{Object, Promise, Uint8Array};
use kms_envelope::client::{DecryptConfig, EncryptConfig};
use kms_envelope::suite::{AlgorithmSuite, CommitmentPolicy};
use kms_envelope::{Decryptor, Encryptor};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use crate::convert::{context_field, field, header_to_js, promise, set, string_field, uint_field};
use crate::ec;
use crate::error::{from_envelope, invalid};
use crate::handle::{cmm_and_caching, cmm_of};
use crate::js_bytes::{pieces, wipe, JsParts, SecretBuf, Snapshot};
use crate::subtle_aead::{Bulk, BulkMode};
use crate::typings::{options_or_undefined, DecryptOptions, EncryptOptions};
use crate::websign;

/// `commitmentPolicy`: `REQUIRE_ENCRYPT_REQUIRE_DECRYPT` (default),
/// `REQUIRE_ENCRYPT_ALLOW_DECRYPT` or `FORBID_ENCRYPT_ALLOW_DECRYPT`.
fn policy_of(options: &JsValue) -> Result<CommitmentPolicy, JsValue> {
    Ok(match string_field(options, "commitmentPolicy")?.as_deref() {
        None | Some("REQUIRE_ENCRYPT_REQUIRE_DECRYPT") => {
            CommitmentPolicy::RequireEncryptRequireDecrypt
        }
        Some("REQUIRE_ENCRYPT_ALLOW_DECRYPT") => CommitmentPolicy::RequireEncryptAllowDecrypt,
        Some("FORBID_ENCRYPT_ALLOW_DECRYPT") => CommitmentPolicy::ForbidEncryptAllowDecrypt,
        Some(other) => return Err(invalid(&format!("unknown commitmentPolicy \"{other}\""))),
    })
}

/// `suiteId`: a suite id number (e.g. `0x0578`) or name.
fn suite_of(options: &JsValue) -> Result<Option<&'static AlgorithmSuite>, JsValue> {
    let Some(v) = field(options, "suiteId") else { return Ok(None) };
    let suite = match (v.as_f64(), v.as_string()) {
        (Some(n), _) if (0.0..=65535.0).contains(&n) && n.fract() == 0.0 => {
            // Checked: a whole number that fits in u16.
            AlgorithmSuite::by_id(n as u16)
        }
        (_, Some(name)) => AlgorithmSuite::by_name(&name),
        _ => None,
    };
    suite.map(Some).ok_or_else(|| invalid("unknown suiteId"))
}

/// Encryption options: `encryptionContext`, `suiteId`, `frameLength`, `commitmentPolicy`,
/// `maxEncryptedDataKeys`, `plaintextLength` (streams); `bulkCrypto` is read by
/// [`BulkMode::from_options`].
pub(crate) fn encrypt_config(options: &JsValue) -> Result<EncryptConfig, JsValue> {
    let mut config = EncryptConfig {
        commitment_policy: policy_of(options)?,
        suite: suite_of(options)?,
        max_encrypted_data_keys: max_edks(options)?,
        plaintext_length_bound: uint_field(options, "plaintextLength", u64::MAX)?,
        ..EncryptConfig::default()
    };
    if let Some(n) = uint_field(options, "frameLength", u64::from(u32::MAX))? {
        if n == 0 {
            return Err(invalid("frameLength must be at least 1"));
        }
        // Bounded by u32::MAX above.
        config.frame_length = n as u32;
    }
    Ok(config)
}

fn max_edks(options: &JsValue) -> Result<Option<usize>, JsValue> {
    // At most 65535: the format's own limit.
    Ok(uint_field(options, "maxEncryptedDataKeys", 65_535)?.map(|n| n as usize))
}

/// Decryption options: `encryptionContext` (reproduced; must match), `commitmentPolicy`,
/// `maxEncryptedDataKeys`, `maxBodySize`.
pub(crate) fn decrypt_config(options: &JsValue) -> Result<DecryptConfig, JsValue> {
    let context = context_field(options, "encryptionContext")?;
    Ok(DecryptConfig {
        commitment_policy: policy_of(options)?,
        max_encrypted_data_keys: max_edks(options)?,
        reproduced_encryption_context: (!context.is_empty()).then_some(context),
        max_body_size: uint_field(options, "maxBodySize", u64::MAX)?,
        forbid_signed_suites: false,
    })
}

/// Encrypts `plaintext` into one AWS Encryption SDK message: `{ result, messageHeader }`.
/// Options: `encryptionContext`, `suiteId` (default `0x0578`), `frameLength` (default 4096),
/// `commitmentPolicy` (default `REQUIRE_ENCRYPT_REQUIRE_DECRYPT`), `maxEncryptedDataKeys`,
/// `bulkCrypto` (`"auto"`: WebCrypto for large messages where it exists, `"rust"`, `"webcrypto"`).
/// Signed suites sign with WebCrypto where it exists (the EC module is then not loaded).
#[wasm_bindgen(
    unchecked_return_type = "Promise<{ result: Uint8Array, messageHeader: MessageHeader }>"
)]
pub fn encrypt(
    #[wasm_bindgen(js_name = keyringOrCmm, unchecked_param_type = "Keyring | CachingMaterialsManager")]
    keyring_or_cmm: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] plaintext: JsValue,
    options: Option<EncryptOptions>,
) -> Result<Promise, JsValue> {
    let options = options_or_undefined(options);
    let plaintext = Snapshot::new(&plaintext, "plaintext", true)?;
    let (cmm, caching) = cmm_and_caching(&keyring_or_cmm)?;
    let mut config = encrypt_config(&options)?;
    config.plaintext_length_bound = Some(u64::from(plaintext.len()));
    let context = context_field(&options, "encryptionContext")?;
    let mut bulk = Bulk::new(BulkMode::from_options(&options)?)?;
    let signature =
        config.suite.unwrap_or_else(|| config.commitment_policy.default_suite()).signature;
    // Cached materials may go to a stream later, which needs the scalar (websign.rs).
    let extractable = caching;
    Ok(promise(async move {
        // Signed suites: a WebCrypto key where possible, else the EC module's.
        let web_key = match signature {
            Some(algorithm) => websign::prepare(algorithm, extractable).await,
            None => None,
        };
        ec::ensure_if(signature.is_some() && web_key.is_none()).await?;
        let mut encryptor = websign::offer(web_key, Encryptor::new(cmm.as_ref(), context, &config))
            .await
            .map_err(from_envelope)?;
        // A WebCrypto key signs the whole message at the end; any other key (cached
        // materials from a stream, or no WebCrypto) signs the running hash as before.
        let web_signature = match encryptor.signing_key() {
            Some(key) if websign::is_web(key) => {
                encryptor.detach_signature().map_err(from_envelope)?
            }
            Some(_) => {
                ec::ensure().await?;
                None
            }
            None => None,
        };
        let header = header_to_js(encryptor.header());
        let mut message = JsParts::ciphertext();
        for (start, end) in pieces(plaintext.len()) {
            let piece = SecretBuf::from(plaintext.read(start, end));
            bulk.encrypt(&mut encryptor, &piece, &mut message).await?;
        }
        bulk.finish_encrypt(encryptor, &mut message).await?;
        let whole = match web_signature {
            Some(key) => websign::append_footer(&key, message).await?,
            None => message.join(),
        };
        let result = Object::new();
        set(&result, "result", &whole);
        set(&result, "messageHeader", &header);
        Ok(result.into())
    }))
}

/// Decrypts one whole message: `{ plaintext, messageHeader }`; nothing is returned unless
/// every check (commitment, tags, signature) passes. Options: `encryptionContext` (pairs
/// that must be in the message's context), `commitmentPolicy`, `maxEncryptedDataKeys`,
/// `maxBodySize`, `bulkCrypto`.
#[wasm_bindgen(
    unchecked_return_type = "Promise<{ plaintext: Uint8Array, messageHeader: MessageHeader }>"
)]
pub fn decrypt(
    #[wasm_bindgen(js_name = keyringOrCmm, unchecked_param_type = "Keyring | CachingMaterialsManager")]
    keyring_or_cmm: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] ciphertext: JsValue,
    options: Option<DecryptOptions>,
) -> Result<Promise, JsValue> {
    let options = options_or_undefined(options);
    let ciphertext = Snapshot::new(&ciphertext, "ciphertext", false)?;
    let cmm = cmm_of(&keyring_or_cmm)?;
    let config = decrypt_config(&options)?;
    let mut bulk = Bulk::new(BulkMode::from_options(&options)?)?;
    // Where WebCrypto exists it verifies a signed message's footer (websign.rs).
    let web_verify = crate::subtle::subtle().is_some();
    Ok(promise(async move {
        let mut decryptor = Decryptor::new(cmm.as_ref(), &config);
        if web_verify {
            decryptor.detach_signature().map_err(from_envelope)?;
        }
        // Wiped if anything fails.
        let mut plaintext = JsParts::plaintext();
        let mut out = SecretBuf::default();
        let mut peek = ec::SignedPeek::default();
        for (start, end) in pieces(ciphertext.len()) {
            let piece = ciphertext.read(start, end);
            // Without WebCrypto a signed message's signature is checked in the EC module.
            if !web_verify && !ec::ec_module_loaded() {
                ec::ensure_if(peek.feed(&piece) == Some(true)).await?;
            }
            bulk.decrypt(&mut decryptor, &piece, &mut out).await?;
            // One path per piece: Rust output or WebCrypto output, never both.
            plaintext.push_bytes(&out);
            wipe(&mut out);
            bulk.move_released(&mut plaintext);
        }
        let (info, detached) = decryptor.finish_detached(&mut out).map_err(from_envelope)?;
        if let Some(detached) = detached {
            // The footer is the last 2 + signature bytes (the decryptor refuses anything
            // after it).
            let signed_len = ciphertext.len().saturating_sub(2 + detached.signature.len() as u32);
            if !websign::verify_footer(&detached, &ciphertext.view(0, signed_len)).await? {
                if let Some(held) = bulk.take_held() {
                    held.fill(0, 0, held.length());
                }
                // `plaintext` and `out` are wiped as they drop.
                return Err(from_envelope(kms_envelope::Error::DecryptionFailed));
            }
        }
        // The signature has verified: the held final piece may go.
        plaintext.push_bytes(&out);
        if let Some(held) = bulk.take_held() {
            plaintext.push(held);
        }
        let whole =
            if plaintext.is_empty() { Uint8Array::new_with_length(0) } else { plaintext.join() };
        let result = Object::new();
        set(&result, "plaintext", &whole);
        set(&result, "messageHeader", &header_to_js(&info.header));
        Ok(result.into())
    }))
}
