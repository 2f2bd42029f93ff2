//! Property tests for the protocol parsers; the same functions are the fuzz targets in `fuzz/`.

use kms_api::sigv4::{self, Authorization};
use kms_api::types::{CreateKeyRequest, EncryptRequest};
use proptest::prelude::*;

proptest! {
    #[test]
    fn authorization_parser_never_panics(text in ".{0,300}") {
        let _ = Authorization::parse(&text);
    }

    #[test]
    fn authorization_parser_never_panics_on_near_valid_headers(
        akid in "[A-Za-z0-9]{0,20}",
        date in "[0-9]{0,9}",
        region in "[a-z0-9-]{0,15}",
        headers in "[a-z;-]{0,40}",
        sig in "[0-9a-fA-F]{0,70}",
        sep in prop::sample::select(vec![", ", ",", " ,", ",  "]),
    ) {
        let text = format!("AWS4-HMAC-SHA256 Credential={akid}/{date}/{region}/kms/aws4_request{sep}SignedHeaders={headers}{sep}Signature={sig}");
        if let Ok(auth) = Authorization::parse(&text) {
            prop_assert_eq!(auth.access_key_id, akid);
            prop_assert_eq!(auth.region, region);
        }
    }

    #[test]
    fn amz_date_round_trips(seconds in 0i64..253_402_300_799) {
        let text = sigv4::format_amz_date(seconds);
        prop_assert_eq!(sigv4::parse_amz_date(&text).unwrap(), seconds);
    }

    #[test]
    fn amz_date_parser_never_panics(text in ".{0,20}") {
        let _ = sigv4::parse_amz_date(&text);
    }

    #[test]
    fn request_decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = serde_json::from_slice::<EncryptRequest>(&bytes);
        let _ = serde_json::from_slice::<CreateKeyRequest>(&bytes);
    }

    #[test]
    fn sign_then_verify_holds_for_any_body(body in proptest::collection::vec(any::<u8>(), 0..256), at in 0i64..4_000_000_000) {
        let base = vec![("host".to_owned(), "kms.local".to_owned()), ("x-amz-target".to_owned(), "TrentService.Encrypt".to_owned())];
        let creds = sigv4::Credentials { access_key_id: "AKID", secret_access_key: "secret", session_token: None };
        let headers = sigv4::sign("POST", "/", "", &base, &body, &creds, "us-east-1", "kms", at).unwrap();
        let auth_value = &headers.iter().find(|(k, _)| k == "authorization").unwrap().1;
        let auth = Authorization::parse(auth_value).unwrap();
        let amz_date = headers.iter().find(|(k, _)| k == "x-amz-date").unwrap().1.clone();
        let hash = sigv4::sha256_hex(&body);
        let parts = sigv4::RequestParts { method: "POST", path: "/", query: "", headers: &headers, body_sha256_hex: &hash };
        let key = sigv4::SigningKey::derive("secret", &auth.date, "us-east-1", "kms");
        prop_assert!(sigv4::verify(&parts, &auth, &amz_date, &key).is_ok());
    }
}
