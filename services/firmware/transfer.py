"""Files to and from the Central System's servers: ftp://[user[:password]@]host[:port]/path, http://, https://.

A download lands in `<dest>.part` and becomes `dest` only once complete and on disk, so a cut transfer never
leaves something that looks like an image. It never grows past `max_bytes` nor takes the last `reserve_bytes`
of the disk (the databases beside it must go on writing): either, or a full disk, fails it at once, not
retryable, and the partial file is removed. A URL with a control character (CR/LF: a second FTP command
smuggled into the path) is refused before a connection is made.

Every failure says whether retrying can help (`retryable`): a refused login, a missing file or an unsupported
scheme will not change in `retryInterval` seconds; a timeout, a reset connection or a 5xx may. Passwords never
appear in a message: URLs are shown `redact`ed.
"""

from __future__ import annotations

import contextlib
import errno
import ftplib
import http.client
import os
import ssl
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from services.common.logs import redact_url

CHUNK = 64 * 1024
PROGRESS_EVERY_S = 0.1

Progress = Callable[[int, int | None], None]


class TransferError(Exception):
    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


def redact(url: str) -> str:
    """The URL without its password (the user is kept: it helps to see which account was used)."""
    return redact_url(url)


def _parse(url: str) -> SplitResult:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in unquote(url)):
        raise TransferError(f"a control character (CR, LF...) in the URL, refused: {redact(url)!r}", retryable=False)
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError as exc:
        raise TransferError(f"not a usable URL: {redact(url)} ({exc})", retryable=False) from None
    if parts.scheme not in ("ftp", "http", "https"):
        raise TransferError(f"scheme {parts.scheme or '(none)'!r} not supported (ftp, http, https)", retryable=False)
    if not parts.hostname:
        raise TransferError(f"no host in {redact(url)}", retryable=False)
    return parts


class _Meter:
    """Calls `progress` at most every PROGRESS_EVERY_S, and once at the end."""

    def __init__(self, progress: Progress | None, total: int | None) -> None:
        self.progress, self.total, self.done, self._last = progress, total, 0, 0.0

    def add(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.progress is not None and now - self._last >= PROGRESS_EVERY_S:
            self._last = now
            self.progress(self.done, self.total)

    def end(self) -> None:
        if self.progress is not None:
            self.progress(self.done, self.total)


class _Sink:
    """The `.part` file: every block is counted against the size cap and the disk's reserve before it is written."""

    def __init__(self, out: IO[bytes], url: str, meter: _Meter, max_bytes: int | None, reserve_bytes: int) -> None:
        self.out, self.url, self.meter, self.max_bytes, self.reserve_bytes = out, url, meter, max_bytes, reserve_bytes

    def check(self, size: int) -> None:
        """Refuse `size` bytes (announced, or written so far) over the cap or beyond the free disk."""
        if self.max_bytes is not None and size > self.max_bytes:
            raise TransferError(f"{redact(self.url)}: over {self.max_bytes} bytes, the largest image accepted",
                                retryable=False)
        stat = os.statvfs(self.out.name)
        free = stat.f_bavail * stat.f_frsize
        if size - self.meter.done > free - self.reserve_bytes:
            raise TransferError(f"disk full: {size - self.meter.done} more bytes do not fit ({free} free, "
                                f"{self.reserve_bytes} kept for the databases)", retryable=False)

    def write(self, block: bytes) -> None:
        self.check(self.meter.done + len(block))
        try:
            self.out.write(block)
        except OSError as exc:
            raise local_error(exc) from None
        self.meter.add(len(block))


def local_error(exc: OSError) -> TransferError:
    """A failure of our own disk: the server cannot fix it, so it is never retried."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return TransferError(f"disk full: {exc.strerror}", retryable=False)
    return TransferError(f"cannot write the download: {exc.strerror or exc}", retryable=False)


def download(url: str, dest: Path, progress: Progress | None = None, timeout_s: float = 30.0, *,
             max_bytes: int | None = None, reserve_bytes: int = 0) -> int:
    """Fetch `url` into `dest`; returns the number of bytes."""
    parts = _parse(url)
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with part.open("wb") as out:
            meter = _Meter(progress, None)
            sink = _Sink(out, url, meter, max_bytes, reserve_bytes)
            announced = _ftp_get(parts, sink, timeout_s) if parts.scheme == "ftp" else _http_get(url, sink, timeout_s)
            if announced is not None and meter.done != announced:
                raise TransferError(f"{redact(url)}: {meter.done} bytes arrived, {announced} announced",
                                    retryable=True)
            try:
                out.flush()
                os.fsync(out.fileno())
            except OSError as exc:
                raise local_error(exc) from None
        part.replace(dest)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    meter.end()
    return meter.done


def _ftp_login(parts: SplitResult, timeout_s: float) -> ftplib.FTP:
    ftp = ftplib.FTP(timeout=timeout_s)
    try:
        ftp.connect(parts.hostname or "", parts.port or 21)
        ftp.login(unquote(parts.username) if parts.username else "anonymous",
                  unquote(parts.password) if parts.password else "")
        ftp.set_pasv(True)
    except ftplib.error_perm as exc:
        ftp.close()
        raise TransferError(f"ftp login refused by {parts.hostname}: {exc}", retryable=False) from None
    except (OSError, EOFError, ftplib.Error) as exc:
        ftp.close()
        raise TransferError(f"ftp {parts.hostname}: {exc}", retryable=True) from None
    return ftp


@contextlib.contextmanager
def _ftp_session(parts: SplitResult, path: str, timeout_s: float) -> Iterator[ftplib.FTP]:
    """A logged-in FTP connection, closed at the end; a refusal of the server (5xx) is final, the rest retryable."""
    ftp = _ftp_login(parts, timeout_s)
    try:
        yield ftp
    except ftplib.error_perm as exc:
        raise TransferError(f"ftp {parts.hostname}{path}: {exc}", retryable=False) from None
    except (OSError, EOFError, ftplib.Error) as exc:
        raise TransferError(f"ftp {parts.hostname}{path}: {exc}", retryable=True) from None
    finally:
        ftp.close()


def _ftp_get(parts: SplitResult, sink: _Sink, timeout_s: float) -> int | None:
    path = unquote(parts.path) or "/"
    with _ftp_session(parts, path, timeout_s) as ftp:
        ftp.voidcmd("TYPE I")
        try:
            size: int | None = ftp.size(path)
        except ftplib.error_perm:
            size = None  # SIZE is optional in FTP; the RETR below says whether the file exists
        if size is not None:
            sink.check(size)
        sink.meter.total = size
        ftp.retrbinary(f"RETR {path}", sink.write, blocksize=CHUNK)
        return size


def _http_error(url: str, exc: Exception) -> TransferError:
    if isinstance(exc, urllib.error.HTTPError):
        retryable = exc.code >= 500 or exc.code in (408, 429)
        return TransferError(f"{redact(url)}: HTTP {exc.code} {exc.reason}", retryable=retryable)
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, ssl.SSLCertVerificationError):
        return TransferError(f"{redact(url)}: certificate not trusted: {reason}", retryable=False)
    return TransferError(f"{redact(url)}: {reason}", retryable=True)


def _http_get(url: str, sink: _Sink, timeout_s: float) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            length = response.headers.get("Content-Length")
            announced = int(length) if length and length.isdigit() else None
            if announced is not None:
                sink.check(announced)
            sink.meter.total = announced
            while chunk := response.read(CHUNK):
                sink.write(chunk)
            return announced
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        raise _http_error(url, exc) from None


def upload(url: str, source: Path, timeout_s: float = 30.0) -> str:
    """Put `source` into the directory `url` names, under its own name; returns where (redacted)."""
    parts = _parse(url)
    directory = parts.path if parts.path.endswith("/") else parts.path + "/"
    target = parts._replace(path=directory + source.name)
    if parts.scheme == "ftp":
        _ftp_put(target, source, timeout_s)
    else:
        _http_put(urlunsplit(target), source, timeout_s)
    return redact(urlunsplit(target))


def _ftp_put(target: SplitResult, source: Path, timeout_s: float) -> None:
    path = unquote(target.path)
    with _ftp_session(target, path, timeout_s) as ftp, source.open("rb") as f:
        ftp.storbinary(f"STOR {path}", f, blocksize=CHUNK)


def _http_put(url: str, source: Path, timeout_s: float) -> None:
    size = source.stat().st_size
    try:
        with source.open("rb") as f:
            request = urllib.request.Request(url, data=f, method="PUT", headers={
                "Content-Type": "application/octet-stream", "Content-Length": str(size)})
            with urllib.request.urlopen(request, timeout=timeout_s):
                return
    except urllib.error.HTTPError as exc:
        if exc.code not in (405, 501):
            raise _http_error(url, exc) from None
    except (BrokenPipeError, ConnectionResetError):
        # A server that refuses PUT often answers 405 and closes at once, while the body is still going
        # out; the answer is lost with the connection. The POST below fails with its own error if the
        # server is really gone.
        pass
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        if not isinstance(getattr(exc, "reason", None), BrokenPipeError | ConnectionResetError):
            raise _http_error(url, exc) from None
    _http_post(url.rsplit("/", 1)[0] + "/", source, timeout_s)


def _http_post(url: str, source: Path, timeout_s: float) -> None:
    """The server refused PUT: a multipart form with the file in a field named `file`."""
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{source.name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = len(head) + source.stat().st_size + len(tail)

    def body() -> Iterator[bytes]:
        yield head
        with source.open("rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk
        yield tail

    request = urllib.request.Request(url, data=body(), method="POST", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "Content-Length": str(size)})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s):
            return
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        raise _http_error(url, exc) from None
