CREATE TABLE register (
    connector_id INTEGER PRIMARY KEY,
    energy_wh REAL NOT NULL,
    last_counter_wh REAL NOT NULL,
    updated_at TEXT NOT NULL
);
