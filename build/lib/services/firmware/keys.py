"""The Ed25519 key pair that signs firmware images.

The private key stays with whoever builds images; a station trusts exactly one public key, a PEM
file whose path is a setting. Keys live outside the repository: tests generate their own.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PRIVATE_MODE = 0o600
PUBLIC_MODE = 0o644


class KeyFileError(ValueError):
    """A key file that cannot be used: missing, unreadable, not PEM, or not an Ed25519 key."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def generate(private_path: Path, public_path: Path) -> None:
    """Write a new key pair; FileExistsError if either file exists (a signing key is never replaced by accident)."""
    for path in (private_path, public_path):
        if path.exists() or path.is_symlink():
            raise FileExistsError(f"{path} exists; refusing to overwrite a key file")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write_new(private_path, private_pem, PRIVATE_MODE)
    try:
        _write_new(public_path, public_pem, PUBLIC_MODE)
    except OSError:
        # half a pair is worse than none: the next attempt would refuse to overwrite the private key
        with contextlib.suppress(FileNotFoundError):
            private_path.unlink()
        raise


def _write_new(path: Path, data: bytes, mode: int) -> None:
    # O_EXCL closes the race between the exists() check and the write; the mode is set at creation so the
    # private key is never readable by others, not even for a moment
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)  # the umask may have removed bits we want (0644 for the public key)
        with os.fdopen(fd, "wb", closefd=False) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    finally:
        os.close(fd)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(path, "no such key file") from None
    except OSError as exc:
        raise KeyFileError(path, f"cannot read: {exc.strerror or exc}") from None


def load_private(path: Path) -> Ed25519PrivateKey:
    """The signing key in `path` (PEM, PKCS8, unencrypted); KeyFileError naming the file otherwise."""
    data = _read(path)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:  # raised for an encrypted key when no password is given
        raise KeyFileError(path, "the private key is encrypted; an unencrypted PEM key is expected") from None
    except (ValueError, UnsupportedAlgorithm):
        raise KeyFileError(path, "not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(path, f"not an Ed25519 key ({_kind(key)})")
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    """The trusted key in `path` (PEM, SubjectPublicKeyInfo); KeyFileError naming the file otherwise."""
    data = _read(path)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise KeyFileError(path, "not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(path, f"not an Ed25519 key ({_kind(key)})")
    return key


def _kind(key: object) -> str:
    # "RSAPublicKey" reads better in a log line than the full class path
    name = type(key).__name__.removeprefix("_")
    return f"{name} found"
