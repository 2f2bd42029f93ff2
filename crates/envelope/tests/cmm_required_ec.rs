//! The required encryption context materials manager (spec
//! `framework/required-encryption-context-cmm.md`).

mod cmm_common;

use std::sync::Arc;

use cmm_common::{block_on, data_key, dec_request, decrypted_key, ec, enc_request, TestKeyring};
use kms_envelope::cmm::default::DefaultCmm;
use kms_envelope::cmm::required_ec::RequiredEncryptionContextCmm;
use kms_envelope::cmm::{
    CryptographicMaterialsManager, DecryptMaterialsRequest, EncryptionMaterialsRequest,
};
use kms_envelope::materials::{DecryptionMaterials, EncryptionMaterials};
use kms_envelope::Error;

fn cmm(keys: &[&str]) -> (RequiredEncryptionContextCmm, Arc<TestKeyring>) {
    let keyring = TestKeyring::new();
    (RequiredEncryptionContextCmm::with_keyring(keyring.clone(), keys.iter().copied()), keyring)
}

#[test]
fn encrypt_must_fail_when_a_required_key_is_missing() {
    let (cmm, keyring) = cmm(&["tenant", "purpose"]);
    let err = block_on(cmm.get_encryption_materials(enc_request(
        ec(&[("tenant", "a"), ("other", "x")]),
        None,
        None,
    )))
    .unwrap_err();
    assert!(matches!(err, Error::EncryptionContext(_)), "{err:?}");
    assert_eq!(keyring.calls(), 0);
}

#[test]
fn encrypt_records_the_required_keys_in_the_materials() {
    let (cmm, _) = cmm(&["tenant", "tenant"]);
    assert_eq!(cmm.required_encryption_context_keys(), ["tenant"]);
    let mut request = enc_request(ec(&[("tenant", "a"), ("purpose", "x")]), None, None);
    request.required_encryption_context_keys = vec!["purpose".into()];
    let materials = block_on(cmm.get_encryption_materials(request)).unwrap();
    let mut keys = materials.required_encryption_context_keys.clone();
    keys.sort();
    assert_eq!(keys, ["purpose", "tenant"]);
    // The required pairs stay in the (authenticated) context.
    assert_eq!(materials.encryption_context.get("tenant").unwrap(), "a");
}

#[test]
fn decrypt_must_fail_when_the_reproduced_context_lacks_a_required_key() {
    let (cmm, keyring) = cmm(&["tenant"]);
    let materials =
        block_on(cmm.get_encryption_materials(enc_request(ec(&[("tenant", "a")]), None, None)))
            .unwrap();
    let stored = cmm_common::stored_context(&materials);
    for reproduced in [None, Some(ec(&[])), Some(ec(&[("other", "a")]))] {
        let request = DecryptMaterialsRequest {
            encryption_context: stored.clone(),
            reproduced_encryption_context: reproduced,
            ..dec_request(&materials, None)
        };
        let err = block_on(cmm.decrypt_materials(request)).unwrap_err();
        assert!(matches!(err, Error::EncryptionContext(_)), "{err:?}");
    }
    assert_eq!(keyring.decrypt_calls(), 0);
}

#[test]
fn decrypt_with_the_reproduced_required_key_recovers_the_data_key() {
    let (cmm, _) = cmm(&["tenant"]);
    let materials = block_on(cmm.get_encryption_materials(enc_request(
        ec(&[("tenant", "a"), ("purpose", "x")]),
        None,
        None,
    )))
    .unwrap();
    let stored = cmm_common::stored_context(&materials);
    assert!(!stored.contains_key("tenant"));
    assert!(stored.contains_key("purpose"));
    let request = DecryptMaterialsRequest {
        encryption_context: stored,
        reproduced_encryption_context: Some(ec(&[("tenant", "a")])),
        ..dec_request(&materials, None)
    };
    let decrypted = block_on(cmm.decrypt_materials(request)).unwrap();
    assert_eq!(decrypted.encryption_context, materials.encryption_context);
    assert_eq!(decrypted.required_encryption_context_keys, ["tenant"]);
    assert_eq!(decrypted_key(&decrypted), data_key(&materials));
}

#[test]
fn decrypt_with_a_wrong_reproduced_value_fails() {
    let (cmm, _) = cmm(&["tenant"]);
    let materials = block_on(cmm.get_encryption_materials(enc_request(
        ec(&[("tenant", "a"), ("purpose", "x")]),
        None,
        None,
    )))
    .unwrap();
    // The required key is not stored: the wrong value is caught by authentication.
    let request = DecryptMaterialsRequest {
        encryption_context: cmm_common::stored_context(&materials),
        reproduced_encryption_context: Some(ec(&[("tenant", "b")])),
        ..dec_request(&materials, None)
    };
    assert!(block_on(cmm.decrypt_materials(request)).is_err());

    // A reproduced pair that contradicts a stored pair is caught before any keyring call.
    let request = DecryptMaterialsRequest {
        encryption_context: cmm_common::stored_context(&materials),
        reproduced_encryption_context: Some(ec(&[("tenant", "a"), ("purpose", "y")])),
        ..dec_request(&materials, None)
    };
    let err = block_on(cmm.decrypt_materials(request)).unwrap_err();
    assert!(matches!(err, Error::EncryptionContext(_)), "{err:?}");
}

/// A materials manager that forgets required keys, to test the post-conditions.
struct ForgetfulCmm(DefaultCmm);

#[async_trait::async_trait]
impl CryptographicMaterialsManager for ForgetfulCmm {
    async fn get_encryption_materials(
        &self,
        request: EncryptionMaterialsRequest,
    ) -> Result<EncryptionMaterials, Error> {
        let mut m = self.0.get_encryption_materials(request).await?;
        m.required_encryption_context_keys.clear();
        Ok(m)
    }

    async fn decrypt_materials(
        &self,
        request: DecryptMaterialsRequest<'_>,
    ) -> Result<DecryptionMaterials, Error> {
        let mut m = self.0.decrypt_materials(request).await?;
        m.encryption_context.remove("tenant");
        Ok(m)
    }
}

#[test]
fn materials_from_the_underlying_cmm_must_keep_the_required_keys() {
    let keyring = TestKeyring::new();
    let cmm = RequiredEncryptionContextCmm::new(
        Arc::new(ForgetfulCmm(DefaultCmm::new(keyring.clone()))),
        ["tenant"],
    );
    let err =
        block_on(cmm.get_encryption_materials(enc_request(ec(&[("tenant", "a")]), None, None)))
            .unwrap_err();
    assert!(matches!(err, Error::EncryptionContext(_)), "{err:?}");

    let honest = RequiredEncryptionContextCmm::with_keyring(keyring, ["tenant"]);
    let materials =
        block_on(honest.get_encryption_materials(enc_request(ec(&[("tenant", "a")]), None, None)))
            .unwrap();
    let request = DecryptMaterialsRequest {
        encryption_context: cmm_common::stored_context(&materials),
        reproduced_encryption_context: Some(ec(&[("tenant", "a")])),
        ..dec_request(&materials, None)
    };
    let err = block_on(cmm.decrypt_materials(request)).unwrap_err();
    assert!(matches!(err, Error::EncryptionContext(_)), "{err:?}");
}
