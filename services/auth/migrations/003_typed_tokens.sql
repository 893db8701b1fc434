-- Tokens carry a type (a card's UID, an account id, ...) and may be 36 characters long. A row is keyed by
-- "<type>:<value without case>". Every row written before this came from the one kind of token the
-- station knew, a card read by its reader or named by the CSMS in the same form: iso14443. Statuses and
-- the group are stored in the station's own words.
CREATE TABLE cache_typed (
    token_key TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    token_type TEXT NOT NULL,
    status TEXT NOT NULL,
    group_token TEXT,
    group_type TEXT,
    expires_at TEXT,
    updated_at TEXT NOT NULL
);
INSERT OR REPLACE INTO cache_typed
    SELECT 'iso14443:' || id_tag_key, id_tag, 'iso14443',
           CASE status WHEN 'ConcurrentTx' THEN 'in_use' ELSE lower(status) END,
           parent_id_tag, CASE WHEN parent_id_tag IS NULL THEN NULL ELSE 'iso14443' END,
           expiry_date, updated_at
    FROM cache;
DROP TABLE cache;
ALTER TABLE cache_typed RENAME TO cache;
CREATE TABLE local_list_typed (
    token_key TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    token_type TEXT NOT NULL,
    status TEXT NOT NULL,
    group_token TEXT,
    group_type TEXT,
    expires_at TEXT
);
INSERT OR REPLACE INTO local_list_typed
    SELECT 'iso14443:' || id_tag_key, id_tag, 'iso14443',
           CASE status WHEN 'ConcurrentTx' THEN 'in_use' ELSE lower(status) END,
           parent_id_tag, CASE WHEN parent_id_tag IS NULL THEN NULL ELSE 'iso14443' END,
           expiry_date
    FROM local_list;
DROP TABLE local_list;
ALTER TABLE local_list_typed RENAME TO local_list;
