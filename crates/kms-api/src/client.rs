//! The responses a light client reads (GenerateDataKey, Encrypt, Decrypt, GetPublicKey,
//! GenerateRandom, and error bodies), decoded with [`crate::json`] instead of serde.
//!
//! They decode as the serde shapes in [`crate::types`] do: members are optional, `null`
//! counts as absent, unknown members are ignored, and a member of the wrong type, bad
//! base64 or a repeated member is an error. Request bodies are written with
//! [`crate::json::ObjectWriter`].

use crate::base64;

use crate::blob::{Blob, SecretBlob};
use crate::error::ErrorBody;
use crate::json::{JsonError, Reader};

/// The members of a client-side response; each operation fills the ones it returns.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ClientResponse {
    /// `KeyId`: the key ARN.
    pub key_id: Option<String>,
    /// `Plaintext` (GenerateDataKey, Decrypt, GenerateRandom).
    pub plaintext: Option<SecretBlob>,
    /// `CiphertextBlob` (GenerateDataKey, Encrypt).
    pub ciphertext_blob: Option<Blob>,
    /// `EncryptionAlgorithm` (Encrypt, Decrypt).
    pub encryption_algorithm: Option<String>,
    /// `PublicKey`: DER SPKI (GetPublicKey).
    pub public_key: Option<Blob>,
    /// `KeySpec` (GetPublicKey).
    pub key_spec: Option<String>,
    /// `KeyUsage` (GetPublicKey).
    pub key_usage: Option<String>,
    /// `EncryptionAlgorithms` (GetPublicKey).
    pub encryption_algorithms: Option<Vec<String>>,
    /// `SigningAlgorithms` (GetPublicKey).
    pub signing_algorithms: Option<Vec<String>>,
}

/// Stores `value` in `slot`, refusing a member seen before.
/// Stores `value` for the member numbered `member`, refusing a member that appears twice
/// (even as `null` the first time), as serde's derived readers do.
fn once<T>(
    reader: &Reader<'_>,
    seen: &mut u16,
    member: u16,
    slot: &mut Option<T>,
    value: Option<T>,
) -> Result<(), JsonError> {
    let bit = 1 << member;
    if *seen & bit != 0 {
        return Err(reader.error_here("duplicate member"));
    }
    *seen |= bit;
    *slot = value;
    Ok(())
}

fn opt_string(reader: &mut Reader<'_>) -> Result<Option<String>, JsonError> {
    if reader.null()? {
        return Ok(None);
    }
    Ok(Some(reader.string()?.into_owned()))
}

fn opt_strings(reader: &mut Reader<'_>) -> Result<Option<Vec<String>>, JsonError> {
    if reader.null()? {
        return Ok(None);
    }
    reader.begin_array()?;
    let mut out = Vec::new();
    while reader.next_element()? {
        out.push(reader.string()?.into_owned());
    }
    Ok(Some(out))
}

/// Base64 bytes, as [`Blob`]'s serde form reads them (a trailing newline is tolerated).
fn opt_base64(reader: &mut Reader<'_>) -> Result<Option<Vec<u8>>, JsonError> {
    if reader.null()? {
        return Ok(None);
    }
    let text = reader.string()?;
    let decoded = base64::decode(text.trim_end_matches('\n'));
    // A string with escapes was copied out of the body (in one allocation): the base64 of a
    // data key must not stay behind in it.
    if let std::borrow::Cow::Owned(copy) = text {
        drop(zeroize::Zeroizing::new(copy));
    }
    match decoded {
        Ok(bytes) => Ok(Some(bytes)),
        Err(_) => Err(reader.error_here("blob is not valid base64")),
    }
}

/// Decodes a response body. An empty body (operations without output) is an empty response.
///
/// # Errors
/// If the body is not a JSON object of the expected member types.
pub fn parse_response(body: &[u8]) -> Result<ClientResponse, JsonError> {
    let mut out = ClientResponse::default();
    if body.is_empty() {
        return Ok(out);
    }
    let mut r = Reader::from_bytes(body)?;
    let mut seen = 0;
    r.begin_object()?;
    while let Some(key) = r.next_key()? {
        match &*key {
            "KeyId" => {
                let v = opt_string(&mut r)?;
                once(&r, &mut seen, 0, &mut out.key_id, v)?;
            }
            "Plaintext" => {
                let v = opt_base64(&mut r)?.map(SecretBlob::new);
                once(&r, &mut seen, 1, &mut out.plaintext, v)?;
            }
            "CiphertextBlob" => {
                let v = opt_base64(&mut r)?.map(Blob);
                once(&r, &mut seen, 2, &mut out.ciphertext_blob, v)?;
            }
            "EncryptionAlgorithm" => {
                let v = opt_string(&mut r)?;
                once(&r, &mut seen, 3, &mut out.encryption_algorithm, v)?;
            }
            "PublicKey" => {
                let v = opt_base64(&mut r)?.map(Blob);
                once(&r, &mut seen, 4, &mut out.public_key, v)?;
            }
            "KeySpec" => {
                let v = opt_string(&mut r)?;
                once(&r, &mut seen, 5, &mut out.key_spec, v)?;
            }
            "KeyUsage" => {
                let v = opt_string(&mut r)?;
                once(&r, &mut seen, 6, &mut out.key_usage, v)?;
            }
            "EncryptionAlgorithms" => {
                let v = opt_strings(&mut r)?;
                once(&r, &mut seen, 7, &mut out.encryption_algorithms, v)?;
            }
            "SigningAlgorithms" => {
                let v = opt_strings(&mut r)?;
                once(&r, &mut seen, 8, &mut out.signing_algorithms, v)?;
            }
            _ => r.skip()?,
        }
    }
    r.end()?;
    Ok(out)
}

/// Decodes an error body `{"__type": "...", "message": "..."}` (`Message` also accepted).
///
/// # Errors
/// If the body is not such an object.
pub fn parse_error_body(body: &[u8]) -> Result<ErrorBody, JsonError> {
    let mut r = Reader::from_bytes(body)?;
    r.begin_object()?;
    let mut error_type = None;
    let mut message = None;
    let mut seen = 0;
    while let Some(key) = r.next_key()? {
        match &*key {
            "__type" => {
                let v = Some(r.string()?.into_owned());
                once(&r, &mut seen, 0, &mut error_type, v)?;
            }
            "message" | "Message" => {
                let v = opt_string(&mut r)?;
                once(&r, &mut seen, 1, &mut message, v)?;
            }
            _ => r.skip()?,
        }
    }
    r.end()?;
    match error_type {
        Some(error_type) => Ok(ErrorBody { error_type, message }),
        None => Err(JsonError { offset: body.len(), reason: "missing member __type" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types;
    use proptest::prelude::*;

    #[test]
    fn a_member_named_twice_is_refused_even_after_null() {
        assert!(parse_response(br#"{"CiphertextBlob":null,"CiphertextBlob":"AAEC"}"#).is_err());
        assert!(parse_response(br#"{"KeyId":"a","KeyId":"a"}"#).is_err());
        assert!(parse_error_body(br#"{"__type":"X","message":"a","Message":"b"}"#).is_err());
    }

    #[test]
    fn reads_a_generate_data_key_response() {
        let body = br#"{"KeyId":"arn:k","Plaintext":"AAEC","CiphertextBlob":"+g==","Extra":{"a":[1,null]}}"#;
        let r = parse_response(body).unwrap();
        assert_eq!(r.key_id.as_deref(), Some("arn:k"));
        assert_eq!(r.plaintext.unwrap().expose_secret(), &[0, 1, 2]);
        assert_eq!(r.ciphertext_blob, Some(Blob(vec![250])));
    }

    #[test]
    fn reads_a_get_public_key_response() {
        let body = br#"{"KeyId":"k","PublicKey":"AQ==","KeySpec":"RSA_2048","KeyUsage":"ENCRYPT_DECRYPT",
            "EncryptionAlgorithms":["RSAES_OAEP_SHA_1","RSAES_OAEP_SHA_256"],"SigningAlgorithms":null}"#;
        let r = parse_response(body).unwrap();
        assert_eq!(r.public_key, Some(Blob(vec![1])));
        assert_eq!(r.key_spec.as_deref(), Some("RSA_2048"));
        assert_eq!(r.key_usage.as_deref(), Some("ENCRYPT_DECRYPT"));
        assert_eq!(r.encryption_algorithms.unwrap().len(), 2);
        assert_eq!(r.signing_algorithms, None);
    }

    #[test]
    fn empty_body_is_an_empty_response() {
        assert_eq!(parse_response(b"").unwrap(), ClientResponse::default());
        assert_eq!(parse_response(b" {} ").unwrap(), ClientResponse::default());
    }

    #[test]
    fn rejects_wrong_types_bad_base64_and_repeats() {
        for bad in [
            &br#"{"KeyId":1}"#[..],
            br#"{"Plaintext":"not base64!"}"#,
            br#"{"KeyId":"a","KeyId":"b"}"#,
            br#"{"EncryptionAlgorithms":"x"}"#,
            br#"[]"#,
            br#"{"KeyId":"a"} {}"#,
            b"\xff",
        ] {
            assert!(parse_response(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn reads_error_bodies() {
        let b = parse_error_body(br#"{"__type":"NotFoundException","message":"gone"}"#).unwrap();
        assert_eq!(
            (b.error_type.as_str(), b.message.as_deref()),
            ("NotFoundException", Some("gone"))
        );
        let b = parse_error_body(br#"{"Message":"m","__type":"x#AccessDeniedException"}"#).unwrap();
        assert_eq!(b.message.as_deref(), Some("m"));
        let b = parse_error_body(br#"{"__type":"ThrottlingException"}"#).unwrap();
        assert_eq!(b.message, None);
        assert!(parse_error_body(br#"{"message":"no type"}"#).is_err());
        assert!(parse_error_body(b"<html>").is_err());
    }

    fn opt_text() -> impl Strategy<Value = Option<String>> {
        prop::option::of(any::<String>())
    }

    fn opt_bytes() -> impl Strategy<Value = Option<Vec<u8>>> {
        prop::option::of(prop::collection::vec(any::<u8>(), 0..80))
    }

    proptest! {
        /// What the server's serde shapes write, this reads to the same members.
        #[test]
        fn reads_what_the_server_writes(
            key_id in opt_text(),
            plaintext in opt_bytes(),
            blob in opt_bytes(),
            algorithm in opt_text(),
        ) {
            let gdk = types::GenerateDataKeyResponse {
                key_id: key_id.clone(),
                plaintext: plaintext.clone().map(SecretBlob::new),
                ciphertext_blob: blob.clone().map(Blob),
                ..Default::default()
            };
            let r = parse_response(&serde_json::to_vec(&gdk).unwrap()).unwrap();
            prop_assert_eq!(&r.key_id, &key_id);
            prop_assert_eq!(r.plaintext, plaintext.clone().map(SecretBlob::new));
            prop_assert_eq!(r.ciphertext_blob, blob.map(Blob));

            let dec = types::DecryptResponse {
                key_id: key_id.clone(),
                plaintext: plaintext.clone().map(SecretBlob::new),
                encryption_algorithm: algorithm.clone(),
                ..Default::default()
            };
            let r = parse_response(&serde_json::to_vec(&dec).unwrap()).unwrap();
            prop_assert_eq!(&r.key_id, &key_id);
            prop_assert_eq!(r.plaintext, plaintext.map(SecretBlob::new));
            prop_assert_eq!(&r.encryption_algorithm, &algorithm);

            let err = crate::error::ErrorBody {
                error_type: key_id.clone().unwrap_or_default(),
                message: algorithm.clone(),
            };
            let b = parse_error_body(&serde_json::to_vec(&err).unwrap()).unwrap();
            prop_assert_eq!(b, err);
        }

        /// Whatever this accepts, serde's shape accepts too, with the same members.
        #[test]
        fn accepts_no_more_than_serde(text in r#"\{("(KeyId|Plaintext|CiphertextBlob|X)":("[A-Za-z0-9+/=]{0,8}"|null|1|\[\]),?){0,3}\}"#) {
            if let Ok(mine) = parse_response(text.as_bytes()) {
                let theirs: types::GenerateDataKeyResponse = serde_json::from_str(&text).unwrap();
                prop_assert_eq!(mine.key_id, theirs.key_id);
                prop_assert_eq!(mine.plaintext, theirs.plaintext);
                prop_assert_eq!(mine.ciphertext_blob, theirs.ciphertext_blob);
            }
        }
    }
}
