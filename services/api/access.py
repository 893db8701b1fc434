"""Who may see full idTags and act: the token holder.

API clients send the token in a header (`Authorization: Bearer <token>`). The browser page logs in once
with it and gets a session cookie (HttpOnly: no script reads it; SameSite=Strict: no other site's page
sends it; Secure over HTTPS), so the token is never in a URL, a browser history or a proxy log. The
cookie only reveals idTags; the actions want the header, which a page of another site cannot make a
browser send. Sessions live in memory: a restart of the api logs the page out, nothing more.
"""

from __future__ import annotations

import hmac
import secrets
import time

from fastapi import Request

COOKIE = "chargebus_session"
SESSION_S = 12 * 3600  # one working day at the station
MAX_SESSIONS = 32  # a login loop cannot grow the table; the oldest session goes first


class Access:
    def __init__(self, token: str | None, secure: bool) -> None:
        self.token = token
        self.secure = secure
        self._sessions: dict[str, float] = {}  # session id -> expiry (monotonic clock)

    def is_token(self, given: str | None) -> bool:
        return bool(self.token and given and hmac.compare_digest(given.encode(), self.token.encode()))

    def bearer(self, authorization: str | None) -> bool:
        return authorization is not None and authorization.startswith("Bearer ") and self.is_token(
            authorization.removeprefix("Bearer ").strip())

    def reader(self, request: Request) -> bool:
        """The request may see full idTags: the token in its header, or the cookie of a live session."""
        if self.bearer(request.headers.get("authorization")):
            return True
        session = request.cookies.get(COOKIE)
        expiry = self._sessions.get(session) if session else None
        return expiry is not None and expiry > time.monotonic()

    def open_session(self) -> str:
        now = time.monotonic()
        self._sessions = {s: e for s, e in self._sessions.items() if e > now}
        while len(self._sessions) >= MAX_SESSIONS:
            del self._sessions[min(self._sessions, key=self._sessions.__getitem__)]
        session = secrets.token_urlsafe(32)
        self._sessions[session] = now + SESSION_S
        return session

    def close_session(self, session: str | None) -> None:
        if session:
            self._sessions.pop(session, None)
