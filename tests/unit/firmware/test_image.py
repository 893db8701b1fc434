"""Firmware images on real files: real keys per test, real tar archives, tampered as a network or an attacker would."""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import random
import re
import stat
import tarfile
import tracemalloc
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.cli import firmware_cmd
from services.common.settings import Settings
from services.common.version import VERSION
from services.firmware import image, keys, seal, wheels
from services.firmware.image import ImageError, Manifest, Part
from services.firmware.seal import seal_file
from tests.firmware_images import forged_header_archive

BUILT_AT = datetime(2025, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)
Member = tarfile.TarInfo | tuple[str, bytes]


@pytest.fixture
def key_files(tmp_path: Path) -> tuple[Path, Path]:
    private, public = tmp_path / "keys" / "signing.pem", tmp_path / "keys" / "trusted.pem"
    private.parent.mkdir()
    keys.generate(private, public)
    return private, public


@pytest.fixture
def private_key(key_files: tuple[Path, Path]) -> Ed25519PrivateKey:
    return keys.load_private(key_files[0])


@pytest.fixture
def public_key(key_files: tuple[Path, Path]) -> Ed25519PublicKey:
    return keys.load_public(key_files[1])


def write_parts(folder: Path, contents: dict[str, bytes]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in contents.items():
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    return paths


PARTS = {
    "chargebus-1.2.3-py3-none-any.whl": b"PK\x03\x04 the project wheel" * 100,
    "pydantic_core-2.41.5-cp311-cp311-manylinux_2_17_x86_64.whl": os.urandom(70_000),
    "notes.txt": b"",
}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_tar(path: Path, members: Iterable[Member], key: Ed25519PrivateKey | None, mode: str = "w") -> Path:
    """An archive assembled by hand; sealed with `key` (the checks behind the seal are the point), or not."""
    with tarfile.open(path, mode) as tar:  # type: ignore[call-overload]
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
            else:
                name, data = member
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    if key is not None:
        seal_file(path, key)
    return path


def signed_manifest(key: Ed25519PrivateKey, parts: dict[str, bytes], **fields: object) -> list[Member]:
    """manifest.json and manifest.sig members, correctly signed, for archives the tests assemble by hand."""
    doc: dict[str, object] = {
        "format": 1, "product": "chargebus", "version": "1.0.0", "built_at": "2025-01-01T00:00:00Z",
        "parts": [{"name": name, "sha256": sha(data), "size": len(data)} for name, data in parts.items()],
    }
    doc.update(fields)
    body = json.dumps(doc, sort_keys=True).encode()
    return [("manifest.json", body), ("manifest.sig", key.sign(body))]


def kind_of(call: Callable[[], object]) -> str:
    with pytest.raises(ImageError) as info:
        call()
    assert info.value.reason and str(info.value) == info.value.reason
    return info.value.kind


def reseal(path: Path, key: Ed25519PrivateKey) -> None:
    """A new seal over the archive as it is now: for the checks behind the seal (as if the signer made it so)."""
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size - seal.SIZE)
    seal_file(path, key)


def flip_byte(path: Path, offset: int) -> None:
    with path.open("r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x01]))


def data_offset(path: Path, name: str) -> int:
    with tarfile.open(path) as tar:
        return tar.getmember(name).offset_data


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --- round trip -------------------------------------------------------------------------------------------------


def test_pack_then_verify_returns_the_manifest_and_extracts_every_part(
        tmp_path: Path, private_key: Ed25519PrivateKey, public_key: Ed25519PublicKey,
        monkeypatch: pytest.MonkeyPatch) -> None:
    parts = write_parts(tmp_path / "wheels", PARTS)
    path = image.pack(parts, "1.2.3", tmp_path / "out", private_key, built_at=BUILT_AT)
    assert path == tmp_path / "out" / "chargebus-1.2.3.cbfw"

    dest = tmp_path / "install" / "1.2.3"
    written: list[Path] = []
    real_open = Path.open

    def spy(self: Path, mode: str = "r", *args: object, **kwargs: object) -> object:
        if "x" in mode:
            assert not dest.exists(), "dest appears only once every part checked out"
            written.append(self)
        return real_open(self, mode, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", spy)
    manifest = image.verify(path, public_key, dest)
    monkeypatch.undo()

    assert len(written) == 3 and all(p.parent.parent == dest.parent and p.parent != dest for p in written)

    assert (manifest.product, manifest.version, manifest.built_at) == ("chargebus", "1.2.3", BUILT_AT)
    assert {p.name: (p.sha256, p.size) for p in manifest.parts} == {n: (sha(d), len(d)) for n, d in PARTS.items()}
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == PARTS
    assert leftovers(dest.parent) == ["1.2.3"]  # no temp directory beside it
    with tarfile.open(path) as tar:
        assert sorted(tar.getnames()) == sorted(["manifest.json", "manifest.sig", *(f"parts/{n}" for n in PARTS)])
        body = tar.extractfile("manifest.json").read()  # type: ignore[union-attr]
        signature = tar.extractfile("manifest.sig").read()  # type: ignore[union-attr]
    public_key.verify(signature, body)  # raw 64-byte signature over the exact manifest bytes
    assert len(signature) == 64
    doc = json.loads(body)
    assert doc["format"] == 1 and doc["built_at"] == "2025-03-14T15:09:26.535897Z"
    assert list(doc) == sorted(doc) and all(list(p) == sorted(p) for p in doc["parts"])
    assert Manifest.from_json(body) == manifest


def test_a_gzip_compressed_image_verifies_too(
        tmp_path: Path, private_key: Ed25519PrivateKey, public_key: Ed25519PublicKey) -> None:
    plain = image.pack(write_parts(tmp_path / "wheels", PARTS), "1.2.3", tmp_path / "out", private_key)
    compressed = tmp_path / "compressed.cbfw"
    compressed.write_bytes(gzip.compress(plain.read_bytes()))
    seal_file(compressed, private_key)
    manifest = image.verify(compressed, public_key, tmp_path / "dest")
    assert len(manifest.parts) == 3
    assert {p.name: p.read_bytes() for p in (tmp_path / "dest").iterdir()} == PARTS


def test_verify_into_a_prepared_empty_directory_but_not_a_full_one(
        tmp_path: Path, private_key: Ed25519PrivateKey, public_key: Ed25519PublicKey) -> None:
    path = image.pack(write_parts(tmp_path / "wheels", PARTS), "1.2.3", tmp_path / "out", private_key)
    empty = tmp_path / "empty"
    empty.mkdir()
    image.verify(path, public_key, empty)
    assert sorted(p.name for p in empty.iterdir()) == sorted(PARTS)
    with pytest.raises(FileExistsError):
        image.verify(path, public_key, empty)
    assert sorted(p.name for p in empty.iterdir()) == sorted(PARTS)


# --- tampering --------------------------------------------------------------------------------------------------


def test_a_flipped_byte_in_a_part_is_a_bad_checksum_and_leaves_nothing(
        tmp_path: Path, private_key: Ed25519PrivateKey, public_key: Ed25519PublicKey) -> None:
    path = image.pack(write_parts(tmp_path / "wheels", PARTS), "1.2.3", tmp_path / "out", private_key)
    name = "pydantic_core-2.41.5-cp311-cp311-manylinux_2_17_x86_64.whl"
    flip_byte(path, data_offset(path, f"parts/{name}") + 50_000)
    reseal(path, private_key)
    dest = tmp_path / "install" / "dest"
    assert kind_of(lambda: image.verify(path, public_key, dest)) == "bad_checksum"
    assert leftovers(tmp_path / "install") == []


def test_a_flipped_byte_in_the_manifest_is_a_bad_signature_before_any_part_is_read(
        tmp_path: Path, private_key: Ed25519PrivateKey, public_key: Ed25519PublicKey,
        monkeypatch: pytest.MonkeyPatch) -> None:
    path = image.pack(write_parts(tmp_path / "wheels", PARTS), "1.2.3", tmp_path / "out", private_key)
    flip_byte(path, data_offset(path, "manifest.json") + 20)
    reseal(path, private_key)
    opened: list[str] = []
    real_extractfile = tarfile.TarFile.extractfile

    def spy(self: tarfile.TarFile, member: str | tarfile.TarInfo) -> object:
        opened.append(member if isinstance(member, str) else member.name)
        return real_extractfile(self, member)

    monkeypatch.setattr(tarfile.TarFile, "extractfile", spy)
    dest = tmp_path / "install" / "dest"
    assert kind_of(lambda: image.verify(path, public_key, dest)) == "bad_signature"
    assert opened and not [name for name in opened if name.startswith("parts/")]
    assert leftovers(tmp_path / "install") == []


def test_an_image_signed_with_another_key_is_a_bad_signature(
        tmp_path: Path, public_key: Ed25519PublicKey) -> None:
    other = Ed25519PrivateKey.generate()
    path = image.pack(write_parts(tmp_path / "wheels", PARTS), "1.2.3", tmp_path / "out", other)
    assert kind_of(lambda: image.verify(path, public_key, tmp_path / "dest")) == "bad_signature"
    assert not (tmp_path / "dest").exists()


def test_an_unsigned_image_is_a_bad_signature(tmp_path: Path, private_key: Ed25519PrivateKey,
                                              public_key: Ed25519PublicKey) -> None:
    members = [*signed_manifest(private_key, {"a.whl": b"a"})[:1], ("parts/a.whl", b"a")]
    path = write_tar(tmp_path / "x.cbfw", members, private_key)
    assert kind_of(lambda: image.verify(path, public_key, tmp_path / "dest")) == "bad_signature"


def link(name: str, target: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def device(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
    return info


def directory(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    return info


@pytest.mark.parametrize(("row", "member", "said"), [
    ("parent path", ("../evil", b"x"), "outside"),
    ("parent path inside parts", ("parts/../../evil", b"x"), "outside"),
    ("absolute path", ("/tmp/evil", b"x"), "outside"),
    ("symlink", link("parts/a.whl", "/etc/passwd", tarfile.SYMTYPE), "link"),
    ("hard link", link("parts/a.whl", "manifest.json", tarfile.LNKTYPE), "link"),
    ("device", device("parts/null"), "device"),
    ("directory", directory("parts/sub"), "not a regular file"),
    ("stray top-level file", ("install.sh", b"rm -rf /"), "unexpected member"),
    ("nested part", ("parts/sub/a.whl", b"x"), "not a plain file name"),
])
def test_unsafe_members_are_refused(tmp_path: Path, private_key: Ed25519PrivateKey, public_key: Ed25519PublicKey,
                                    row: str, member: Member, said: str) -> None:
    parts = {"a.whl": b"a"}
    members = [*signed_manifest(private_key, parts), ("parts/a.whl", b"a"), member]
    if isinstance(member, tarfile.TarInfo) and member.name == "parts/a.whl":
        members.remove(("parts/a.whl", b"a"))  # the link stands in for the listed part
    path = write_tar(tmp_path / "x.cbfw", members, private_key)
    dest = tmp_path / "install" / "dest"
    with pytest.raises(ImageError) as info:
        image.verify(path, public_key, dest)
    assert info.value.kind == "unsafe" and said in info.value.reason, row
    assert leftovers(tmp_path / "install") == [] and not (tmp_path / "evil").exists()


def test_a_part_listed_but_missing_is_a_bad_checksum(tmp_path: Path, private_key: Ed25519PrivateKey,
                                                     public_key: Ed25519PublicKey) -> None:
    members = [*signed_manifest(private_key, {"a.whl": b"a", "b.whl": b"b"}), ("parts/a.whl", b"a")]
    path = write_tar(tmp_path / "x.cbfw", members, private_key)
    with pytest.raises(ImageError) as info:
        image.verify(path, public_key, tmp_path / "dest")
    assert info.value.kind == "bad_checksum" and "b.whl" in info.value.reason and "missing" in info.value.reason
    assert not (tmp_path / "dest").exists()


def test_an_extra_unlisted_part_is_a_bad_checksum(tmp_path: Path, private_key: Ed25519PrivateKey,
                                                  public_key: Ed25519PublicKey) -> None:
    members = [*signed_manifest(private_key, {"a.whl": b"a"}), ("parts/a.whl", b"a"), ("parts/b.whl", b"b")]
    path = write_tar(tmp_path / "x.cbfw", members, private_key)
    with pytest.raises(ImageError) as info:
        image.verify(path, public_key, tmp_path / "dest")
    assert info.value.kind == "bad_checksum" and "b.whl" in info.value.reason and "not listed" in info.value.reason
    assert not (tmp_path / "dest").exists()


def test_a_part_of_another_size_is_a_bad_checksum(tmp_path: Path, private_key: Ed25519PrivateKey,
                                                  public_key: Ed25519PublicKey) -> None:
    members = [*signed_manifest(private_key, {"a.whl": b"abc"}), ("parts/a.whl", b"abcd")]
    path = write_tar(tmp_path / "x.cbfw", members, private_key)
    assert kind_of(lambda: image.verify(path, public_key, tmp_path / "dest")) == "bad_checksum"


def test_a_truncated_download_is_refused_and_leaves_nothing(
        tmp_path: Path, private_key: Ed25519PrivateKey, public_key: Ed25519PublicKey) -> None:
    path = image.pack(write_parts(tmp_path / "wheels", PARTS), "1.2.3", tmp_path / "out", private_key)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError):
        image.verify(path, public_key, tmp_path / "install" / "dest")
    assert leftovers(tmp_path / "install") == []


# --- not an image, not ours -------------------------------------------------------------------------------------


_NOISE = random.Random(20261126).randbytes(5000)  # the same bytes in every pytest-xdist worker


@pytest.mark.parametrize(("row", "content"), [
    ("random bytes", _NOISE),
    ("empty file", b""),
    ("gzip of random bytes", gzip.compress(_NOISE)),
    ("gzip magic only", b"\x1f\x8b garbage"),
], ids=["random", "empty", "gzip-random", "gzip-magic"])
def test_a_file_that_is_not_a_tar_is_not_an_image(tmp_path: Path, private_key: Ed25519PrivateKey,
                                                  public_key: Ed25519PublicKey, row: str, content: bytes) -> None:
    path = tmp_path / "download.cbfw"
    path.write_bytes(content)
    assert kind_of(lambda: image.verify(path, public_key, tmp_path / "dest")) == "bad_signature", row  # no seal
    seal_file(path, private_key)
    assert kind_of(lambda: image.verify(path, public_key, tmp_path / "dest")) == "not_an_image", row
    assert not (tmp_path / "dest").exists()


def test_a_tar_without_manifest_is_not_an_image(tmp_path: Path, private_key: Ed25519PrivateKey,
                                                public_key: Ed25519PublicKey) -> None:
    path = write_tar(tmp_path / "x.cbfw", [("parts/a.whl", b"a")], private_key)
    assert kind_of(lambda: image.verify(path, public_key, tmp_path / "dest")) == "not_an_image"


@pytest.mark.parametrize(("row", "fields"), [
    ("another product", {"product": "other"}),
    ("a future format", {"format": 2}),
])
def test_a_signed_image_of_another_product_or_format_is_not_ours(
        tmp_path: Path, private_key: Ed25519PrivateKey, public_key: Ed25519PublicKey,
        row: str, fields: dict[str, object]) -> None:
    members = [*signed_manifest(private_key, {"a.whl": b"a"}, **fields), ("parts/a.whl", b"a")]
    path = write_tar(tmp_path / "x.cbfw", members, private_key)
    assert kind_of(lambda: image.verify(path, public_key, tmp_path / "dest")) == "not_ours", row
    assert not (tmp_path / "dest").exists()


GOOD_PART = {"name": "a.whl", "sha256": "ab" * 32, "size": 1}


@pytest.mark.parametrize(("row", "change", "kind"), [
    ("not JSON", b"{", "not_an_image"),
    ("not UTF-8", b'{"format": 1, "product": "\xff"}', "not_an_image"),
    ("nested too deep", b"[" * 100_000, "not_an_image"),
    ("integer too long", b'{"format": ' + b"1" * 5000 + b"}", "not_an_image"),
    ("duplicate key", b'{"format": 1, "format": 1}', "not_an_image"),
    ("not an object", [1], "not_an_image"),
    ("missing version", {"version": None}, "not_an_image"),
    ("missing parts", {"parts": None}, "not_an_image"),
    ("no time zone", {"built_at": "2025-01-01T00:00:00"}, "not_an_image"),
    ("bad hex", {"parts": [{**GOOD_PART, "sha256": "zz" * 32}]}, "not_an_image"),
    ("short hex", {"parts": [{**GOOD_PART, "sha256": "ab"}]}, "not_an_image"),
    ("negative size", {"parts": [{**GOOD_PART, "size": -1}]}, "not_an_image"),
    ("boolean size", {"parts": [{**GOOD_PART, "size": True}]}, "not_an_image"),
    ("unknown part field", {"parts": [{**GOOD_PART, "mode": 755}]}, "not_an_image"),
    ("duplicate name", {"parts": [GOOD_PART, GOOD_PART]}, "not_an_image"),
    ("name with slash", {"parts": [{**GOOD_PART, "name": "lib/a.whl"}]}, "unsafe"),
    ("name dot dot", {"parts": [{**GOOD_PART, "name": ".."}]}, "unsafe"),
    ("name with dot dot", {"parts": [{**GOOD_PART, "name": "..a.whl"}]}, "unsafe"),
    ("absolute name", {"parts": [{**GOOD_PART, "name": "/etc/passwd"}]}, "unsafe"),
    ("version with slash", {"version": "../1"}, "not_an_image"),
    ("format as boolean", {"format": True}, "not_ours"),
    ("other product", {"product": "other"}, "not_ours"),
])
def test_manifest_from_json_refuses_malformed_content(row: str, change: object, kind: str) -> None:
    doc: dict[str, object] = {"format": 1, "product": "chargebus", "version": "1.0",
                              "built_at": "2025-01-01T00:00:00Z", "parts": [GOOD_PART]}
    if isinstance(change, dict):
        doc.update(change)
        doc = {k: v for k, v in doc.items() if v is not None}
        data = json.dumps(doc).encode()
    else:
        data = change if isinstance(change, bytes) else json.dumps(change).encode()
    assert kind_of(lambda: Manifest.from_json(data)) == kind, row


def test_manifest_json_round_trip() -> None:
    manifest = Manifest("chargebus", "2.0.0+station", BUILT_AT, (Part("a.whl", "0f" * 32, 12),))
    assert Manifest.from_json(manifest.to_json()) == manifest
    assert Manifest.from_json(b'{"format": 1, "product": "chargebus", "version": "1", "built_at": '
                              b'"2025-01-01T00:00:00+00:00", "parts": []}').parts == ()


# --- big parts, atomic pack -------------------------------------------------------------------------------------


def test_a_20_mb_part_is_verified_in_chunks(tmp_path: Path, private_key: Ed25519PrivateKey,
                                           public_key: Ed25519PublicKey) -> None:
    big = tmp_path / "wheels" / "big.whl"
    big.parent.mkdir()
    digest = hashlib.sha256()
    with big.open("wb") as f:
        for _ in range(20):
            chunk = os.urandom(1024 * 1024)
            digest.update(chunk)
            f.write(chunk)
    path = image.pack([big], "1.2.3", tmp_path / "out", private_key)
    tracemalloc.start()
    try:
        manifest = image.verify(path, public_key, tmp_path / "dest")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert manifest.parts[0].size == 20 * 1024 * 1024 and manifest.parts[0].sha256 == digest.hexdigest()
    assert peak < 4 * 1024 * 1024, f"verify held {peak / 1e6:.1f} MB at once"
    with (tmp_path / "dest" / "big.whl").open("rb") as f:
        assert hashlib.file_digest(f, "sha256").hexdigest() == digest.hexdigest()


def test_pack_leaves_only_the_image_in_out_dir(tmp_path: Path, private_key: Ed25519PrivateKey) -> None:
    out = tmp_path / "out"
    path = image.pack(write_parts(tmp_path / "wheels", PARTS), "1.2.3", out, private_key)
    assert leftovers(out) == ["chargebus-1.2.3.cbfw"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_a_failed_pack_leaves_no_temp_file_and_keeps_the_previous_image(
        tmp_path: Path, private_key: Ed25519PrivateKey) -> None:
    out = tmp_path / "out"
    previous = image.pack(write_parts(tmp_path / "wheels", PARTS), "1.2.3", out, private_key)
    before = previous.read_bytes()
    with pytest.raises(FileNotFoundError):
        image.pack([*write_parts(tmp_path / "wheels", PARTS), tmp_path / "missing.whl"], "1.2.3", out, private_key)
    assert leftovers(out) == ["chargebus-1.2.3.cbfw"] and previous.read_bytes() == before


def test_pack_refuses_two_parts_with_one_name(tmp_path: Path, private_key: Ed25519PrivateKey) -> None:
    first = write_parts(tmp_path / "a", {"x.whl": b"1"})
    second = write_parts(tmp_path / "b", {"x.whl": b"2"})
    with pytest.raises(ImageError, match=r"x\.whl"):
        image.pack([*first, *second], "1.2.3", tmp_path / "out", private_key)
    assert leftovers(tmp_path / "out") == []


# --- keys -------------------------------------------------------------------------------------------------------


def test_keygen_writes_a_usable_pair_with_the_right_modes(tmp_path: Path) -> None:
    private, public = tmp_path / "p.pem", tmp_path / "pub.pem"
    keys.generate(private, public)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600 and stat.S_IMODE(public.stat().st_mode) == 0o644
    assert b"BEGIN PRIVATE KEY" in private.read_bytes() and b"BEGIN PUBLIC KEY" in public.read_bytes()
    keys.load_public(public).verify(keys.load_private(private).sign(b"m"), b"m")


@pytest.mark.parametrize("existing", ["private", "public"])
def test_keygen_refuses_to_overwrite(tmp_path: Path, existing: str) -> None:
    private, public = tmp_path / "p.pem", tmp_path / "pub.pem"
    (private if existing == "private" else public).write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        keys.generate(private, public)
    assert (private if existing == "private" else public).read_bytes() == b"precious"
    assert not (public if existing == "private" else private).exists()


def rsa_pems() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def test_load_public_refuses_missing_non_pem_and_rsa_keys_naming_the_file(
        tmp_path: Path, key_files: tuple[Path, Path]) -> None:
    _, rsa_public = rsa_pems()
    cases = {
        "missing.pem": None,
        "garbage.pem": b"not a key at all\n",
        "rsa.pem": rsa_public,
        "private-instead.pem": key_files[0].read_bytes(),
    }
    for name, content in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(keys.KeyFileError) as info:
            keys.load_public(path)
        assert str(path) in str(info.value) and info.value.path == path, name
    with pytest.raises(keys.KeyFileError, match="not an Ed25519 key"):
        keys.load_public(tmp_path / "rsa.pem")


def test_load_private_refuses_non_pem_rsa_and_public_keys(tmp_path: Path, key_files: tuple[Path, Path]) -> None:
    rsa_private, _ = rsa_pems()
    (tmp_path / "rsa.pem").write_bytes(rsa_private)
    (tmp_path / "garbage.pem").write_bytes(b"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    for path in (tmp_path / "rsa.pem", tmp_path / "garbage.pem", key_files[1], tmp_path / "missing.pem"):
        with pytest.raises(keys.KeyFileError, match=str(path)):
            keys.load_private(path)


# --- CLI --------------------------------------------------------------------------------------------------------


def cli(argv: list[str]) -> int:
    """Run `chargebus <argv>` through register() alone, so the test does not depend on main.py's list."""
    parser = argparse.ArgumentParser(prog="chargebus")
    firmware_cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    status: int = args.func(args, Settings.model_construct())
    return status


def test_cli_keygen_pack_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    private, public = tmp_path / "signing.pem", tmp_path / "trusted.pem"
    assert cli(["firmware", "keygen", "--private", str(private), "--public", str(public)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"private key: {private}", f"public key: {public}"]

    assert cli(["firmware", "keygen", "--private", str(private), "--public", str(tmp_path / "new.pem")]) == 2
    captured = capsys.readouterr()
    assert len(captured.err.splitlines()) == 1 and str(private) in captured.err and "Traceback" not in captured.err
    assert not (tmp_path / "new.pem").exists()

    parts = write_parts(tmp_path / "wheels", {"a.whl": b"a" * 10, "b.whl": b"b" * 20})
    out = tmp_path / "out"
    argv = ["firmware", "pack", "--key", str(private), "--version", "9.9.9", "--out", str(out)]
    assert cli([*argv, "--part", str(parts[0]), "--part", str(parts[1])]) == 0
    assert capsys.readouterr().out.splitlines() == [str(out / "chargebus-9.9.9.cbfw")]

    assert cli(["firmware", "verify", str(out / "chargebus-9.9.9.cbfw"), "--public", str(public)]) == 0
    assert capsys.readouterr().out.splitlines() == ["version 9.9.9, 2 parts, signature ok"]

    into = tmp_path / "into"
    assert cli(["firmware", "verify", str(out / "chargebus-9.9.9.cbfw"), "--public", str(public),
                "--into", str(into)]) == 0
    assert (into / "b.whl").read_bytes() == b"b" * 20


def test_cli_pack_defaults_to_the_installed_version(tmp_path: Path, key_files: tuple[Path, Path],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    part = write_parts(tmp_path / "wheels", {"a.whl": b"a"})[0]
    assert cli(["firmware", "pack", "--key", str(key_files[0]), "--out", str(tmp_path), "--part", str(part)]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / f"chargebus-{VERSION}.cbfw")


def test_cli_verify_failure_is_one_line_with_the_kind(tmp_path: Path, key_files: tuple[Path, Path],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    other_private, other_public = tmp_path / "other.pem", tmp_path / "other.pub"
    keys.generate(other_private, other_public)
    part = write_parts(tmp_path / "wheels", {"a.whl": b"a"})[0]
    assert cli(["firmware", "pack", "--key", str(other_private), "--version", "1.0", "--out", str(tmp_path),
                "--part", str(part)]) == 0
    capsys.readouterr()
    assert cli(["firmware", "verify", str(tmp_path / "chargebus-1.0.cbfw"), "--public", str(key_files[1])]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [captured.err.strip()]
    assert captured.err.startswith("chargebus firmware verify: bad_signature: ")

    (tmp_path / "random.cbfw").write_bytes(os.urandom(100))
    assert cli(["firmware", "verify", str(tmp_path / "random.cbfw"), "--public", str(key_files[1])]) == 1
    assert capsys.readouterr().err.startswith("chargebus firmware verify: bad_signature: not sealed")


@pytest.mark.parametrize(("row", "key", "part"), [
    ("missing key", "missing.pem", "a.whl"),
    ("public key instead of private", "trusted", "a.whl"),
    ("missing part", "signing", "missing.whl"),
])
def test_cli_pack_failures_are_one_line_without_traceback(
        tmp_path: Path, key_files: tuple[Path, Path], capsys: pytest.CaptureFixture[str],
        row: str, key: str, part: str) -> None:
    write_parts(tmp_path / "wheels", {"a.whl": b"a"})
    key_path = {"signing": key_files[0], "trusted": key_files[1]}.get(key, tmp_path / key)
    assert cli(["firmware", "pack", "--key", str(key_path), "--version", "1.0", "--out", str(tmp_path / "out"),
                "--part", str(tmp_path / "wheels" / part)]) == 1, row
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("chargebus firmware pack: ") and "Traceback" not in err
    assert leftovers(tmp_path / "out") == []


# --- build (only the parts that need no network) ----------------------------------------------------------------


@pytest.mark.parametrize(("row", "pyproject", "said"), [
    ("unpinned dependency", '[project]\nname = "x"\ndependencies = ["ocpp==2.1.0", "websockets>=15"]\n',
     "websockets>=15"),
    ("not TOML", "[project\n", "cannot read"),
    ("no pyproject", None, "cannot read"),
])
def test_build_wheels_refuses_a_project_it_cannot_pin_before_running_pip(
        tmp_path: Path, row: str, pyproject: str | None, said: str) -> None:
    project = tmp_path / "project"
    project.mkdir()
    if pyproject is not None:
        (project / "pyproject.toml").write_text(pyproject)
    with pytest.raises(wheels.BuildError, match=re.escape(said)):
        wheels.build_wheels(project, tmp_path / "wheels")
    assert not (tmp_path / "wheels").exists(), row


# --- authenticated before parsed, never older -------------------------------------------------------------------


@pytest.mark.parametrize("kind", [tarfile.GNUTYPE_LONGNAME, tarfile.XHDTYPE], ids=["gnu-long-name", "pax"])
@pytest.mark.parametrize("sealed_by", ["nobody", "another key"])
def test_a_forged_archive_with_a_huge_header_is_refused_before_any_parser_reads_it(
        tmp_path: Path, public_key: Ed25519PublicKey, kind: bytes, sealed_by: str) -> None:
    path = forged_header_archive(tmp_path / "forged.cbfw", kind, 64 * 1024 * 1024)
    if sealed_by == "another key":
        seal_file(path, Ed25519PrivateKey.generate())
    assert path.stat().st_size < 1024 * 1024
    tracemalloc.start()
    try:
        kind_seen = kind_of(lambda: image.verify(path, public_key, tmp_path / "install" / "dest"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert kind_seen == "bad_signature"
    assert peak < 4 * 1024 * 1024, f"verify held {peak / 1e6:.1f} MB of an unauthenticated archive"
    assert leftovers(tmp_path / "install") == []


def test_a_byte_changed_anywhere_in_the_file_breaks_the_seal(
        tmp_path: Path, private_key: Ed25519PrivateKey, public_key: Ed25519PublicKey) -> None:
    path = image.pack(write_parts(tmp_path / "wheels", PARTS), "1.2.3", tmp_path / "out", private_key)
    flip_byte(path, path.stat().st_size - 2000)  # the archive's padding: covered by no manifest checksum
    assert kind_of(lambda: image.verify(path, public_key, tmp_path / "dest")) == "bad_signature"


@pytest.mark.parametrize(("row", "version", "running", "installs"), [
    ("older", "1.2.2", "1.2.3", False),
    ("older minor, higher patch", "1.1.9", "1.2.0", False),
    ("a pre-release of the running one", "1.2.3rc1", "1.2.3", False),
    ("the same", "1.2.3", "1.2.3", True),
    ("the same, running from a source tree", "1.2.3", "1.2.3+src", True),
    ("newer", "1.10.0", "1.9.9", True),
    ("the release of a running pre-release", "1.2.3", "1.2.3rc2", True),
    ("unreadable", "banana", "1.2.3", False),
])
def test_an_image_older_than_the_running_version_is_refused_before_a_part_is_extracted(
        tmp_path: Path, private_key: Ed25519PrivateKey, public_key: Ed25519PublicKey,
        row: str, version: str, running: str, installs: bool) -> None:
    path = image.pack(write_parts(tmp_path / "wheels", {"dep.whl": b"PK"}), version, tmp_path / "out", private_key)
    dest = tmp_path / "install" / "dest"
    if installs:
        assert image.verify(path, public_key, dest, not_older_than=running).version == version, row
    else:
        assert kind_of(lambda: image.verify(path, public_key, dest, not_older_than=running)) == "downgrade", row
        assert leftovers(tmp_path / "install") == [], row


def test_cli_pack_labels_the_image_with_the_project_wheels_version_and_refuses_another(
        tmp_path: Path, key_files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    parts = write_parts(tmp_path / "wheels", {"chargebus-0.4.0-py3-none-any.whl": b"PK",
                                              "dep-1.0-py3-none-any.whl": b"PK"})
    argv = ["firmware", "pack", "--key", str(key_files[0]), "--out", str(tmp_path / "out"),
            *(arg for part in parts for arg in ("--part", str(part)))]
    assert cli([*argv, "--version", "0.5.0"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [err.strip()] and "0.5.0" in err and "0.4.0" in err
    assert err.startswith("chargebus firmware pack: version_mismatch: ")
    assert leftovers(tmp_path / "out") == []
    assert cli(argv) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "out" / "chargebus-0.4.0.cbfw")
    assert cli([*argv, "--version", "0.4.0"]) == 0
