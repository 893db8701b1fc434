-- sessions as phases, the data a restart must not lose, a place for messages that can never be sent
ALTER TABLE transactions ADD COLUMN phase TEXT NOT NULL DEFAULT 'active';
UPDATE transactions SET phase = CASE active WHEN 1 THEN 'active' ELSE 'stopped' END;
DROP INDEX transactions_active;
ALTER TABLE transactions DROP COLUMN active;
CREATE INDEX transactions_phase ON transactions (phase);
ALTER TABLE transactions ADD COLUMN parent_id_tag TEXT;
ALTER TABLE transactions ADD COLUMN suspended INTEGER NOT NULL DEFAULT 0;
ALTER TABLE transactions ADD COLUMN stop_at_wh INTEGER;
CREATE INDEX outbox_session ON outbox (session_id);
CREATE TABLE outbox_set_aside (
    seq INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL,
    action TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    reason TEXT NOT NULL,
    set_aside_at TEXT NOT NULL
);
CREATE TABLE transaction_data (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    meter_value TEXT NOT NULL
);
CREATE INDEX transaction_data_session ON transaction_data (session_id);
CREATE TABLE gateway_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE status_sent (
    connector_id INTEGER PRIMARY KEY,
    status TEXT NOT NULL,
    error_code TEXT NOT NULL,
    vendor_error_code TEXT
);
