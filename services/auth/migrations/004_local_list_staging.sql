-- The parts of a local list update that has not had its last part yet: a long update comes in parts so that
-- no process holds all of it at once, and nothing of it is in force until the last part. A row without a
-- status removes its token (a differential update). Emptied at every start and by every first part.
CREATE TABLE local_list_staging (
    token_key TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    token_type TEXT NOT NULL,
    status TEXT,
    group_token TEXT,
    group_type TEXT,
    expires_at TEXT
);
