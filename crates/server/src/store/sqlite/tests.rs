use std::path::Path;
use std::sync::Arc;

use rusqlite::Connection;
use tempfile::TempDir;
use tokio::sync::{mpsc, oneshot};

use super::migrate::{self, MIGRATIONS};
use super::writer::{self, WriteOp, WriteRequest};
use super::{key_row, open_writer, SqliteStore};
use crate::model::{AliasRecord, KeyMaterial, KeyRecord, KeyRef, KeyState, MaterialOrigin};
use crate::store::{Store, StoreError};

const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-east-1";

fn key_ref(key_id: &str) -> KeyRef {
    KeyRef { account: ACCOUNT.into(), region: REGION.into(), key_id: key_id.into() }
}

fn record(key_id: &str) -> KeyRecord {
    KeyRecord {
        description: "test key".into(),
        tags: vec![("team".into(), "storage".into())],
        materials: vec![KeyMaterial {
            version: 1,
            material_id: "ab".repeat(32),
            sealed: vec![0x5e; 60],
            created_ms: 1_700_000_000_000,
            origin: MaterialOrigin::Original,
            public_key: Vec::new(),
        }],
        ..KeyRecord::new_symmetric(key_ref(key_id), 1_700_000_000_000, "{}".into())
    }
}

/// A key pending deletion at `due_ms`.
fn due_record(key_id: &str, due_ms: i64) -> KeyRecord {
    let mut r = record(key_id);
    r.state = KeyState::PendingDeletion;
    r.deletion_ms = Some(due_ms);
    r
}

fn alias(name: &str, target: &str) -> AliasRecord {
    AliasRecord {
        account: ACCOUNT.into(),
        region: REGION.into(),
        name: name.into(),
        target_key_id: target.into(),
        created_ms: 10,
        updated_ms: 10,
    }
}

fn open_temp() -> (TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("kms.db")).expect("open");
    (dir, store)
}

/// A migrated write connection, for driving the writer directly.
fn writer_conn(path: &Path) -> Connection {
    let mut conn = open_writer(path).expect("open writer");
    migrate::migrate(&mut conn).expect("migrate");
    conn
}

fn insert_op(key_id: &str) -> WriteOp {
    WriteOp::InsertKey(key_row(&record(key_id)).expect("row"))
}

#[tokio::test]
async fn meta_round_trip_and_put_replaces() {
    let (_dir, store) = open_temp();
    assert_eq!(store.get_meta("root-check").await.expect("get"), None);
    store.put_meta("root-check", b"one").await.expect("put");
    assert_eq!(store.get_meta("root-check").await.expect("get"), Some(b"one".to_vec()));
    store.put_meta("root-check", b"two").await.expect("put again");
    assert_eq!(store.get_meta("root-check").await.expect("get"), Some(b"two".to_vec()));
}

#[tokio::test]
async fn key_round_trip_update_and_delete() {
    let (_dir, store) = open_temp();
    let mut key = record("k1");
    store.insert_key(&key).await.expect("insert");
    assert_eq!(store.get_key(&key.key).await.expect("get"), Some(key.clone()));

    key.revision = 2;
    key.description = "changed".into();
    store.update_key(&key).await.expect("update");
    assert_eq!(store.get_key(&key.key).await.expect("get"), Some(key.clone()));

    store.delete_key(&key.key).await.expect("delete");
    assert_eq!(store.get_key(&key.key).await.expect("get"), None);
    store.delete_key(&key.key).await.expect("deleting a missing key is not an error");
}

#[tokio::test]
async fn insert_key_rejects_duplicate_and_keeps_original() {
    let (_dir, store) = open_temp();
    let key = record("k1");
    store.insert_key(&key).await.expect("insert");
    let mut other = record("k1");
    other.description = "impostor".into();
    assert!(matches!(store.insert_key(&other).await, Err(StoreError::AlreadyExists)));
    assert_eq!(store.get_key(&key.key).await.expect("get"), Some(key));
}

#[tokio::test]
async fn update_key_requires_the_previous_revision() {
    let (_dir, store) = open_temp();
    let mut key = record("k1");
    store.insert_key(&key).await.expect("insert");

    // Same revision as stored: someone else's stale copy.
    assert!(matches!(store.update_key(&key).await, Err(StoreError::Conflict)));
    // Skipping a revision.
    key.revision = 3;
    assert!(matches!(store.update_key(&key).await, Err(StoreError::Conflict)));
    key.revision = 0;
    assert!(matches!(store.update_key(&key).await, Err(StoreError::Conflict)));
    key.revision = 2;
    store.update_key(&key).await.expect("next revision");
    assert_eq!(store.get_key(&key.key).await.expect("get").map(|k| k.revision), Some(2));

    let mut missing = record("nope");
    missing.revision = 2;
    assert!(matches!(store.update_key(&missing).await, Err(StoreError::NotFound)));
}

#[tokio::test]
async fn write_keys_is_all_or_nothing() {
    let (_dir, store) = open_temp();
    let primary = record("mrk-1");
    let doomed = record("mrk-2");
    store.insert_key(&primary).await.expect("insert");
    store.insert_key(&doomed).await.expect("insert");
    let new = record("mrk-3");
    // A stale update sinks the insert and the delete with it.
    let stale = primary.clone();
    let (new_one, doomed_one) = (std::slice::from_ref(&new), std::slice::from_ref(&doomed.key));
    let outbox = [("outbox/eu-west-1/1".to_owned(), b"message".to_vec())];
    let outcome = store.write_keys(new_one, &[stale], doomed_one, &outbox).await;
    assert!(matches!(outcome, Err(StoreError::Conflict)));
    assert!(store.get_key(&new.key).await.expect("get").is_none());
    assert!(store.get_key(&doomed.key).await.expect("get").is_some());
    assert!(store.list_meta("outbox/", 10).await.expect("list").is_empty());
    // With the right revision, all three parts land together.
    let mut fresh = primary.clone();
    fresh.revision = 2;
    fresh.description = "changed".into();
    store.write_keys(new_one, &[fresh], doomed_one, &outbox).await.expect("write");
    assert_eq!(store.list_meta("outbox/", 10).await.expect("list"), outbox);
    store.put_meta("outbox/eu-west-1/0", b"first").await.expect("put");
    store.put_meta("outboy", b"not in the prefix").await.expect("put");
    let listed = store.list_meta("outbox/", 10).await.expect("list");
    assert_eq!(
        listed.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["outbox/eu-west-1/0", "outbox/eu-west-1/1"]
    );
    store.delete_meta("outbox/eu-west-1/0").await.expect("delete");
    store.delete_meta("outbox/missing").await.expect("delete missing");
    assert_eq!(store.list_meta("outbox/", 1).await.expect("list"), outbox);
    assert!(store.get_key(&new.key).await.expect("get").is_some());
    assert!(store.get_key(&doomed.key).await.expect("get").is_none());
    let stored = store.get_key(&primary.key).await.expect("get").expect("present");
    assert_eq!((stored.revision, stored.description.as_str()), (2, "changed"));
}

#[tokio::test]
async fn alias_round_trip_update_and_delete() {
    let (_dir, store) = open_temp();
    store.insert_key(&record("k1")).await.expect("insert k1");
    store.insert_key(&record("k2")).await.expect("insert k2");
    let a = alias("alias/app", "k1");
    store.insert_alias(&a).await.expect("insert alias");
    assert_eq!(store.get_alias(ACCOUNT, REGION, "alias/app").await.expect("get"), Some(a));
    assert_eq!(store.count_aliases(&key_ref("k1")).await.expect("count"), 1);

    let mut moved = alias("alias/app", "k2");
    moved.created_ms = 99; // ignored: creation time never changes
    moved.updated_ms = 20;
    store.update_alias(&moved).await.expect("update");
    let got = store.get_alias(ACCOUNT, REGION, "alias/app").await.expect("get").expect("some");
    assert_eq!((got.target_key_id.as_str(), got.created_ms, got.updated_ms), ("k2", 10, 20));
    assert_eq!(store.count_aliases(&key_ref("k1")).await.expect("count"), 0);
    assert_eq!(store.count_aliases(&key_ref("k2")).await.expect("count"), 1);

    store.delete_alias(ACCOUNT, REGION, "alias/app").await.expect("delete");
    assert_eq!(store.get_alias(ACCOUNT, REGION, "alias/app").await.expect("get"), None);
}

#[tokio::test]
async fn insert_alias_rejects_duplicate() {
    let (_dir, store) = open_temp();
    for id in ["k1", "k2"] {
        store.insert_key(&record(id)).await.expect("insert key");
    }
    store.insert_alias(&alias("alias/app", "k1")).await.expect("insert");
    assert!(matches!(
        store.insert_alias(&alias("alias/app", "k2")).await,
        Err(StoreError::AlreadyExists)
    ));
    let got = store.get_alias(ACCOUNT, REGION, "alias/app").await.expect("get").expect("some");
    assert_eq!(got.target_key_id, "k1");
}

#[tokio::test]
async fn aliases_must_point_at_an_existing_key() {
    let (_dir, store) = open_temp();
    assert!(matches!(store.insert_alias(&alias("alias/x", "k9")).await, Err(StoreError::NotFound)));
    store.insert_key(&record("k1")).await.expect("insert key");
    store.insert_alias(&alias("alias/x", "k1")).await.expect("insert alias");
    assert!(matches!(store.update_alias(&alias("alias/x", "k9")).await, Err(StoreError::NotFound)));
    assert_eq!(store.list_aliases(ACCOUNT, REGION, None, None, 10).await.expect("list").len(), 1);
}

#[tokio::test]
async fn update_and_delete_of_missing_alias_are_not_found() {
    let (_dir, store) = open_temp();
    assert!(matches!(
        store.update_alias(&alias("alias/none", "k1")).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_alias(ACCOUNT, REGION, "alias/none").await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn delete_key_removes_its_aliases_only() {
    let (_dir, store) = open_temp();
    for id in ["k1", "k2"] {
        store.insert_key(&record(id)).await.expect("insert key");
    }
    for (name, target) in [("alias/a", "k1"), ("alias/b", "k1"), ("alias/c", "k2")] {
        store.insert_alias(&alias(name, target)).await.expect("insert alias");
    }
    // Same key id in another Region: its alias must survive.
    let mut elsewhere = alias("alias/a", "k1");
    elsewhere.region = "eu-west-1".into();
    let mut elsewhere_key = record("k1");
    elsewhere_key.key.region = "eu-west-1".into();
    store.insert_key(&elsewhere_key).await.expect("insert key elsewhere");
    store.insert_alias(&elsewhere).await.expect("insert alias elsewhere");

    store.delete_key(&key_ref("k1")).await.expect("delete");
    let left = store.list_aliases(ACCOUNT, REGION, None, None, 100).await.expect("list");
    let names: Vec<_> = left.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["alias/c"]);
    assert!(store.get_alias(ACCOUNT, "eu-west-1", "alias/a").await.expect("get").is_some());
}

#[tokio::test]
async fn list_key_ids_pages_in_ascending_order() {
    let (_dir, store) = open_temp();
    for id in ["k3", "k1", "k5", "k2", "k4"] {
        store.insert_key(&record(id)).await.expect("insert");
    }
    let mut foreign = record("k0");
    foreign.key.account = "999999999999".into();
    store.insert_key(&foreign).await.expect("insert foreign");
    let mut other_region = record("k0");
    other_region.key.region = "eu-west-1".into();
    store.insert_key(&other_region).await.expect("insert other region");

    let page1 = store.list_key_ids(ACCOUNT, REGION, None, 2).await.expect("page 1");
    assert_eq!(page1, ["k1", "k2"]);
    let page2 = store.list_key_ids(ACCOUNT, REGION, Some("k2"), 2).await.expect("page 2");
    assert_eq!(page2, ["k3", "k4"]);
    let page3 = store.list_key_ids(ACCOUNT, REGION, Some("k4"), 2).await.expect("page 3");
    assert_eq!(page3, ["k5"]);
    // `after` need not name an existing key.
    let mid = store.list_key_ids(ACCOUNT, REGION, Some("k25"), 10).await.expect("mid");
    assert_eq!(mid, ["k3", "k4", "k5"]);
    assert!(store.list_key_ids(ACCOUNT, REGION, None, 0).await.expect("empty").is_empty());
    assert_eq!(store.count_keys(ACCOUNT, REGION).await.expect("count"), 5);
    assert_eq!(store.count_keys(ACCOUNT, "eu-west-1").await.expect("count"), 1);
    assert_eq!(store.count_keys("000000000000", REGION).await.expect("count"), 0);
}

#[tokio::test]
async fn list_aliases_pages_and_filters_by_target() {
    let (_dir, store) = open_temp();
    for id in ["k1", "k2"] {
        store.insert_key(&record(id)).await.expect("insert key");
    }
    for (name, target) in [
        ("alias/d", "k2"),
        ("alias/a", "k1"),
        ("alias/c", "k1"),
        ("alias/b", "k2"),
        ("alias/e", "k1"),
    ] {
        store.insert_alias(&alias(name, target)).await.expect("insert");
    }
    let names = |v: Vec<AliasRecord>| v.into_iter().map(|a| a.name).collect::<Vec<_>>();

    let all = store.list_aliases(ACCOUNT, REGION, None, None, 3).await.expect("list");
    assert_eq!(names(all), ["alias/a", "alias/b", "alias/c"]);
    let rest = store.list_aliases(ACCOUNT, REGION, None, Some("alias/c"), 3).await.expect("list");
    assert_eq!(names(rest), ["alias/d", "alias/e"]);

    let k1 = store.list_aliases(ACCOUNT, REGION, Some("k1"), None, 2).await.expect("list");
    assert_eq!(names(k1), ["alias/a", "alias/c"]);
    let k1_rest =
        store.list_aliases(ACCOUNT, REGION, Some("k1"), Some("alias/c"), 2).await.expect("list");
    assert_eq!(names(k1_rest), ["alias/e"]);
    let other = store.list_aliases("999999999999", REGION, None, None, 10).await.expect("list");
    assert!(other.is_empty());
}

#[tokio::test]
async fn keys_due_are_ordered_by_due_time_and_filtered() {
    let (_dir, store) = open_temp();
    store.insert_key(&due_record("late", 300)).await.expect("insert");
    store.insert_key(&due_record("early", 100)).await.expect("insert");
    store.insert_key(&due_record("future", 1_000)).await.expect("insert");
    let mut rotating = record("rotating");
    rotating.rotation.enabled = true;
    rotating.rotation.next_rotation_ms = Some(200);
    store.insert_key(&rotating).await.expect("insert");
    let mut disabled = record("disabled");
    disabled.state = KeyState::Disabled;
    disabled.rotation.enabled = true;
    disabled.rotation.next_rotation_ms = Some(50); // not due: disabled keys do not rotate
    store.insert_key(&disabled).await.expect("insert");
    store.insert_key(&record("plain")).await.expect("insert");

    let ids = |v: Vec<KeyRef>| v.into_iter().map(|k| k.key_id).collect::<Vec<_>>();
    assert_eq!(ids(store.keys_due(300, 10).await.expect("due")), ["early", "rotating", "late"]);
    assert_eq!(ids(store.keys_due(300, 2).await.expect("due")), ["early", "rotating"]);
    assert_eq!(ids(store.keys_due(99, 10).await.expect("due")), Vec::<String>::new());

    // due_ms follows updates: cancelling deletion takes the key off the list.
    let mut cancelled = due_record("early", 100);
    cancelled.revision = 2;
    cancelled.state = KeyState::Disabled;
    cancelled.deletion_ms = None;
    store.update_key(&cancelled).await.expect("update");
    assert_eq!(ids(store.keys_due(300, 10).await.expect("due")), ["rotating", "late"]);
}

#[tokio::test]
async fn data_survives_close_and_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kms.db");
    let store = SqliteStore::open(&path).expect("open");
    store.insert_key(&record("k1")).await.expect("insert");
    store.insert_alias(&alias("alias/app", "k1")).await.expect("insert alias");
    store.put_meta("m", b"v").await.expect("put");
    drop(store);

    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(store.get_key(&key_ref("k1")).await.expect("get"), Some(record("k1")));
    assert_eq!(
        store.get_alias(ACCOUNT, REGION, "alias/app").await.expect("get"),
        Some(alias("alias/app", "k1"))
    );
    assert_eq!(store.get_meta("m").await.expect("get"), Some(b"v".to_vec()));
}

#[test]
fn migrations_are_idempotent_on_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kms.db");
    let applied = || -> Vec<(i64, i64)> {
        let conn = Connection::open(&path).expect("raw open");
        let mut stmt = conn
            .prepare("SELECT version, applied_ms FROM schema_migrations ORDER BY version")
            .expect("prepare");
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).expect("query");
        rows.collect::<Result<_, _>>().expect("rows")
    };
    drop(SqliteStore::open(&path).expect("open"));
    let first = applied();
    let versions: Vec<i64> = first.iter().map(|(v, _)| *v).collect();
    let known: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
    assert_eq!(versions, known);

    drop(SqliteStore::open(&path).expect("reopen"));
    drop(SqliteStore::open(&path).expect("reopen again"));
    assert_eq!(applied(), first, "reopening must not re-apply or re-record migrations");
}

#[test]
fn migrations_are_numbered_from_one_without_gaps() {
    for (i, m) in MIGRATIONS.iter().enumerate() {
        assert_eq!(m.version, i64::try_from(i).expect("small") + 1);
        assert!(!m.sql.trim().is_empty());
    }
}

#[test]
fn open_refuses_a_newer_schema() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kms.db");
    drop(SqliteStore::open(&path).expect("open"));
    let future = MIGRATIONS.len() + 1;
    Connection::open(&path)
        .expect("raw open")
        .execute("INSERT INTO schema_migrations (version, applied_ms) VALUES (?1, 0)", [future])
        .expect("insert future version");

    match SqliteStore::open(&path) {
        Err(StoreError::Backend(message)) => {
            assert!(message.contains("newer"), "unexpected message: {message}")
        }
        other => panic!("expected a Backend error, got {other:?}"),
    }
}

#[test]
fn writer_connection_uses_wal_and_full_sync() {
    let dir = tempfile::tempdir().expect("temp dir");
    let conn = open_writer(&dir.path().join("kms.db")).expect("open writer");
    let pragma =
        |name: &str| -> i64 { conn.pragma_query_value(None, name, |r| r.get(0)).expect("pragma") };
    let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).expect("mode");
    assert_eq!(mode, "wal");
    assert_eq!(pragma("synchronous"), 2, "FULL");
    assert_eq!(pragma("foreign_keys"), 1);
    assert!(pragma("busy_timeout") > 0);
}

#[tokio::test]
async fn inserted_key_is_visible_to_an_independent_connection() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kms.db");
    let store = SqliteStore::open(&path).expect("open");
    store.insert_key(&record("k1")).await.expect("insert");

    // The store is still open: the row is committed, not merely queued.
    let conn = Connection::open(&path).expect("second connection");
    let revision: i64 = conn
        .query_row(
            "SELECT revision FROM keys WHERE account = ?1 AND region = ?2 AND key_id = ?3",
            [ACCOUNT, REGION, "k1"],
            |r| r.get(0),
        )
        .expect("row present");
    assert_eq!(revision, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_inserts_all_commit() {
    let (_dir, store) = open_temp();
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.insert_key(&record(&format!("k{i:03}"))).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("join").expect("insert");
    }
    assert_eq!(store.count_keys(ACCOUNT, REGION).await.expect("count"), 200);
    let ids = store.list_key_ids(ACCOUNT, REGION, None, 1_000).await.expect("list");
    let expected: Vec<String> = (0..200).map(|i| format!("k{i:03}")).collect();
    assert_eq!(ids, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicates_fail_alone() {
    let (_dir, store) = open_temp();
    let store = Arc::new(store);
    // Every id is inserted twice at once: exactly one of each pair wins.
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.insert_key(&record(&format!("k{:03}", i / 2))).await })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.expect("join") {
            Ok(()) => ok += 1,
            Err(StoreError::AlreadyExists) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(ok, 100);
    assert_eq!(store.count_keys(ACCOUNT, REGION).await.expect("count"), 100);
}

#[test]
fn failing_op_in_a_batch_rolls_back_only_itself() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut conn = writer_conn(&dir.path().join("kms.db"));
    let mut stale = record("k1");
    stale.description = "stale".into(); // revision 1 again: a conflict
    let ops = vec![
        insert_op("k1"),
        insert_op("k1"),
        WriteOp::UpdateKey(key_row(&stale).expect("row")),
        WriteOp::DeleteAlias {
            account: ACCOUNT.into(),
            region: REGION.into(),
            name: "alias/x".into(),
        },
        insert_op("k2"),
    ];
    let outcomes = writer::apply_batch(&mut conn, &ops).expect("batch commits");
    assert!(matches!(
        outcomes.as_slice(),
        [
            Ok(()),
            Err(StoreError::AlreadyExists),
            Err(StoreError::Conflict),
            Err(StoreError::NotFound),
            Ok(())
        ]
    ));
    let count: i64 = conn.query_row("SELECT COUNT(*) FROM keys", [], |r| r.get(0)).expect("count");
    assert_eq!(count, 2);
    let doc: String =
        conn.query_row("SELECT doc FROM keys WHERE key_id = 'k1'", [], |r| r.get(0)).expect("k1");
    assert!(!doc.contains("stale"));
}

#[test]
fn queued_requests_share_one_commit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kms.db");
    let conn = writer_conn(&path);
    let (sender, requests) = mpsc::channel(1_024);
    // Queue everything before the writer runs, so it finds all of it waiting.
    let mut replies: Vec<oneshot::Receiver<Result<(), StoreError>>> = Vec::new();
    for i in 0..(writer::BATCH_MAX_OPS + 10) {
        let (reply, outcome) = oneshot::channel();
        // Id 5 appears twice: the second copy fails without hurting its batch.
        let id = if i == 6 { 5 } else { i };
        let request = WriteRequest { op: insert_op(&format!("k{id:03}")), reply };
        sender.try_send(request).map_err(|_| "queue full").expect("enqueue");
        replies.push(outcome);
    }
    drop(sender);

    let batches = writer::run(conn, requests);
    assert_eq!(
        batches,
        2,
        "{} requests at most {} per batch",
        replies.len(),
        writer::BATCH_MAX_OPS
    );
    for (i, mut outcome) in replies.into_iter().enumerate() {
        let outcome = outcome.try_recv().expect("replied");
        if i == 6 {
            assert!(matches!(outcome, Err(StoreError::AlreadyExists)));
        } else {
            assert!(outcome.is_ok(), "request {i}: {outcome:?}");
        }
    }
    let conn = Connection::open(&path).expect("raw open");
    let count: usize =
        conn.query_row("SELECT COUNT(*) FROM keys", [], |r| r.get(0)).expect("count");
    assert_eq!(count, writer::BATCH_MAX_OPS + 9);
}

#[tokio::test]
async fn corrupt_document_is_reported_as_corrupt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kms.db");
    let store = SqliteStore::open(&path).expect("open");
    store.insert_key(&record("k1")).await.expect("insert");
    Connection::open(&path)
        .expect("raw open")
        .execute("UPDATE keys SET doc = '{' WHERE key_id = 'k1'", [])
        .expect("corrupt it");
    assert!(matches!(store.get_key(&key_ref("k1")).await, Err(StoreError::Corrupt(_))));
}
