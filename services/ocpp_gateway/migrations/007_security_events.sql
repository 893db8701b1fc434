-- the security log (OCPP 2.0.1 A04): every security event the station recorded, in order; each one is sent to the
-- CSMS (SecurityEventNotification) until it confirms it, across restarts and while offline. `key` makes an event
-- recorded again for the same cause (a boot, a firmware notification) one event.
CREATE TABLE security_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT UNIQUE,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    tech_info TEXT,
    sent INTEGER NOT NULL DEFAULT 0
);
