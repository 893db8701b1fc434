-- one row per installed charging profile; the profile itself as OCPP 1.6 JSON (snake_case), read back by
-- profiles.from_ocpp, so a profile is stored exactly as it was accepted
CREATE TABLE profiles (
    id INTEGER PRIMARY KEY,
    connector_id INTEGER NOT NULL CHECK (connector_id >= 0),
    purpose TEXT NOT NULL,
    stack_level INTEGER NOT NULL,
    session_id TEXT,
    body TEXT NOT NULL,
    installed_at TEXT NOT NULL
);
