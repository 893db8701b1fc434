"""A signature sent beside an image: the certificate must carry the station's key, the signature must be that
key's over every byte of the file."""

from __future__ import annotations

import base64
import os
import tracemalloc
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.firmware.detached import certificate_refusal, signature_refusal, verify_file
from tests.firmware_images import certificate


def test_the_certificate_must_carry_the_trusted_key() -> None:
    trusted, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    assert certificate_refusal(certificate(trusted), trusted.public_key()) is None
    assert "another key" in (certificate_refusal(certificate(other), trusted.public_key()) or "")
    assert "no PEM X.509" in (certificate_refusal("-----BEGIN CERTIFICATE-----\nAA==\n", trusted.public_key()) or "")


def test_a_certificate_of_another_kind_of_key_is_refused() -> None:
    why = certificate_refusal(certificate(generate_private_key(SECP256R1())), Ed25519PrivateKey.generate().public_key())
    assert why is not None and "ECPublicKey" in why and "not the station's Ed25519 key" in why


def test_the_signature_covers_every_byte(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    image = tmp_path / "image.cbfw"
    image.write_bytes(b"firmware" * 1000)
    signature = base64.b64encode(key.sign(image.read_bytes())).decode()
    assert signature_refusal(signature) is None and verify_file(image, signature, key.public_key())
    image.write_bytes(b"firmware" * 1000 + b"!")
    assert not verify_file(image, signature, key.public_key())
    assert not verify_file(image, "not base64!", key.public_key())
    assert signature_refusal("not base64!") == "the signature is not base64"
    assert signature_refusal(base64.b64encode(b"short").decode()) == "the signature is 5 bytes, an Ed25519 one is 64"


def test_a_large_image_is_checked_without_being_read_into_memory(tmp_path: Path) -> None:
    """The image may be up to firmware_max_image_bytes (256 MiB): its bytes are mapped from the file, never copied
    onto the service's heap, whoever sends a signature to check."""
    key = Ed25519PrivateKey.generate()
    image = tmp_path / "image.cbfw"
    image.write_bytes(os.urandom(8_000_000))
    signature = base64.b64encode(key.sign(image.read_bytes())).decode()
    tracemalloc.start()
    try:
        assert verify_file(image, signature, key.public_key())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000, f"{peak} bytes allocated to check an 8 MB image"
