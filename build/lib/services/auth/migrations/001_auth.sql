CREATE TABLE cache (
    id_tag TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    parent_id_tag TEXT,
    expiry_date TEXT,
    updated_at TEXT NOT NULL
);
CREATE TABLE local_list (
    id_tag TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    parent_id_tag TEXT,
    expiry_date TEXT
);
CREATE TABLE local_list_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO local_list_version (id, version) VALUES (1, 0);
