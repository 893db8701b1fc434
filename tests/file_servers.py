"""Real file servers on loopback for the firmware tests: FTP with a user and password (pyftpdlib) and HTTP
(the standard library's server: GET of files, PUT into the folder)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import ThreadedFTPServer


@contextlib.contextmanager
def ftp_server(root: Path, user: str = "cs", password: str = "s3cr3t") -> Iterator[str]:
    """Serve `root` read-write for `user`; yields the base URL with the credentials in it."""
    root.mkdir(parents=True, exist_ok=True)
    authorizer = DummyAuthorizer()
    authorizer.add_user(user, password, str(root), perm="elradfmwMT")
    handler = type("Handler", (FTPHandler,), {"authorizer": authorizer, "banner": "test ftp", "passive_ports":
                                              None})
    server = ThreadedFTPServer(("127.0.0.1", 0), handler)
    port = server.socket.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        # one poll at a time, so that the loop is closed from here after its thread ended, not under its poll
        while not stop.is_set():
            server.serve_forever(timeout=0.2, blocking=False, handle_exit=False)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"ftp://{user}:{password}@127.0.0.1:{port}"
    finally:
        stop.set()
        thread.join(5)
        server.close_all()


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_PUT(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        target = Path(self.directory) / Path(self.path).name
        with target.open("wb") as out:
            left = length
            while left > 0:
                chunk = self.rfile.read(min(left, 65536))
                if not chunk:
                    break
                out.write(chunk)
                left -= len(chunk)
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()


@contextlib.contextmanager
def http_server(root: Path) -> Iterator[str]:
    """Serve `root` (GET) and take uploads into it (PUT); yields the base URL."""
    root.mkdir(parents=True, exist_ok=True)
    handler = type("Handler", (_Handler,), {})

    def make(*args: Any, **kwargs: Any) -> _Handler:
        return handler(*args, directory=str(root), **kwargs)

    server = ThreadingHTTPServer(("127.0.0.1", 0), make)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
