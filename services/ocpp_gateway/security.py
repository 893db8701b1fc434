"""OCPP 1.6 security profiles on the CSMS link (security whitepaper, edition 3).

0: nothing (no Authorization header, whatever key is stored). 1: HTTP basic authentication (charge point id,
AuthorizationKey). 2: the same over TLS, the CSMS's certificate checked against `csms_ca_bundle` (or the
system's CAs). 3: TLS with a client certificate (`csms_client_cert`, `csms_client_key`) instead of the
password. The profile may only be raised, and only to one this station can do now: a setting accepted and then
half-done would leave a station that never connects.
"""

from __future__ import annotations

import base64
import ssl
from dataclasses import dataclass
from pathlib import Path

from services.common.settings import Settings


@dataclass(frozen=True)
class LinkSecurity:
    headers: dict[str, str]
    ssl: ssl.SSLContext | None


def link_security(profile: int, url: str, charge_point_id: str, key: str, settings: Settings) -> LinkSecurity:
    """What the WebSocket handshake carries; raises ValueError when the profile cannot be met by this URL."""
    secure = url.startswith("wss://")
    if profile >= 2 and not secure:
        raise ValueError(f"SecurityProfile {profile} needs a wss:// CSMS URL")
    headers: dict[str, str] = {}
    if key and 1 <= profile < 3:  # profile 3 authenticates with the certificate alone
        token = base64.b64encode(f"{charge_point_id}:{key}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    context = None
    if secure:
        context = ssl.create_default_context(cafile=str(settings.csms_ca_bundle) if settings.csms_ca_bundle else None)
        if profile == 3:
            if settings.csms_client_cert is None or settings.csms_client_key is None:
                raise ValueError("SecurityProfile 3 needs csms_client_cert and csms_client_key")
            context.load_cert_chain(str(settings.csms_client_cert), str(settings.csms_client_key))
    return LinkSecurity(headers, context)


def profile_refusal(current: int, new: int, key_set: bool, url: str, settings: Settings) -> str | None:
    """Why ChangeConfiguration SecurityProfile must be Rejected, or None."""
    if new < current:
        return f"SecurityProfile may only be raised (now {current})"
    if new in (1, 2) and not key_set:
        return f"SecurityProfile {new} needs an AuthorizationKey first"
    if new >= 2 and not url.startswith("wss://"):
        return f"SecurityProfile {new} needs a wss:// CSMS URL"
    if new == 3 and not (_readable(settings.csms_client_cert) and _readable(settings.csms_client_key)):
        return "SecurityProfile 3 needs csms_client_cert and csms_client_key"
    return None


def _readable(path: Path | None) -> bool:
    return path is not None and path.is_file()
