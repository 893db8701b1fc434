CREATE TABLE config (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE availability (
    connector_id INTEGER PRIMARY KEY,
    operative INTEGER NOT NULL,
    scheduled INTEGER
);
