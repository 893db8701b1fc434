"""The seal after a firmware archive: SEAL_MAGIC, the archive's length (8 bytes, big-endian) and an Ed25519
signature over SEAL_MAGIC + that length + the archive's sha256.

It is checked before any parser sees the archive: streaming the file through sha256 needs one fixed buffer
whatever the file holds, while a tar reader believes the sizes written in the headers it reads.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

MAGIC = b"chargebus-seal-1"
SIGNATURE_SIZE = 64
SIZE = len(MAGIC) + 8 + SIGNATURE_SIZE
CHUNK = 256 * 1024


class SealError(ValueError):
    """No seal, a seal for another length, or one the trusted key did not make over these bytes."""


class SealingWriter:
    """The image file as the archive writer sees it: what is written is hashed and counted for the seal."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return self._raw.write(data)

    def tell(self) -> int:
        return self.size

    def seal(self, private_key: Ed25519PrivateKey) -> None:
        self._raw.write(_trailer(self.size, self.sha256.digest(), private_key))


def seal_file(path: Path, private_key: Ed25519PrivateKey) -> None:
    """Append the seal to an archive written by other means (a gzip of an image, an archive made by hand)."""
    with path.open("r+b") as f:
        digest = hashlib.file_digest(f, "sha256").digest()
        size = f.tell()
        f.write(_trailer(size, digest, private_key))


def _message(size: int, digest: bytes) -> bytes:
    return MAGIC + size.to_bytes(8, "big") + digest


def _trailer(size: int, digest: bytes, private_key: Ed25519PrivateKey) -> bytes:
    return MAGIC + size.to_bytes(8, "big") + private_key.sign(_message(size, digest))


def unseal(raw: IO[bytes], key: Ed25519PublicKey) -> int:
    """The length of the archive the seal vouches for, once the signature over its sha256 checks out."""
    total = os.fstat(raw.fileno()).st_size
    if total < SIZE:
        raise SealError(f"not sealed: {total} bytes, shorter than a seal")
    raw.seek(total - SIZE)
    trailer = raw.read(SIZE)
    magic, length, signature = trailer[:len(MAGIC)], int.from_bytes(trailer[len(MAGIC):-SIGNATURE_SIZE], "big"), \
        trailer[-SIGNATURE_SIZE:]
    if magic != MAGIC:
        raise SealError("not sealed: the file does not end with a seal (altered, truncated or not an image)")
    if length != total - SIZE:
        raise SealError(f"the seal is for {length} bytes of archive, the file holds {total - SIZE}")
    raw.seek(0)
    digest = hashlib.sha256()
    left = length
    while left:
        chunk = raw.read(min(CHUNK, left))
        if not chunk:
            raise SealError("the file shrank while its seal was checked")
        digest.update(chunk)
        left -= len(chunk)
    try:
        key.verify(signature, _message(length, digest.digest()))
    except InvalidSignature:
        raise SealError("the seal is not signed by the trusted key (altered, or signed with another key)") from None
    return length


class Prefix(io.RawIOBase):
    """The first `size` bytes of a file as a seekable file: the archive readers never see the seal."""

    def __init__(self, raw: IO[bytes], size: int) -> None:
        super().__init__()
        self._raw, self._size, self._pos = raw, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self._size - self._pos)
        if n <= 0:
            return 0
        self._raw.seek(self._pos)
        data = self._raw.read(n)
        buffer[:len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos
