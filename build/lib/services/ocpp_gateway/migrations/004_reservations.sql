-- ReserveNow: one reservation per connector at most, kept across restarts
CREATE TABLE reservations (
    reservation_id INTEGER PRIMARY KEY,
    connector_id INTEGER NOT NULL UNIQUE,
    id_tag TEXT NOT NULL,
    parent_id_tag TEXT,
    expiry_date TEXT NOT NULL
);
ALTER TABLE transactions ADD COLUMN reservation_id INTEGER;
