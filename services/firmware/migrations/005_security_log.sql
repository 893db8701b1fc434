-- a diagnostics job may ask for the security log only: the log records that are security events
ALTER TABLE diagnostics_job ADD COLUMN security_only INTEGER NOT NULL DEFAULT 0;
