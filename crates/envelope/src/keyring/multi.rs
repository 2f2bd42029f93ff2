//! The multi-keyring (spec `framework/multi-keyring.md`): a generator keyring and child
//! keyrings used together, so a message can be decrypted by any of them.

use std::fmt;
use std::sync::Arc;

use crate::error::Error;
use crate::keyring::Keyring;
use crate::materials::{DecryptionMaterials, EncryptedDataKey, EncryptionMaterials};

/// Folds the errors collected while trying several keyrings or encrypted data keys into
/// one: [`Error::NoDecryptableDataKey`] when nothing more specific was learnt, the error
/// itself when there is one, otherwise an [`Error::Keyring`] that lists them all.
pub(crate) fn combine_errors(errors: Vec<Error>) -> Error {
    let mut specific: Vec<Error> =
        errors.into_iter().filter(|e| !matches!(e, Error::NoDecryptableDataKey)).collect();
    match specific.len() {
        0 => Error::NoDecryptableDataKey,
        1 => specific.remove(0),
        _ => {
            let mut message = String::from("no encrypted data key could be decrypted: ");
            for (i, error) in specific.iter().enumerate() {
                if i > 0 {
                    message.push_str("; ");
                }
                message.push_str(&error.to_string());
            }
            Error::Keyring(message)
        }
    }
}

/// A copy of decryption materials that hold no plaintext data key, so each keyring tried
/// starts from the unmodified materials.
fn copy_keyless(materials: &DecryptionMaterials) -> DecryptionMaterials {
    DecryptionMaterials {
        suite: materials.suite,
        encryption_context: materials.encryption_context.clone(),
        required_encryption_context_keys: materials.required_encryption_context_keys.clone(),
        plaintext_data_key: None,
        verifying_key: materials.verifying_key.clone(),
    }
}

/// A keyring made of an optional generator and a list of children.
///
/// On encrypt, the generator makes the data key (and its encrypted copy), then every child
/// adds its encrypted copy, in order. Without a generator the materials must already hold
/// a data key. On decrypt, the generator and then each child is tried in order; the first
/// success wins, and if none succeeds the collected errors are returned.
#[derive(Clone)]
pub struct MultiKeyring {
    generator: Option<Arc<dyn Keyring>>,
    children: Vec<Arc<dyn Keyring>>,
}

impl fmt::Debug for MultiKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiKeyring")
            .field("has_generator", &self.generator.is_some())
            .field("children", &self.children.len())
            .finish()
    }
}

impl MultiKeyring {
    /// A multi-keyring with an optional generator and children.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] if there is neither a generator nor a child.
    pub fn new(
        generator: Option<Arc<dyn Keyring>>,
        children: Vec<Arc<dyn Keyring>>,
    ) -> Result<Self, Error> {
        //= framework/multi-keyring.md#inputs
        //# On keyring initialization, a keyring MUST define at least one of the following:
        //# Generator Keyring, Child Keyrings
        if generator.is_none() && children.is_empty() {
            return Err(Error::ApiMisuse(
                "a multi-keyring needs a generator or at least one child keyring".into(),
            ));
        }
        Ok(Self { generator, children })
    }

    /// The generator, if any.
    pub fn generator(&self) -> Option<&Arc<dyn Keyring>> {
        self.generator.as_ref()
    }

    /// The child keyrings, in order.
    pub fn children(&self) -> &[Arc<dyn Keyring>] {
        &self.children
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
impl Keyring for MultiKeyring {
    async fn on_encrypt(
        &self,
        mut materials: EncryptionMaterials,
    ) -> Result<EncryptionMaterials, Error> {
        let generator = self.generator.as_ref();
        if generator.is_some() {
            //= framework/multi-keyring.md#onencrypt
            //# If the input encryption materials already include a plaintext data key,
            //# OnEncrypt MUST fail.
            if materials.plaintext_data_key.is_some() {
                return Err(Error::ApiMisuse(
                    "the materials already hold a data key, but the multi-keyring has a generator"
                        .into(),
                ));
            }
        } else if materials.plaintext_data_key.is_none() {
            //= framework/multi-keyring.md#onencrypt
            //# If this keyring does not have a generator keyring, and the input encryption
            //# materials does not include a plaintext data key, OnEncrypt MUST fail.
            return Err(Error::ApiMisuse(
                "a multi-keyring without a generator needs materials that hold a data key".into(),
            ));
        }
        // The generator first, then the children: one await for all of them.
        for (i, keyring) in generator.into_iter().chain(self.children.iter()).enumerate() {
            materials = keyring.on_encrypt(materials).await?;
            //# If the generator keyring returns encryption materials missing a plaintext data
            //# key, OnEncrypt MUST fail.
            if i == 0 && generator.is_some() && materials.plaintext_data_key.is_none() {
                return Err(Error::Keyring("the generator keyring made no data key".into()));
            }
        }
        Ok(materials)
    }

    async fn on_decrypt(
        &self,
        materials: DecryptionMaterials,
        encrypted_data_keys: &[EncryptedDataKey],
    ) -> Result<DecryptionMaterials, Error> {
        materials.require_no_data_key()?;
        let mut errors = Vec::new();
        //= framework/multi-keyring.md#ondecrypt
        //# OnDecrypt MUST first attempt to decrypt the encrypted data keys in the input
        //# decryption materials using its generator keyring. If the generator keyring is
        //# unable to decrypt the materials, the multi-keyring MUST attempt to decrypt using
        //# its child keyrings, until one either succeeds in decryption or all have failed.
        for keyring in self.generator.iter().chain(self.children.iter()) {
            match keyring.on_decrypt(copy_keyless(&materials), encrypted_data_keys).await {
                Ok(result) if result.plaintext_data_key.is_some() => return Ok(result),
                Ok(_) => errors.push(Error::NoDecryptableDataKey),
                //# If the child keyring's OnDecrypt call fails, the multi-keyring MUST collect
                //# the error and continue to the next keyring, if any.
                Err(e) => errors.push(e),
            }
        }
        Err(combine_errors(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combine_prefers_specific_errors() {
        assert!(matches!(combine_errors(vec![]), Error::NoDecryptableDataKey));
        assert!(matches!(
            combine_errors(vec![Error::NoDecryptableDataKey, Error::Random]),
            Error::Random
        ));
        let Error::Keyring(text) =
            combine_errors(vec![Error::Random, Error::Keyring("boom".into())])
        else {
            panic!("expected a keyring error");
        };
        assert!(text.contains("random generator failed") && text.contains("boom"));
        let three = vec![
            Error::Random,
            Error::NoDecryptableDataKey,
            Error::Keyring("a".into()),
            Error::Random,
        ];
        let Error::Keyring(text) = combine_errors(three) else {
            panic!("expected a keyring error");
        };
        let (random, a) = (Error::Random.to_string(), Error::Keyring("a".into()).to_string());
        assert_eq!(
            text,
            format!("no encrypted data key could be decrypted: {random}; {a}; {random}")
        );
    }

    #[test]
    fn needs_a_generator_or_a_child() {
        assert!(matches!(MultiKeyring::new(None, vec![]), Err(Error::ApiMisuse(_))));
    }
}
