//! Durable storage of keys and aliases behind one backend-neutral trait.
//!
//! The trait speaks in records, not SQL, so SQLite (the embedded default) and
//! PostgreSQL (multi-node) implement it alike. Every write method returns only
//! after the write is durable.

pub mod sqlite;

use async_trait::async_trait;

use crate::model::{AliasRecord, KeyRecord, KeyRef};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The record changed since it was read (optimistic concurrency); re-read and retry.
    #[error("the record was changed concurrently")]
    Conflict,
    /// A record with the same identity already exists.
    #[error("the record already exists")]
    AlreadyExists,
    /// The record does not exist.
    #[error("the record does not exist")]
    NotFound,
    /// A stored record could not be decoded.
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    /// The backend failed (I/O, database error).
    #[error("storage backend failed: {0}")]
    Backend(String),
}

/// Key and alias storage.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Reads a small named value (server metadata such as the root-key check).
    async fn get_meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Writes a small named value, replacing any previous one.
    async fn put_meta(&self, name: &str, value: &[u8]) -> Result<(), StoreError>;

    /// Inserts a new key. [`StoreError::AlreadyExists`] if the key id is taken.
    async fn insert_key(&self, key: &KeyRecord) -> Result<(), StoreError>;

    /// Replaces a key whose stored revision is `key.revision - 1`.
    ///
    /// [`StoreError::Conflict`] if the stored revision differs, [`StoreError::NotFound`]
    /// if the key is gone.
    async fn update_key(&self, key: &KeyRecord) -> Result<(), StoreError>;

    /// Writes several keys in one transaction, all or nothing: `inserts` as
    /// [`Store::insert_key`], `updates` as [`Store::update_key`], `deletes` as
    /// [`Store::delete_key`], and `meta` values as [`Store::put_meta`] (the replication
    /// outbox). The first failing part's error is returned and nothing is written.
    async fn write_keys(
        &self,
        inserts: &[KeyRecord],
        updates: &[KeyRecord],
        deletes: &[KeyRef],
        meta: &[(String, Vec<u8>)],
    ) -> Result<(), StoreError>;

    /// Named values whose name starts with `prefix`, in name order, at most `limit`.
    async fn list_meta(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError>;

    /// Deletes a named value (deleting a missing one is not an error).
    async fn delete_meta(&self, name: &str) -> Result<(), StoreError>;

    /// Reads a key.
    async fn get_key(&self, key: &KeyRef) -> Result<Option<KeyRecord>, StoreError>;

    /// Deletes a key and every alias that points to it. Deleting a missing key is not an error.
    async fn delete_key(&self, key: &KeyRef) -> Result<(), StoreError>;

    /// Key ids of an account in a Region, in ascending order, strictly after `after`.
    async fn list_key_ids(
        &self,
        account: &str,
        region: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;

    /// How many keys an account has in a Region.
    async fn count_keys(&self, account: &str, region: &str) -> Result<u64, StoreError>;

    /// Keys whose deletion or rotation is due at or before `now_ms`, at most `limit`.
    async fn keys_due(&self, now_ms: i64, limit: usize) -> Result<Vec<KeyRef>, StoreError>;

    /// Inserts an alias. [`StoreError::AlreadyExists`] if the name is taken,
    /// [`StoreError::NotFound`] if the target key does not exist (checked atomically).
    async fn insert_alias(&self, alias: &AliasRecord) -> Result<(), StoreError>;

    /// Points an existing alias at another key, keeping its creation time.
    /// [`StoreError::NotFound`] if the alias or the target key does not exist.
    async fn update_alias(&self, alias: &AliasRecord) -> Result<(), StoreError>;

    /// Deletes an alias. [`StoreError::NotFound`] if it does not exist.
    async fn delete_alias(&self, account: &str, region: &str, name: &str)
        -> Result<(), StoreError>;

    /// Reads an alias.
    async fn get_alias(
        &self,
        account: &str,
        region: &str,
        name: &str,
    ) -> Result<Option<AliasRecord>, StoreError>;

    /// Aliases of an account in a Region (optionally only those of one key), ordered by
    /// name, strictly after `after`.
    async fn list_aliases(
        &self,
        account: &str,
        region: &str,
        target_key_id: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AliasRecord>, StoreError>;

    /// How many aliases point to a key.
    async fn count_aliases(&self, key: &KeyRef) -> Result<u64, StoreError>;

    /// Inserts an IAM record. [`StoreError::AlreadyExists`] if its kind and id are taken.
    async fn insert_iam(&self, record: &IamRow) -> Result<(), StoreError>;

    /// Replaces an IAM record. [`StoreError::NotFound`] if it does not exist.
    async fn update_iam(&self, record: &IamRow) -> Result<(), StoreError>;

    /// Deletes an IAM record. [`StoreError::NotFound`] if it does not exist.
    async fn delete_iam(&self, kind: &str, id: &str) -> Result<(), StoreError>;

    /// Every IAM record (read once at start into memory).
    async fn list_iam(&self) -> Result<Vec<IamRow>, StoreError>;

    /// Inserts a grant. [`StoreError::AlreadyExists`] if its id is taken,
    /// [`StoreError::NotFound`] if its key does not exist (checked atomically).
    async fn insert_grant(&self, grant: &GrantRow) -> Result<(), StoreError>;

    /// Deletes a grant. [`StoreError::NotFound`] if it does not exist.
    async fn delete_grant(&self, grant_id: &str) -> Result<(), StoreError>;

    /// Every grant (read once at start into memory).
    async fn list_grants(&self) -> Result<Vec<GrantRow>, StoreError>;
}

/// One stored grant as JSON, with the key it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRow {
    /// The grant id (unique).
    pub grant_id: String,
    /// The key the grant is on.
    pub key: KeyRef,
    /// The grant as JSON.
    pub doc: String,
}

/// One stored IAM record (user, role, access key or STS session) as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamRow {
    /// `user`, `role`, `access_key` or `session`.
    pub kind: String,
    /// Unique per kind.
    pub id: String,
    /// The owning account.
    pub account: String,
    /// The record as JSON (secrets sealed).
    pub doc: String,
}
