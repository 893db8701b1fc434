CREATE TABLE transactions (
    session_id TEXT PRIMARY KEY,
    connector_id INTEGER NOT NULL,
    id_tag TEXT NOT NULL,
    started_at TEXT NOT NULL,
    meter_start INTEGER NOT NULL,
    transaction_id INTEGER,
    active INTEGER NOT NULL DEFAULT 1,
    last_meter_wh INTEGER NOT NULL,
    last_meter_at TEXT NOT NULL,
    stop_reason TEXT,
    stopped_at TEXT,
    meter_stop INTEGER
);
CREATE INDEX transactions_active ON transactions (active);
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    action TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
);
