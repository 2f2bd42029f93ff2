//! `kms-server`: a self-hosted key management service that speaks the AWS KMS JSON API.
//!
//! A request flows `protocol` (JSON 1.1) → `auth` (SigV4) → `authz` → `ops` →
//! `store` (durable records) and `keystore` (key material sealed under a root key).
//! Time comes from an injected [`clock::Clock`].

pub mod audit;
pub mod auth;
pub mod authz;
pub mod ciphertext;
pub mod clock;
pub mod config;
pub mod demo_session;
pub mod grants;
pub mod iam;
pub mod jobs;
pub mod keypairs;
pub mod keystore;
pub mod listener;
pub mod model;
pub mod ops;
pub mod protocol;
pub mod replication;
pub mod serve;
pub mod site;
pub mod state;
pub mod store;
pub mod tls;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::audit::AuditLog;
use crate::auth::Accounts;
use crate::clock::Clock;
use crate::config::Config;
use crate::keystore::{Keystore, RootKeySource};
use crate::replication::Replication;
use crate::state::{AppState, KeyCache, KeyLocks};
use crate::store::sqlite::SqliteStore;
use crate::store::Store;

/// Name of the SQLite database in the data directory.
pub const DATABASE_FILE: &str = "kms.sqlite3";
const ROOT_CHECK_META: &str = "root_key_check";

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The data directory could not be created.
    #[error("cannot use data directory {0}: {1}")]
    DataDir(PathBuf, std::io::Error),
    /// The root key is missing, malformed, or not the one the database was made with.
    #[error(transparent)]
    Keystore(#[from] keystore::KeystoreError),
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// The audit trail could not be opened.
    #[error(transparent)]
    Audit(#[from] audit::AuditError),
    /// IAM records could not be loaded.
    #[error(transparent)]
    Iam(iam::DirectoryError),
    /// The root key does not match the database.
    #[error("the root key does not match the one this database was created with")]
    WrongRootKey,
}

/// Opens the state of a server on the embedded SQLite store in `data_dir`.
///
/// # Errors
/// [`StartError`] if the directory, root key or database cannot be used.
pub async fn open_sqlite_state(
    data_dir: &Path,
    config: &Config,
    root_key: &RootKeySource,
    clock: Arc<dyn Clock>,
) -> Result<Arc<AppState>, StartError> {
    open_sqlite_state_with(data_dir, config, root_key, clock, AuditMode::Durable).await
}

/// Whether the server keeps its audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditMode {
    /// Every call is recorded durably before it is answered (the only mode for real use).
    Durable,
    /// BENCHMARK ONLY: no audit trail at all, to measure what the trail costs. Never use
    /// it for anything else: calls leave no record.
    BenchmarkOnlyDisabled,
}

/// [`open_sqlite_state`], choosing whether the audit trail is kept.
///
/// # Errors
/// [`StartError`] if the directory, root key or database cannot be used.
pub async fn open_sqlite_state_with(
    data_dir: &Path,
    config: &Config,
    root_key: &RootKeySource,
    clock: Arc<dyn Clock>,
    audit_mode: AuditMode,
) -> Result<Arc<AppState>, StartError> {
    std::fs::create_dir_all(data_dir).map_err(|e| StartError::DataDir(data_dir.to_owned(), e))?;
    let keystore = Keystore::open(root_key)?;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&data_dir.join(DATABASE_FILE))?);
    let audit = match audit_mode {
        AuditMode::Durable => Some(Arc::new(audit::open(data_dir, &keystore)?)),
        AuditMode::BenchmarkOnlyDisabled => None,
    };
    assemble_state(store, keystore, config, clock, audit).await
}

/// Assembles server state over any store, checking that the root key matches it. It keeps
/// no audit trail (tests of the operations); [`open_sqlite_state`] adds one.
///
/// # Errors
/// [`StartError::WrongRootKey`] if the store was initialised under another root key.
pub async fn build_state(
    store: Arc<dyn Store>,
    keystore: Keystore,
    config: &Config,
    clock: Arc<dyn Clock>,
) -> Result<Arc<AppState>, StartError> {
    assemble_state(store, keystore, config, clock, None).await
}

async fn assemble_state(
    store: Arc<dyn Store>,
    keystore: Keystore,
    config: &Config,
    clock: Arc<dyn Clock>,
    audit: Option<Arc<AuditLog>>,
) -> Result<Arc<AppState>, StartError> {
    match store.get_meta(ROOT_CHECK_META).await? {
        Some(check) => keystore.verify_check_value(&check).map_err(|_| StartError::WrongRootKey)?,
        None => store.put_meta(ROOT_CHECK_META, &keystore.check_value()?).await?,
    }
    let accounts = Accounts::from_config(config);
    accounts.iam.load(&*store, &keystore).await.map_err(StartError::Iam)?;
    let grants = grants::GrantIndex::default();
    grants.load(&*store).await?;
    Ok(Arc::new(AppState {
        store,
        clock,
        accounts,
        keys: KeyCache::default(),
        key_locks: KeyLocks::default(),
        audit,
        grants,
        regions: config.regions.clone(),
        replication: Replication::new(&keystore, &config.peers)?,
        keystore,
    }))
}

/// Serves on an already-bound listener until `shutdown` completes, running the
/// background jobs every `job_interval`. In-flight requests finish before it returns.
///
/// # Errors
/// An I/O error from the listener.
pub async fn launch_with_listener(
    listener: TcpListener,
    state: Arc<AppState>,
    job_interval: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    launch_with_site(listener, None, state, job_interval, shutdown, None, None).await
}

/// [`launch_with_listener`], serving HTTPS only when `tls` is given, and also serving the
/// static demo `site` when one is given.
///
/// # Errors
/// An I/O error from the listener.
pub async fn launch_with_site(
    listener: TcpListener,
    tls: Option<tls::TlsSettings>,
    state: Arc<AppState>,
    job_interval: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
    site: Option<site::StaticSite>,
    demo: Option<demo_session::DemoSession>,
) -> std::io::Result<()> {
    let jobs = jobs::spawn(Arc::clone(&state), job_interval);
    let mut app = protocol::router_with_site(Arc::clone(&state), site);
    if let Some(demo) = demo {
        app = app.merge(demo.router(Arc::clone(&state)));
    }
    let result = match tls {
        Some(tls) => serve::serve(listener::TlsListener::new(listener, &tls), app, shutdown).await,
        None => serve::serve(listener, app, shutdown).await,
    };
    jobs.abort();
    if let Some(audit) = &state.audit {
        // Cover the last records with a signed digest before stopping.
        if let Err(error) = audit.seal(state.clock.now_ms()).await {
            tracing::error!(%error, "cannot seal the audit trail at shutdown");
        }
    }
    result
}
