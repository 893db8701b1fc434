"""A signature sent beside an image rather than in it, with the certificate of the key that made it.

Every image carries its own signature by the key the station trusts (`image.py`); the one asking for an update
may also send one for the whole file (a Central System's firmware request can carry both). The station trusts
one key, so the certificate must carry exactly that key (an Ed25519 key: any other kind, or another key, is
refused when the request comes), and the signature must be that key's over every byte of the file as
downloaded, checked before any of it is installed. A request may send a signature without a certificate: it is
checked against the same key.
"""

from __future__ import annotations

import base64
import binascii
import mmap
import os
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SIGNATURE_SIZE = 64


def certificate_refusal(pem: str, trusted: Ed25519PublicKey) -> str | None:
    """Why the signing certificate cannot be taken (not PEM X.509, another key), or None."""
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode())
    except ValueError as exc:
        return f"the signing certificate is no PEM X.509 certificate: {exc}"
    key = certificate.public_key()
    if not isinstance(key, Ed25519PublicKey):
        kind = type(key).__name__.removeprefix("_")
        return f"the signing certificate carries a {kind}, not the station's Ed25519 key"
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    if key.public_bytes(*raw) != trusted.public_bytes(*raw):
        return "the signing certificate carries another key than the one the station trusts"
    return None


def signature_refusal(signature: str) -> str | None:
    """Why the text cannot be an Ed25519 signature (not base64, not 64 bytes), or None."""
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return "the signature is not base64"
    return None if len(raw) == SIGNATURE_SIZE else f"the signature is {len(raw)} bytes, an Ed25519 one is 64"


def verify_file(path: Path, signature: str, trusted: Ed25519PublicKey) -> bool:
    """Is `signature` the trusted key's over the whole file? Ed25519 signs the message whole: the file is mapped,
    not read, so an image of up to firmware_max_image_bytes costs page cache the system can drop, not heap."""
    try:
        raw = base64.b64decode(signature, validate=True)
        with path.open("rb") as f:
            if os.fstat(f.fileno()).st_size == 0:  # nothing to map
                trusted.verify(raw, b"")
                return True
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as content, memoryview(content) as view:
                trusted.verify(raw, view)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True
