-- The status notifications are kept in the station's own words (firmware and upload phases); the gateway
-- writes them out in its protocol's.
UPDATE notifications SET status = CASE status
    WHEN 'DownloadFailed' THEN 'download_failed'
    WHEN 'InstallationFailed' THEN 'install_failed'
    WHEN 'UploadFailed' THEN 'upload_failed'
    ELSE lower(status) END;
