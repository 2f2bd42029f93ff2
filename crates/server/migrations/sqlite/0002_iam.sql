-- 0002_iam: IAM users, roles, access keys and STS sessions.
--
-- The PostgreSQL backend mirrors this file; only the column types differ (see 0001).
-- `kind` is 'user', 'role', 'access_key' or 'session'; `id` is unique per kind
-- ('<account>/<name>' for users and roles, the access key id for credentials).
-- `doc` is the whole record as JSON; secrets in it are sealed under the root key.
CREATE TABLE iam_records (
    kind    TEXT NOT NULL,
    id      TEXT NOT NULL,
    account TEXT NOT NULL,
    doc     TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
