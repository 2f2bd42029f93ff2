//! The multi-keyring (spec `framework/multi-keyring.md`).
// Helper functions here are test code too, outside `#[test]`, so unwrapping is fine.
#![allow(clippy::unwrap_used)]

mod keyring_common;

use std::sync::{Arc, Mutex};

use keyring_common::*;
use kms_envelope::keyring::multi::MultiKeyring;
use kms_envelope::keyring::raw_aes::RawAesKeyring;
use kms_envelope::keyring::Keyring;
use kms_envelope::materials::{
    DecryptionMaterials, EncryptedDataKey, EncryptionMaterials, PlaintextDataKey,
};
use kms_envelope::suite::DEFAULT_SUITE;
use kms_envelope::Error;

/// What a [`Probe`] does when called.
#[derive(Clone, Copy, PartialEq)]
enum Behaviour {
    /// Delegate to a real raw AES keyring.
    Works,
    /// Fail with a keyring error naming the probe.
    Fails,
    /// Return the materials untouched (a misbehaving keyring).
    DoesNothing,
}

/// A keyring that logs its calls into a shared journal.
struct Probe {
    name: &'static str,
    behaviour: Behaviour,
    inner: RawAesKeyring,
    journal: Arc<Mutex<Vec<String>>>,
}

impl Probe {
    fn probe(
        name: &'static str,
        behaviour: Behaviour,
        journal: &Arc<Mutex<Vec<String>>>,
    ) -> Arc<dyn Keyring> {
        Arc::new(Self {
            name,
            behaviour,
            inner: RawAesKeyring::new("probe", name, &[name.len() as u8; 32]).unwrap(),
            journal: journal.clone(),
        })
    }
}

#[async_trait::async_trait]
impl Keyring for Probe {
    async fn on_encrypt(
        &self,
        materials: EncryptionMaterials,
    ) -> Result<EncryptionMaterials, Error> {
        self.journal.lock().unwrap().push(format!("encrypt {}", self.name));
        match self.behaviour {
            Behaviour::Works => self.inner.on_encrypt(materials).await,
            Behaviour::Fails => Err(Error::Keyring(format!("{} failed", self.name))),
            Behaviour::DoesNothing => Ok(materials),
        }
    }

    async fn on_decrypt(
        &self,
        materials: DecryptionMaterials,
        edks: &[EncryptedDataKey],
    ) -> Result<DecryptionMaterials, Error> {
        self.journal.lock().unwrap().push(format!("decrypt {}", self.name));
        match self.behaviour {
            Behaviour::Works => self.inner.on_decrypt(materials, edks).await,
            Behaviour::Fails => Err(Error::Keyring(format!("{} failed", self.name))),
            Behaviour::DoesNothing => Ok(materials),
        }
    }
}

fn journal() -> Arc<Mutex<Vec<String>>> {
    Arc::new(Mutex::new(Vec::new()))
}

fn entries(j: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    j.lock().unwrap().clone()
}

#[test]
fn encrypts_with_the_generator_then_every_child_in_order() {
    let j = journal();
    let multi = MultiKeyring::new(
        Some(Probe::probe("gen", Behaviour::Works, &j)),
        vec![
            Probe::probe("child-a", Behaviour::Works, &j),
            Probe::probe("child-bb", Behaviour::Works, &j),
        ],
    )
    .unwrap();
    let enc = block_on(multi.on_encrypt(enc_materials(DEFAULT_SUITE, ec(&[("k", "v")])))).unwrap();
    assert_eq!(entries(&j), ["encrypt gen", "encrypt child-a", "encrypt child-bb"]);
    let names: Vec<&[u8]> = enc
        .encrypted_data_keys
        .iter()
        .map(|e| &e.provider_info[..e.provider_info.len() - 20])
        .collect();
    assert_eq!(names, [&b"gen"[..], b"child-a", b"child-bb"]);
    // Each child's EDK decrypts to the same data key.
    let key = key_bytes(&enc.plaintext_data_key);
    for name in ["gen", "child-a", "child-bb"] {
        let single = RawAesKeyring::new("probe", name, &[name.len() as u8; 32]).unwrap();
        let dec =
            block_on(single.on_decrypt(
                dec_materials(DEFAULT_SUITE, ec(&[("k", "v")])),
                &enc.encrypted_data_keys,
            ))
            .unwrap();
        assert_eq!(key_bytes(&dec.plaintext_data_key), key);
    }
}

#[test]
fn generator_failure_fails_encrypt_before_any_child() {
    let j = journal();
    let multi = MultiKeyring::new(
        Some(Probe::probe("gen", Behaviour::Fails, &j)),
        vec![Probe::probe("child", Behaviour::Works, &j)],
    )
    .unwrap();
    let err = block_on(multi.on_encrypt(enc_materials(DEFAULT_SUITE, ec(&[])))).unwrap_err();
    assert!(err.to_string().contains("gen failed"), "{err}");
    assert_eq!(entries(&j), ["encrypt gen"]);
}

#[test]
fn generator_that_makes_no_data_key_fails_encrypt() {
    let j = journal();
    let multi =
        MultiKeyring::new(Some(Probe::probe("gen", Behaviour::DoesNothing, &j)), vec![]).unwrap();
    assert!(block_on(multi.on_encrypt(enc_materials(DEFAULT_SUITE, ec(&[])))).is_err());
}

#[test]
fn child_failure_fails_encrypt() {
    let j = journal();
    let multi = MultiKeyring::new(
        Some(Probe::probe("gen", Behaviour::Works, &j)),
        vec![Probe::probe("bad", Behaviour::Fails, &j), Probe::probe("late", Behaviour::Works, &j)],
    )
    .unwrap();
    assert!(block_on(multi.on_encrypt(enc_materials(DEFAULT_SUITE, ec(&[])))).is_err());
    assert_eq!(entries(&j), ["encrypt gen", "encrypt bad"]);
}

#[test]
fn generator_with_a_data_key_already_present_fails() {
    let j = journal();
    let multi = MultiKeyring::new(Some(Probe::probe("gen", Behaviour::Works, &j)), vec![]).unwrap();
    let mut m = enc_materials(DEFAULT_SUITE, ec(&[]));
    m.set_plaintext_data_key(PlaintextDataKey::new(vec![0; 32])).unwrap();
    assert!(matches!(block_on(multi.on_encrypt(m)), Err(Error::ApiMisuse(_))));
    assert!(entries(&j).is_empty());
}

#[test]
fn without_generator_needs_a_data_key_and_then_encrypts_with_children() {
    let j = journal();
    let multi = MultiKeyring::new(None, vec![Probe::probe("a", Behaviour::Works, &j)]).unwrap();
    assert!(matches!(
        block_on(multi.on_encrypt(enc_materials(DEFAULT_SUITE, ec(&[])))),
        Err(Error::ApiMisuse(_))
    ));
    let mut m = enc_materials(DEFAULT_SUITE, ec(&[]));
    m.set_plaintext_data_key(PlaintextDataKey::new(vec![6; 32])).unwrap();
    let enc = block_on(multi.on_encrypt(m)).unwrap();
    assert_eq!(enc.encrypted_data_keys.len(), 1);
    assert_eq!(key_bytes(&enc.plaintext_data_key), vec![6; 32]);
}

#[test]
fn decrypt_tries_generator_then_children_and_stops_at_the_first_success() {
    // Encrypt with "child-b" alone, then decrypt with a multi-keyring where it comes third.
    let j = journal();
    let only_b = Probe::probe("child-b", Behaviour::Works, &j);
    let enc = block_on(only_b.on_encrypt(enc_materials(DEFAULT_SUITE, ec(&[])))).unwrap();
    j.lock().unwrap().clear();
    let multi = MultiKeyring::new(
        Some(Probe::probe("gen", Behaviour::Works, &j)),
        vec![
            Probe::probe("child-a", Behaviour::Fails, &j),
            Probe::probe("child-b", Behaviour::Works, &j),
            Probe::probe("child-c", Behaviour::Works, &j),
        ],
    )
    .unwrap();
    let dec =
        block_on(multi.on_decrypt(dec_materials(DEFAULT_SUITE, ec(&[])), &enc.encrypted_data_keys))
            .unwrap();
    assert_eq!(key_bytes(&dec.plaintext_data_key), key_bytes(&enc.plaintext_data_key));
    assert_eq!(entries(&j), ["decrypt gen", "decrypt child-a", "decrypt child-b"]);
}

#[test]
fn decrypt_failure_collects_every_error() {
    let j = journal();
    let multi = MultiKeyring::new(
        Some(Probe::probe("gen", Behaviour::Fails, &j)),
        vec![
            Probe::probe("child-a", Behaviour::Works, &j),
            Probe::probe("child-b", Behaviour::Fails, &j),
        ],
    )
    .unwrap();
    let err = block_on(multi.on_decrypt(dec_materials(DEFAULT_SUITE, ec(&[])), &[])).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("gen failed") && text.contains("child-b failed"), "{text}");
    assert_eq!(entries(&j), ["decrypt gen", "decrypt child-a", "decrypt child-b"]);
}

#[test]
fn decrypt_with_nothing_matching_is_no_decryptable_data_key() {
    let j = journal();
    let multi = MultiKeyring::new(
        None,
        vec![
            Probe::probe("a", Behaviour::Works, &j),
            Probe::probe("b", Behaviour::DoesNothing, &j),
        ],
    )
    .unwrap();
    let err = block_on(multi.on_decrypt(dec_materials(DEFAULT_SUITE, ec(&[])), &[])).unwrap_err();
    assert!(matches!(err, Error::NoDecryptableDataKey), "{err}");
}

#[test]
fn each_keyring_tried_sees_the_unmodified_context() {
    let j = journal();
    let a = Probe::probe("a", Behaviour::Works, &j);
    let enc = block_on(a.on_encrypt(enc_materials(DEFAULT_SUITE, ec(&[("x", "y")])))).unwrap();
    let multi =
        MultiKeyring::new(Some(Probe::probe("gen", Behaviour::Fails, &j)), vec![a]).unwrap();
    let dec = block_on(
        multi.on_decrypt(dec_materials(DEFAULT_SUITE, ec(&[("x", "y")])), &enc.encrypted_data_keys),
    )
    .unwrap();
    assert_eq!(dec.encryption_context, ec(&[("x", "y")]));
    assert_eq!(key_bytes(&dec.plaintext_data_key), key_bytes(&enc.plaintext_data_key));
}

#[test]
fn on_decrypt_must_fail_when_the_materials_already_contain_a_data_key() {
    let j = journal();
    let multi = MultiKeyring::new(Some(Probe::probe("gen", Behaviour::Works, &j)), vec![]).unwrap();
    let mut m = DecryptionMaterials::new(DEFAULT_SUITE, ec(&[]));
    m.set_plaintext_data_key(PlaintextDataKey::new(vec![0; 32])).unwrap();
    assert!(matches!(block_on(multi.on_decrypt(m, &[])), Err(Error::ApiMisuse(_))));
    assert!(entries(&j).is_empty(), "no child is asked");
}
