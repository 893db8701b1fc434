-- how many times the install of the current job began: one interrupted again and again (a process killed while
-- verifying, a power cut each time) ends InstallationFailed instead of starting over forever
ALTER TABLE update_job ADD COLUMN install_starts INTEGER NOT NULL DEFAULT 0;
