-- 0001_init: server metadata, keys and aliases.
--
-- The PostgreSQL backend mirrors this file; only the column types differ
-- (BIGINT for INTEGER, BYTEA for BLOB). Primary-key columns say NOT NULL because
-- SQLite, unlike PostgreSQL, would otherwise accept NULL in them.

-- Small named values, such as the root-key check.
CREATE TABLE meta (
    name  TEXT NOT NULL PRIMARY KEY,
    value BLOB NOT NULL
);

-- One row per key. `doc` is the whole KeyRecord as JSON; `revision` and `due_ms`
-- repeat two of its fields so optimistic concurrency and the background scan run
-- in SQL. `due_ms` is KeyRecord::due_ms(), NULL when nothing is due.
CREATE TABLE keys (
    account  TEXT    NOT NULL,
    region   TEXT    NOT NULL,
    key_id   TEXT    NOT NULL,
    revision INTEGER NOT NULL,
    due_ms   INTEGER NULL,
    doc      TEXT    NOT NULL,
    PRIMARY KEY (account, region, key_id)
);

-- The background scan reads keys in due order; the trailing columns make the
-- index cover its whole ORDER BY.
CREATE INDEX keys_due_ms ON keys (due_ms, account, region, key_id);

-- One row per alias; `name` includes the `alias/` prefix.
CREATE TABLE aliases (
    account       TEXT    NOT NULL,
    region        TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    target_key_id TEXT    NOT NULL,
    created_ms    INTEGER NOT NULL,
    updated_ms    INTEGER NOT NULL,
    PRIMARY KEY (account, region, name)
);

-- Aliases of one key: ListAliases with a KeyId, and cleanup when a key is deleted.
CREATE INDEX aliases_target ON aliases (account, region, target_key_id);
