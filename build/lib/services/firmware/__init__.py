"""firmware: UpdateFirmware (ftp/http download, retries, install, reboot) and GetDiagnostics.

Owns: pending firmware and diagnostics jobs. Its features come with the Firmware Management issue;
until then it runs its life cycle only (settings, bus, health, clean shutdown).
"""
