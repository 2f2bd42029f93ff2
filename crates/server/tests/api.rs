//! API tests over the router (no socket) on the SQLite store, plus one full-stack test.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

#[path = "api/aliases_tags.rs"]
mod aliases_tags;
#[path = "api/asymmetric.rs"]
mod asymmetric;
#[path = "api/authz.rs"]
mod authz;
#[path = "api/cloudtrail.rs"]
mod cloudtrail;
#[path = "api/crypto.rs"]
mod crypto;
#[path = "api/demo_session.rs"]
mod demo_session;
#[path = "api/full_stack.rs"]
mod full_stack;
#[path = "api/grants.rs"]
mod grants;
#[path = "api/iam.rs"]
mod iam;
#[path = "api/import.rs"]
mod import;
#[path = "api/keys.rs"]
mod keys;
#[path = "api/lifecycle.rs"]
mod lifecycle;
#[path = "api/managed_keys.rs"]
mod managed_keys;
#[path = "api/multi_region.rs"]
mod multi_region;
#[path = "api/protocol.rs"]
mod protocol;
#[path = "api/replication.rs"]
mod replication;
#[path = "api/tls.rs"]
mod tls;
