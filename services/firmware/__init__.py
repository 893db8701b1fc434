"""firmware: firmware updates (ftp/http download, retries, install, reboot) and diagnostics uploads.

Owns: the firmware and diagnostics jobs and their numbered notifications (`firmware.sqlite`), and the
versions installed as slots (`<data_dir>/firmware/slots/`).
"""
