//! IAM identities: users, roles, their access keys and policies, and STS sessions.
//!
//! Records are stored durably (table `iam_records`, secrets sealed under the root key)
//! and mirrored in memory by a [`Directory`], which authentication reads on every
//! request. Every change is written to the store before the directory is updated.
//! The IAM and STS query-protocol APIs live in [`query`], [`api`] and [`sts`].

pub mod api;
pub mod query;
pub mod sts;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use crate::auth::{Principal, PrincipalKind};
use crate::authz::context::{IdentityInfo, RequestEnv};
use crate::authz::policy::{Policy, PolicyKind};
use crate::config::Secret;
use crate::keystore::Keystore;
use crate::store::{IamRow, Store, StoreError};

/// An IAM user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// Owning account.
    pub account: String,
    /// User name.
    pub name: String,
    /// Path, `/` by default.
    pub path: String,
    /// Unique id (`AIDA…`).
    pub user_id: String,
    /// Creation time, milliseconds since the epoch.
    pub created_ms: i64,
    /// Tags in the order first added.
    pub tags: Vec<(String, String)>,
    /// Inline policies by name (document text).
    pub policies: BTreeMap<String, String>,
}

impl User {
    /// `arn:aws:iam::<account>:user<path><name>`.
    pub fn arn(&self) -> String {
        format!("arn:aws:iam::{}:user{}{}", self.account, self.path, self.name)
    }
}

/// An IAM role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Role {
    /// Owning account.
    pub account: String,
    /// Role name.
    pub name: String,
    /// Path, `/` by default.
    pub path: String,
    /// Unique id (`AROA…`).
    pub role_id: String,
    /// Creation time, milliseconds since the epoch.
    pub created_ms: i64,
    /// The trust policy (AssumeRolePolicyDocument), as given.
    pub trust_policy: String,
    /// Description.
    pub description: Option<String>,
    /// Longest session, seconds.
    pub max_session_s: i64,
    /// Tags in the order first added.
    pub tags: Vec<(String, String)>,
    /// Inline policies by name (document text).
    pub policies: BTreeMap<String, String>,
}

impl Role {
    /// `arn:aws:iam::<account>:role<path><name>`.
    pub fn arn(&self) -> String {
        format!("arn:aws:iam::{}:role{}{}", self.account, self.path, self.name)
    }
}

/// Who an access key belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyOwner {
    /// A long-term key of an IAM user.
    User {
        /// The user name.
        name: String,
    },
    /// Temporary credentials of an assumed-role session.
    Session {
        /// The role name.
        role: String,
        /// The session name.
        session_name: String,
        /// SHA-256 of the session token, hex.
        token_sha256: String,
        /// When the credentials expire, milliseconds since the epoch.
        expires_ms: i64,
        /// Session tags (AssumeRole `Tags`, and transitive tags inherited from the calling
        /// session): they override the role's tags of the same key in `aws:PrincipalTag`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tags: Vec<(String, String)>,
        /// The session tags a session assumed with these credentials inherits.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        transitive_tag_keys: Vec<String>,
    },
}

/// A stored access key (the secret sealed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKeyRecord {
    /// `AKIA…` or `ASIA…`.
    pub access_key_id: String,
    /// Owning account.
    pub account: String,
    /// Owner.
    pub owner: KeyOwner,
    /// The secret sealed by the keystore, hex.
    pub sealed_secret: String,
    /// `Active` or `Inactive`.
    pub status: String,
    /// Creation time, milliseconds since the epoch.
    pub created_ms: i64,
}

/// What authentication learns from an access key id.
#[derive(Debug, Clone)]
pub struct Credential {
    /// The secret access key.
    pub secret: Secret,
    /// For session credentials: SHA-256 of the session token and the expiry.
    pub session: Option<([u8; 32], i64)>,
    /// The principal the key signs as (its `env` is filled in per request).
    pub principal: Principal,
}

#[derive(Debug, Default)]
struct Inner {
    users: HashMap<(String, String), User>,
    roles: HashMap<(String, String), Role>,
    keys: HashMap<String, (AccessKeyRecord, Secret)>,
    /// Parsed identity policies and tags per user/role, rebuilt on change.
    identities: HashMap<(String, String, String), Arc<IdentityInfo>>,
}

/// The in-memory mirror of every IAM record.
#[derive(Debug, Default)]
pub struct Directory {
    inner: RwLock<Inner>,
}

/// An IAM storage failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DirectoryError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored record does not decode or its secret does not unseal.
    #[error("stored IAM record {0} is corrupt")]
    Corrupt(String),
}

const USER: &str = "user";
const ROLE: &str = "role";
const ACCESS_KEY: &str = "access_key";

/// Puts session tags over `tags` (a role's): a session tag replaces the role tag whose key
/// matches it case-insensitively, as AWS documents. Reserved keys (`aws:`, `kms-server:`),
/// which AssumeRole refuses, are skipped here too.
pub fn merge_session_tags(tags: &mut Vec<(String, String)>, session: &[(String, String)]) {
    let reserved = |key: &str| {
        key.to_ascii_lowercase().starts_with("aws:") || query::is_reserved_server_tag(key)
    };
    for (key, value) in session.iter().filter(|(k, _)| !reserved(k)) {
        match tags.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(key)) {
            Some(slot) => *slot = (key.clone(), value.clone()),
            None => tags.push((key.clone(), value.clone())),
        }
    }
}

fn identity_of(
    unique_id: &str,
    policies: &BTreeMap<String, String>,
    tags: &[(String, String)],
) -> Arc<IdentityInfo> {
    let policies = policies
        .iter()
        .filter_map(|(name, text)| match Policy::parse(text, PolicyKind::Identity) {
            Ok(p) => Some((name.clone(), Arc::new(p))),
            Err(e) => {
                tracing::warn!(policy = %name, error = %e, "stored identity policy does not parse; ignored");
                None
            }
        })
        .collect();
    Arc::new(IdentityInfo { unique_id: unique_id.to_owned(), policies, tags: tags.to_vec() })
}

fn row<T: Serialize>(
    kind: &str,
    id: String,
    account: &str,
    value: &T,
) -> Result<IamRow, DirectoryError> {
    let doc = serde_json::to_string(value).map_err(|e| DirectoryError::Corrupt(e.to_string()))?;
    Ok(IamRow { kind: kind.to_owned(), id, account: account.to_owned(), doc })
}

/// The stored row of a user or a role: kind, `<account>/<name>` id, account and JSON.
fn identity_row<T: Serialize>(
    kind: &str,
    account: &str,
    name: &str,
    value: &T,
) -> Result<IamRow, DirectoryError> {
    row(kind, format!("{account}/{name}"), account, value)
}

impl Directory {
    /// Loads every stored record.
    ///
    /// # Errors
    /// [`DirectoryError`] if the store fails or a record is corrupt.
    pub async fn load(&self, store: &dyn Store, keystore: &Keystore) -> Result<(), DirectoryError> {
        let rows = store.list_iam().await?;
        let mut inner = self.write();
        for row in rows {
            let corrupt = || DirectoryError::Corrupt(format!("{}/{}", row.kind, row.id));
            match row.kind.as_str() {
                USER => {
                    let user: User = serde_json::from_str(&row.doc).map_err(|_| corrupt())?;
                    inner.put_user(user);
                }
                ROLE => {
                    let role: Role = serde_json::from_str(&row.doc).map_err(|_| corrupt())?;
                    inner.put_role(role);
                }
                ACCESS_KEY => {
                    let key: AccessKeyRecord =
                        serde_json::from_str(&row.doc).map_err(|_| corrupt())?;
                    let sealed = hex::decode(&key.sealed_secret).map_err(|_| corrupt())?;
                    let secret = keystore
                        .unseal_credential(&sealed, &key.access_key_id)
                        .map_err(|_| corrupt())?;
                    let secret = String::from_utf8(secret.to_vec()).map_err(|_| corrupt())?;
                    inner.keys.insert(key.access_key_id.clone(), (key, Secret::new(secret)));
                }
                _ => return Err(corrupt()),
            }
        }
        Ok(())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        // Each method leaves the maps consistent before it can panic.
        self.inner.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The credential of an access key id, if it is an active IAM or session key.
    pub fn credential(&self, access_key_id: &str) -> Option<Credential> {
        let inner = self.read();
        let (key, secret) = inner.keys.get(access_key_id)?;
        if key.status != "Active" {
            return None;
        }
        let env = RequestEnv::default();
        let (principal, session) = match &key.owner {
            KeyOwner::User { name } => {
                let user = inner.users.get(&(key.account.clone(), name.clone()))?;
                let identity =
                    inner.identities.get(&(USER.to_owned(), key.account.clone(), name.clone()))?;
                let principal = Principal {
                    account: key.account.clone(),
                    arn: user.arn(),
                    access_key_id: access_key_id.to_owned(),
                    kind: PrincipalKind::User { name: name.clone() },
                    identity: Arc::clone(identity),
                    env,
                };
                (principal, None)
            }
            KeyOwner::Session { role, session_name, token_sha256, expires_ms, tags, .. } => {
                let found = inner.roles.get(&(key.account.clone(), role.clone()))?;
                let role_identity =
                    inner.identities.get(&(ROLE.to_owned(), key.account.clone(), role.clone()))?;
                let identity = if tags.is_empty() {
                    Arc::clone(role_identity)
                } else {
                    let mut identity = IdentityInfo::clone(role_identity);
                    merge_session_tags(&mut identity.tags, tags);
                    Arc::new(identity)
                };
                let mut hash = [0u8; 32];
                hex::decode_to_slice(token_sha256, &mut hash).ok()?;
                let principal = Principal {
                    account: key.account.clone(),
                    arn: format!(
                        "arn:aws:sts::{}:assumed-role/{}/{}",
                        key.account, found.name, session_name
                    ),
                    access_key_id: access_key_id.to_owned(),
                    kind: PrincipalKind::AssumedRole {
                        role_arn: found.arn(),
                        session_name: session_name.clone(),
                    },
                    identity,
                    env,
                };
                (principal, Some((hash, *expires_ms)))
            }
        };
        Some(Credential { secret: secret.clone(), session, principal })
    }

    /// The session tags of temporary credentials and which of them are transitive (empty for
    /// other keys).
    pub fn session_tags(&self, access_key_id: &str) -> (Vec<(String, String)>, Vec<String>) {
        match self.read().keys.get(access_key_id) {
            Some((
                AccessKeyRecord {
                    owner: KeyOwner::Session { tags, transitive_tag_keys, .. }, ..
                },
                _,
            )) => (tags.clone(), transitive_tag_keys.clone()),
            _ => (Vec::new(), Vec::new()),
        }
    }

    /// The principal an ARN names, as it would sign requests: an account root, a user,
    /// or an assumed-role session (a role ARN stands for a session of that role).
    pub fn principal_for_arn(&self, arn: &str, now_ms: i64) -> Option<Principal> {
        let rest = arn.strip_prefix("arn:aws:")?;
        let (service, rest) = rest.split_once("::")?;
        let (account, resource) = rest.split_once(':')?;
        let inner = self.read();
        let env = RequestEnv { now_ms, ..RequestEnv::default() };
        let identity = |kind: &str, name: &str| {
            inner.identities.get(&(kind.to_owned(), account.to_owned(), name.to_owned())).cloned()
        };
        match (service, resource.split_once('/')) {
            ("iam", None) if resource == "root" => Some(Principal::root(account, "", now_ms)),
            ("iam", Some(("user", path))) => {
                let name = path.rsplit('/').next()?;
                let user = inner.users.get(&(account.to_owned(), name.to_owned()))?;
                Some(Principal {
                    account: account.to_owned(),
                    arn: user.arn(),
                    access_key_id: String::new(),
                    kind: PrincipalKind::User { name: name.to_owned() },
                    identity: identity(USER, name)?,
                    env,
                })
            }
            ("iam", Some(("role", path))) | ("sts", Some(("assumed-role", path))) => {
                let (role_name, session) = if service == "iam" {
                    (path.rsplit('/').next()?, "explain")
                } else {
                    path.split_once('/')?
                };
                let role = inner.roles.get(&(account.to_owned(), role_name.to_owned()))?;
                Some(Principal {
                    account: account.to_owned(),
                    arn: format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session}"),
                    access_key_id: String::new(),
                    kind: PrincipalKind::AssumedRole {
                        role_arn: role.arn(),
                        session_name: session.to_owned(),
                    },
                    identity: identity(ROLE, role_name)?,
                    env,
                })
            }
            _ => None,
        }
    }

    /// Access key ids of session credentials that expired at or before `now_ms`.
    pub fn expired_sessions(&self, now_ms: i64) -> Vec<String> {
        self.read()
            .keys
            .values()
            .filter(|(k, _)| matches!(k.owner, KeyOwner::Session { expires_ms, .. } if expires_ms <= now_ms))
            .map(|(k, _)| k.access_key_id.clone())
            .collect()
    }

    /// A user.
    pub fn user(&self, account: &str, name: &str) -> Option<User> {
        self.read().users.get(&(account.to_owned(), name.to_owned())).cloned()
    }

    /// A role.
    pub fn role(&self, account: &str, name: &str) -> Option<Role> {
        self.read().roles.get(&(account.to_owned(), name.to_owned())).cloned()
    }

    /// Users of an account, by name.
    pub fn users(&self, account: &str) -> Vec<User> {
        let mut users: Vec<User> =
            self.read().users.values().filter(|u| u.account == account).cloned().collect();
        users.sort_by(|a, b| a.name.cmp(&b.name));
        users
    }

    /// Long-term access keys of a user, oldest first.
    pub fn user_keys(&self, account: &str, name: &str) -> Vec<AccessKeyRecord> {
        let mut keys: Vec<AccessKeyRecord> = self
            .read()
            .keys
            .values()
            .filter(|(k, _)| {
                k.account == account && k.owner == KeyOwner::User { name: name.to_owned() }
            })
            .map(|(k, _)| k.clone())
            .collect();
        keys.sort_by(|a, b| {
            (a.created_ms, &a.access_key_id).cmp(&(b.created_ms, &b.access_key_id))
        });
        keys
    }

    /// Whether an account has a user or role with this ARN (principals in policies).
    pub fn principal_exists(&self, arn: &str) -> bool {
        let inner = self.read();
        inner.users.values().any(|u| u.arn() == arn) || inner.roles.values().any(|r| r.arn() == arn)
    }

    /// Stores a new user. [`StoreError::AlreadyExists`] if the name is taken.
    ///
    /// # Errors
    /// [`DirectoryError`].
    pub async fn insert_user(&self, store: &dyn Store, user: User) -> Result<(), DirectoryError> {
        store.insert_iam(&identity_row(USER, &user.account, &user.name, &user)?).await?;
        self.write().put_user(user);
        Ok(())
    }

    /// Replaces a user.
    ///
    /// # Errors
    /// [`DirectoryError`].
    pub async fn update_user(&self, store: &dyn Store, user: User) -> Result<(), DirectoryError> {
        store.update_iam(&identity_row(USER, &user.account, &user.name, &user)?).await?;
        self.write().put_user(user);
        Ok(())
    }

    /// Deletes a user.
    ///
    /// # Errors
    /// [`DirectoryError`].
    pub async fn delete_user(
        &self,
        store: &dyn Store,
        account: &str,
        name: &str,
    ) -> Result<(), DirectoryError> {
        store.delete_iam(USER, &format!("{account}/{name}")).await?;
        let mut inner = self.write();
        inner.users.remove(&(account.to_owned(), name.to_owned()));
        inner.identities.remove(&(USER.to_owned(), account.to_owned(), name.to_owned()));
        Ok(())
    }

    /// Stores a new role.
    ///
    /// # Errors
    /// [`DirectoryError`].
    pub async fn insert_role(&self, store: &dyn Store, role: Role) -> Result<(), DirectoryError> {
        store.insert_iam(&identity_row(ROLE, &role.account, &role.name, &role)?).await?;
        self.write().put_role(role);
        Ok(())
    }

    /// Replaces a role.
    ///
    /// # Errors
    /// [`DirectoryError`].
    pub async fn update_role(&self, store: &dyn Store, role: Role) -> Result<(), DirectoryError> {
        store.update_iam(&identity_row(ROLE, &role.account, &role.name, &role)?).await?;
        self.write().put_role(role);
        Ok(())
    }

    /// Deletes a role.
    ///
    /// # Errors
    /// [`DirectoryError`].
    pub async fn delete_role(
        &self,
        store: &dyn Store,
        account: &str,
        name: &str,
    ) -> Result<(), DirectoryError> {
        store.delete_iam(ROLE, &format!("{account}/{name}")).await?;
        let mut inner = self.write();
        inner.roles.remove(&(account.to_owned(), name.to_owned()));
        inner.identities.remove(&(ROLE.to_owned(), account.to_owned(), name.to_owned()));
        Ok(())
    }

    /// Stores a new access key with its secret sealed.
    ///
    /// # Errors
    /// [`DirectoryError`].
    pub async fn insert_key(
        &self,
        store: &dyn Store,
        keystore: &Keystore,
        mut key: AccessKeyRecord,
        secret: Secret,
    ) -> Result<(), DirectoryError> {
        let sealed = keystore
            .seal_credential(secret.expose_secret().as_bytes(), &key.access_key_id)
            .map_err(|_| DirectoryError::Corrupt(key.access_key_id.clone()))?;
        key.sealed_secret = hex::encode(sealed);
        store.insert_iam(&row(ACCESS_KEY, key.access_key_id.clone(), &key.account, &key)?).await?;
        self.write().keys.insert(key.access_key_id.clone(), (key, secret));
        Ok(())
    }

    /// Deletes an access key.
    ///
    /// # Errors
    /// [`DirectoryError`].
    pub async fn delete_key(
        &self,
        store: &dyn Store,
        access_key_id: &str,
    ) -> Result<(), DirectoryError> {
        store.delete_iam(ACCESS_KEY, access_key_id).await?;
        self.write().keys.remove(access_key_id);
        Ok(())
    }
}

impl Inner {
    fn put_user(&mut self, user: User) {
        let id = (USER.to_owned(), user.account.clone(), user.name.clone());
        self.identities.insert(id, identity_of(&user.user_id, &user.policies, &user.tags));
        self.users.insert((user.account.clone(), user.name.clone()), user);
    }

    fn put_role(&mut self, role: Role) {
        let id = (ROLE.to_owned(), role.account.clone(), role.name.clone());
        self.identities.insert(id, identity_of(&role.role_id, &role.policies, &role.tags));
        self.roles.insert((role.account.clone(), role.name.clone()), role);
    }
}

/// A random identifier: `prefix` then upper-case base32-like characters (AWS style).
///
/// # Errors
/// [`aws_lc_rs::error::Unspecified`] if the random generator fails.
pub fn random_id(prefix: &str, len: usize) -> Result<String, aws_lc_rs::error::Unspecified> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bytes = vec![0u8; len];
    aws_lc_rs::rand::fill(&mut bytes)?;
    let body: String = bytes.iter().map(|b| char::from(ALPHABET[usize::from(b % 32)])).collect();
    Ok(format!("{prefix}{body}"))
}

/// A random secret of `len` characters from the base64 alphabet (AWS-style secret keys and tokens).
///
/// # Errors
/// [`aws_lc_rs::error::Unspecified`] if the random generator fails.
pub fn random_secret(len: usize) -> Result<Secret, aws_lc_rs::error::Unspecified> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bytes = zeroize::Zeroizing::new(vec![0u8; len]);
    aws_lc_rs::rand::fill(&mut bytes)?;
    let text: String = bytes.iter().map(|b| char::from(ALPHABET[usize::from(b % 64)])).collect();
    Ok(Secret::new(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_tags_replace_role_tags_of_the_same_key_whatever_its_case() {
        let mut tags = vec![("Project".to_owned(), "beta".to_owned()), ("team".into(), "x".into())];
        merge_session_tags(
            &mut tags,
            &[
                ("project".into(), "alpha".into()),
                ("cc".into(), "1".into()),
                ("KMS-SERVER:aws-service".into(), "ec2.amazonaws.com".into()),
            ],
        );
        assert_eq!(
            tags,
            [("project", "alpha"), ("team", "x"), ("cc", "1")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }

    #[test]
    fn sessions_stored_before_session_tags_still_load() {
        let old =
            r#"{"Session":{"role":"r","session_name":"s","token_sha256":"00","expires_ms":5}}"#;
        let owner: KeyOwner = serde_json::from_str(old).unwrap();
        assert!(matches!(owner, KeyOwner::Session { ref tags, .. } if tags.is_empty()));
    }
}
