-- one firmware update and one diagnostics upload at a time; a new request replaces the old one
CREATE TABLE update_job (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    location TEXT NOT NULL,
    retrieve_at TEXT NOT NULL,
    retries INTEGER NOT NULL,
    retry_interval_s INTEGER NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0,
    phase TEXT NOT NULL,
    version TEXT,
    switched_at TEXT,
    requested_at TEXT NOT NULL
);
CREATE TABLE diagnostics_job (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    location TEXT NOT NULL,
    start_at TEXT,
    stop_at TEXT,
    retries INTEGER NOT NULL,
    retry_interval_s INTEGER NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0,
    phase TEXT NOT NULL,
    file_name TEXT NOT NULL,
    requested_at TEXT NOT NULL
);
-- the status notifications for the CSMS, numbered across restarts and versions (the gateway sends each once)
CREATE TABLE notifications (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    at TEXT NOT NULL
);
