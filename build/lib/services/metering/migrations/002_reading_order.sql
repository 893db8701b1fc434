-- the register follows the meter in the order power read it (a per-boot sequence of power), not by wall
-- clock: an RTC that jumps back (before NTP) must not freeze the register
ALTER TABLE register ADD COLUMN boot_id TEXT;
ALTER TABLE register ADD COLUMN last_sequence INTEGER;
CREATE TABLE past_boots (
    connector_id INTEGER NOT NULL,
    boot_id TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (connector_id, boot_id)
);
