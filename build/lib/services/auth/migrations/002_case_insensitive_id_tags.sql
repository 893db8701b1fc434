-- IdToken is CiString20: one card whatever the case it is read in. Rows are keyed by the folded idTag
-- (Python casefold, which lower() equals for the ASCII ids cards carry). The idTag itself is kept as given.
CREATE TABLE cache_by_key (
    id_tag_key TEXT PRIMARY KEY,
    id_tag TEXT NOT NULL,
    status TEXT NOT NULL,
    parent_id_tag TEXT,
    expiry_date TEXT,
    updated_at TEXT NOT NULL
);
INSERT OR REPLACE INTO cache_by_key SELECT lower(id_tag), id_tag, status, parent_id_tag, expiry_date, updated_at
    FROM cache ORDER BY updated_at;
DROP TABLE cache;
ALTER TABLE cache_by_key RENAME TO cache;
CREATE TABLE local_list_by_key (
    id_tag_key TEXT PRIMARY KEY,
    id_tag TEXT NOT NULL,
    status TEXT NOT NULL,
    parent_id_tag TEXT,
    expiry_date TEXT
);
INSERT OR REPLACE INTO local_list_by_key SELECT lower(id_tag), id_tag, status, parent_id_tag, expiry_date
    FROM local_list;
DROP TABLE local_list;
ALTER TABLE local_list_by_key RENAME TO local_list;
