"""Downloads and uploads against real FTP and HTTP servers on loopback; what is retryable; no password shown."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.firmware.transfer import TransferError, download, redact, upload
from tests.file_servers import ftp_server, http_server


@pytest.fixture
def ftp(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "ftp"
    with ftp_server(root, user="cs", password="p@ss:w/rd") as url:
        yield url.replace("p@ss:w/rd", "p%40ss%3Aw%2Frd"), root


def test_ftp_download_with_an_encoded_password_and_upload(ftp: tuple[str, Path], tmp_path: Path) -> None:
    url, root = ftp
    payload = os.urandom(300_000)
    (root / "image.cbfw").write_bytes(payload)
    seen: list[tuple[int, int | None]] = []
    dest = tmp_path / "got" / "image.cbfw"
    assert download(f"{url}/image.cbfw", dest, lambda done, total: seen.append((done, total))) == len(payload)
    assert dest.read_bytes() == payload and seen[-1] == (len(payload), len(payload))
    (root / "in").mkdir()
    where = upload(f"{url}/in", dest)
    assert (root / "in" / "image.cbfw").read_bytes() == payload and "p%40ss" not in where and "***" in where


def test_ftp_refusals_are_final_and_leave_nothing(ftp: tuple[str, Path], tmp_path: Path) -> None:
    url, _root = ftp
    dest = tmp_path / "x.cbfw"
    with pytest.raises(TransferError) as wrong:
        download(url.replace("p%40ss", "nope") + "/image.cbfw", dest)
    assert not wrong.value.retryable and "nope" not in wrong.value.message
    with pytest.raises(TransferError) as missing:
        download(f"{url}/missing.cbfw", dest)
    assert not missing.value.retryable
    assert list(tmp_path.glob("x.cbfw*")) == []


class _Flaky(BaseHTTPRequestHandler):
    """GET /cut announces more than it sends; /endless sends 8 MB without a Content-Length; /boom is a 500;
    /missing a 404; PUT is refused, POST is taken."""

    posted: dict[str, bytes] = {}

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/cut":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"x" * 1000)
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if self.path == "/endless":
            self.send_response(200)  # HTTP/1.0 without a length: the body ends when the connection closes
            self.end_headers()
            with contextlib.suppress(OSError):  # the client gives up midway
                for _ in range(128):
                    self.wfile.write(b"x" * 65536)
            return
        self.send_error(500 if self.path == "/boom" else 404)

    def do_PUT(self) -> None:
        self.send_error(405)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).posted[self.path] = body
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def flaky() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_download_of_megabytes_with_progress(tmp_path: Path) -> None:
    payload = os.urandom(3_000_000)
    with http_server(tmp_path / "www") as url:
        (tmp_path / "www" / "fw.cbfw").write_bytes(payload)
        seen: list[int] = []
        dest = tmp_path / "fw.cbfw"
        assert download(f"{url}/fw.cbfw", dest, lambda done, _total: seen.append(done)) == len(payload)
    assert hashlib.sha256(dest.read_bytes()).digest() == hashlib.sha256(payload).digest()
    assert seen and seen == sorted(seen) and seen[-1] == len(payload)


@pytest.mark.parametrize(("path", "retryable"), [("/boom", True), ("/missing", False), ("/cut", True)])
def test_http_failures_say_whether_a_retry_can_help(flaky: str, tmp_path: Path, path: str, retryable: bool) -> None:
    dest = tmp_path / "fw.cbfw"
    with pytest.raises(TransferError) as failed:
        download(flaky + path, dest, timeout_s=5)
    assert failed.value.retryable is retryable
    assert list(tmp_path.iterdir()) == []  # neither the file nor its .part


def test_an_unreachable_server_is_retryable_and_other_schemes_are_refused(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nobody listens there
    with pytest.raises(TransferError) as refused:
        download(f"http://127.0.0.1:{port}/fw.cbfw", tmp_path / "fw", timeout_s=2)
    assert refused.value.retryable
    for url in ("sftp://h/fw", "file:///etc/passwd", "http:///nohost"):
        with pytest.raises(TransferError) as bad:
            download(url, tmp_path / "fw")
        assert not bad.value.retryable


def test_http_upload_puts_and_falls_back_to_post(tmp_path: Path, flaky: str) -> None:
    archive = tmp_path / "diag.tar.gz"
    # Larger than the socket buffers: the server's 405 and close arrive while the PUT body is still being sent.
    archive.write_bytes(os.urandom(8_000_000))
    with http_server(tmp_path / "www") as url:
        upload(f"{url}/", archive)
        assert (tmp_path / "www" / "diag.tar.gz").read_bytes() == archive.read_bytes()
    upload(f"{flaky}/incoming/", archive)
    body = _Flaky.posted["/incoming/"]
    assert b'name="file"; filename="diag.tar.gz"' in body and archive.read_bytes() in body


@given(st.text(alphabet=st.characters(codec="ascii", categories=("L", "N")), min_size=4, max_size=20))
def test_redact_never_shows_the_password(password: str) -> None:
    url = f"ftp://user:{password}@example.org:2121/path/file.cbfw"
    shown = redact(url)
    if password not in "ftp://user:@example.org:2121/path/file.cbfw":
        assert password not in shown
    assert shown.startswith("ftp://user:***@example.org:2121/")


def test_a_download_over_the_maximum_size_stops_there_without_a_length_and_is_final(flaky: str, tmp_path: Path,
                                                                                     ftp: tuple[str, Path]) -> None:
    with pytest.raises(TransferError) as endless:
        download(f"{flaky}/endless", tmp_path / "fw.cbfw", timeout_s=5, max_bytes=1024 * 1024)
    assert not endless.value.retryable and "1048576 bytes" in endless.value.message
    url, root = ftp
    (root / "big.cbfw").write_bytes(b"x" * (1024 * 1024 + 1))
    with pytest.raises(TransferError) as announced:
        download(f"{url}/big.cbfw", tmp_path / "fw.cbfw", max_bytes=1024 * 1024)
    assert not announced.value.retryable
    assert list(tmp_path.glob("fw.cbfw*")) == []


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB file system of its own (tmpfs, as root): a disk that really fills up."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_fails_the_download_at_once_and_removes_the_partial_file(flaky: str, tiny_disk: Path) -> None:
    with pytest.raises(TransferError) as full:
        download(f"{flaky}/endless", tiny_disk / "fw.cbfw", timeout_s=5)
    assert not full.value.retryable and "disk full" in full.value.message
    assert list(tiny_disk.iterdir()) == []


def test_a_download_leaves_the_reserve_free(flaky: str, tmp_path: Path) -> None:
    free = os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize
    with pytest.raises(TransferError) as kept:
        download(f"{flaky}/endless", tmp_path / "fw.cbfw", timeout_s=5, reserve_bytes=free)
    assert not kept.value.retryable and "kept for the databases" in kept.value.message
    assert list(tmp_path.glob("fw.cbfw*")) == []


@pytest.mark.parametrize("path", ["/a%0D%0ADELE%20precious.cbfw", "/a%0ADELE%20precious.cbfw"])
def test_a_url_with_cr_lf_is_refused_before_any_command(ftp: tuple[str, Path], tmp_path: Path, path: str) -> None:
    url, root = ftp
    (root / "precious.cbfw").write_bytes(b"keep me")
    with pytest.raises(TransferError) as down:
        download(url + path, tmp_path / "fw.cbfw")
    assert not down.value.retryable and "control character" in down.value.message
    with pytest.raises(TransferError) as up:
        upload(url + path, tmp_path / "diag.tar.gz")
    assert not up.value.retryable and "control character" in up.value.message
    assert (root / "precious.cbfw").read_bytes() == b"keep me"
