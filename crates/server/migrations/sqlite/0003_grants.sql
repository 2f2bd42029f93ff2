-- 0003_grants: grants on keys.
--
-- The PostgreSQL backend mirrors this file; only the column types differ (see 0001).
-- `doc` is the whole grant as JSON (grantee, retiring principal, operations, constraint,
-- name, issuing account, creation time). Grants are read once at start into memory;
-- a key's grants are deleted with the key.
CREATE TABLE grants (
    grant_id TEXT NOT NULL PRIMARY KEY,
    account  TEXT NOT NULL,
    region   TEXT NOT NULL,
    key_id   TEXT NOT NULL,
    doc      TEXT NOT NULL
);

-- A key's grants: cleanup when the key is deleted.
CREATE INDEX grants_key ON grants (account, region, key_id);
