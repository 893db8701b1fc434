"""Signed firmware images: `chargebus-<version>.cbfw`, a tar archive a station can install offline, sealed.

Layout:
  manifest.json   format, product, version, built_at and every part's name, sha256 and size (sorted keys, UTF-8)
  manifest.sig    raw 64-byte Ed25519 signature over the exact bytes of manifest.json
  parts/<name>    the wheels of the project and of its pinned dependencies, plus any file a caller adds
and after the archive (plain or gzip), the seal (`seal.py`): a signature over the archive's length and sha256.
Tar readers stop at the archive's end, so the seal does not disturb them (a station of the release before
reads manifest.sig only).

The file comes from the network, so `verify` trusts nothing in it: the seal is checked first, streaming the
whole file through sha256 with a fixed buffer, and no tar or gzip parser sees a byte before that (a forged
archive with a 300 MB long-name header costs one hash, not 300 MB). Then every header is inspected before
any data is read, the manifest's signature checked, parts streamed through sha256 in chunks and extracted
into a temporary directory that only becomes `dest` once every part checked out.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, ClassVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.common.durable import fsync_dir, replaced

from . import versions
from .seal import Prefix, SealError, SealingWriter, unseal

FORMAT = 1
PRODUCT = "chargebus"
SUFFIX = ".cbfw"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PARTS_DIR = "parts"
SIGNATURE_SIZE = 64
CHUNK = 256 * 1024
# bounds on what an unauthenticated archive can make us hold in memory before its signature is checked
MAX_MANIFEST_SIZE = 1024 * 1024
MAX_MEMBERS = 10_000

# a part name is one plain file name: no separators, no "..", nothing a shell or a path join could reinterpret
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,199}")
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# read errors of a damaged or truncated archive, plain or gzip
_ARCHIVE_ERRORS = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile)


class ImageError(ValueError):
    """An image that must not be installed; `kind` says why in one word, `reason` in one sentence.

    The firmware service reports any of these as install_failed and logs `kind: reason`.
    """

    kind: ClassVar[str] = "invalid"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotAnImage(ImageError):
    """Not a tar archive, no manifest, or a manifest that is not well formed."""

    kind = "not_an_image"


class NotOurs(ImageError):
    """A well-formed image of another product or of a format this software does not know."""

    kind = "not_ours"


class BadSignature(ImageError):
    """No signature, or one that the trusted key did not make over this manifest."""

    kind = "bad_signature"


class BadChecksum(ImageError):
    """The parts differ from the signed manifest: content, size, a part missing or one not listed."""

    kind = "bad_checksum"


class UnsafeImage(ImageError):
    """A member that could write outside the destination: links, devices, absolute or `..` paths, strays."""

    kind = "unsafe"


class Downgrade(ImageError):
    """A correctly signed image of a version older than the one running (or one that cannot be compared)."""

    kind = "downgrade"


class WrongVersion(ImageError):
    """The version asked for an image is not the version of the project wheel it holds."""

    kind = "version_mismatch"


@dataclass(frozen=True)
class Part:
    name: str
    sha256: str
    size: int

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not isinstance(self.sha256, str) or not _SHA256.fullmatch(self.sha256):
            raise NotAnImage(f"{MANIFEST}: part {self.name!r}: sha256 is not 64 lowercase hex digits")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0:
            raise NotAnImage(f"{MANIFEST}: part {self.name!r}: size is not a non-negative integer")


@dataclass(frozen=True)
class Manifest:
    product: str
    version: str
    built_at: datetime
    parts: tuple[Part, ...]

    def __post_init__(self) -> None:
        if self.product != PRODUCT:
            raise NotOurs(f"image is for product {self.product!r}, not {PRODUCT!r}")
        if not isinstance(self.version, str) or not _VERSION.fullmatch(self.version):
            raise NotAnImage(f"{MANIFEST}: version {self.version!r} is not a plain version string")
        if not isinstance(self.built_at, datetime) or self.built_at.utcoffset() is None:
            raise NotAnImage(f"{MANIFEST}: built_at must be a date and time with a time zone")
        _check_unique(part.name for part in self.parts)

    def to_json(self) -> bytes:
        doc = {
            "format": FORMAT,
            "product": self.product,
            "version": self.version,
            "built_at": self.built_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "parts": [{"name": p.name, "sha256": p.sha256, "size": p.size} for p in self.parts],
        }
        return json.dumps(doc, sort_keys=True, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """Parse and validate; NotOurs for another product or format, other ImageErrors for malformed content."""
        try:
            doc = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
        except ImageError:
            raise
        # ValueError also covers integers too long to convert; RecursionError, nesting too deep
        except (ValueError, RecursionError) as exc:
            raise NotAnImage(f"{MANIFEST} is not UTF-8 JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise NotAnImage(f"{MANIFEST} is not a JSON object")
        fmt = doc.get("format")
        # checked before the other fields: another format may legitimately have other fields
        if isinstance(fmt, bool) or fmt != FORMAT:
            raise NotOurs(f"{MANIFEST}: format {fmt!r} is unknown (this software reads format {FORMAT})")
        if doc.get("product") != PRODUCT:
            raise NotOurs(f"image is for product {doc.get('product')!r}, not {PRODUCT!r}")
        missing = sorted({"version", "built_at", "parts"} - doc.keys())
        if missing:
            raise NotAnImage(f"{MANIFEST}: missing {', '.join(missing)}")
        built_at = doc["built_at"]
        try:
            when = datetime.fromisoformat(built_at) if isinstance(built_at, str) else None
        except ValueError:
            when = None
        if when is None:
            raise NotAnImage(f"{MANIFEST}: built_at {built_at!r} is not an ISO 8601 date and time")
        if not isinstance(doc["parts"], list):
            raise NotAnImage(f"{MANIFEST}: parts is not a list")
        return cls(product=doc["product"], version=doc["version"], built_at=when,
                   parts=tuple(_part(entry) for entry in doc["parts"]))


def _part(entry: Any) -> Part:
    if not isinstance(entry, dict) or set(entry) != {"name", "sha256", "size"}:
        raise NotAnImage(f"{MANIFEST}: a part must have exactly name, sha256 and size: {entry!r}"[:300])
    return Part(name=entry["name"], sha256=entry["sha256"], size=entry["size"])


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # with a duplicate key, two readers could disagree on what the signed manifest says
    doc = dict(pairs)
    if len(doc) != len(pairs):
        raise NotAnImage(f"{MANIFEST}: a key appears twice in one object")
    return doc


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise UnsafeImage(f"part name {name!r} is not a plain file name")


def _check_unique(names: Iterable[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise NotAnImage(f"part {name!r} is listed twice")
        seen.add(name)


def image_name(version: str) -> str:
    return f"{PRODUCT}-{version}{SUFFIX}"


# --- pack -------------------------------------------------------------------------------------------------------


class _HashingReader:
    """Hands tarfile a part's bytes and hashes exactly those, so the manifest describes what was written."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        self.sha256.update(data)
        self.size += len(data)
        return data


def project_version(parts: Sequence[Path]) -> str | None:
    """The version of the project wheel among `parts` (`chargebus-<version>-...whl`), None without one."""
    found = {path.name.split("-")[1] for path in parts
             if path.name.endswith(".whl") and path.name.split("-")[0] == PRODUCT and path.name.count("-") >= 2}
    if len(found) > 1:
        raise WrongVersion(f"project wheels of several versions: {', '.join(sorted(found))}")
    return found.pop() if found else None


def pack(parts: Sequence[Path], version: str | None, out_dir: Path, private_key: Ed25519PrivateKey,
         built_at: datetime | None = None) -> Path:
    """Write `out_dir/chargebus-<version>.cbfw` atomically and return its path.

    The version is the project wheel's: an image labelled otherwise could never install (the station asks pip
    for `chargebus==<version>`), so a `version` that disagrees is refused; `version` is needed only for parts
    without a project wheel. A temporary file in out_dir is fsynced and renamed, so a reader never sees half an
    image, and an interrupted pack leaves no file behind. Parts are streamed, never loaded whole.
    """
    wheel_version = project_version(parts)
    if version is not None and wheel_version is not None and version != wheel_version:
        raise WrongVersion(f"--version {version} but the project wheel is version {wheel_version}")
    version = version or wheel_version
    if version is None:
        raise WrongVersion("no project wheel among the parts: say the version")
    if not _VERSION.fullmatch(version):
        raise NotAnImage(f"version {version!r} is not a plain version string")
    names = [path.name for path in parts]
    for name in names:
        _check_name(name)
    _check_unique(names)
    when = built_at or datetime.now(UTC)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / image_name(version)
    with replaced(final) as out:
        sink = SealingWriter(out)
        with tarfile.open(fileobj=sink, mode="w", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
            listed = tuple(_add_part(tar, path, when) for path in sorted(parts, key=lambda p: p.name))
            manifest = Manifest(product=PRODUCT, version=version, built_at=when, parts=listed)
            body = manifest.to_json()
            # manifest last: its checksums are of the bytes just written, not of a file that may change
            _add_bytes(tar, MANIFEST, body, when)
            _add_bytes(tar, SIGNATURE, private_key.sign(body), when)
        sink.seal(private_key)
    return final


def _tarinfo(name: str, size: int, when: datetime) -> tarfile.TarInfo:
    # fixed owner and mode: the image depends on the parts, not on who built it
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = int(when.timestamp())
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _add_part(tar: tarfile.TarFile, path: Path, when: datetime) -> Part:
    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        reader = _HashingReader(f)
        tar.addfile(_tarinfo(f"{PARTS_DIR}/{path.name}", size, when), reader)  # OSError if the file shrank
    return Part(name=path.name, sha256=reader.sha256.hexdigest(), size=reader.size)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, when: datetime) -> None:
    tar.addfile(_tarinfo(name, len(data), when), io.BytesIO(data))


# --- verify -----------------------------------------------------------------------------------------------------


def verify(image: Path, public_key: Ed25519PublicKey, dest: Path, not_older_than: str | None = None) -> Manifest:
    """Check `image` against `public_key` and extract its parts into the new directory `dest`.

    `not_older_than`: the running version; an older image is refused (Downgrade) before a part is extracted.
    Raises an ImageError subclass for an image that must not be installed, OSError for a file that cannot
    be read or written, FileExistsError when `dest` exists and is not an empty directory. On any failure
    nothing is left at `dest` or beside it.
    """
    if dest.exists() and not (dest.is_dir() and not any(dest.iterdir())):
        raise FileExistsError(f"{dest} exists and is not an empty directory")
    with image.open("rb") as raw:
        try:
            archive = Prefix(raw, unseal(raw, public_key))
        except SealError as exc:
            raise BadSignature(str(exc)) from None
        with _open_archive(archive, image.name) as tar:
            members = _scan(tar)
            manifest = _authenticate(tar, members, public_key)
            if not_older_than is not None and versions.older(manifest.version, not_older_than):
                raise Downgrade(f"version {manifest.version} is older than the running {not_older_than}")
            parts = _match(members, manifest)
            _extract(tar, parts, dest)
    return manifest


def _open_archive(raw: Prefix, name: str) -> tarfile.TarFile:
    # by magic number rather than "r:*": plain tar or gzip only, no other decompressor is exposed to the input
    gzipped = raw.read(2) == b"\x1f\x8b"
    raw.seek(0)
    try:
        return tarfile.open(fileobj=raw, mode="r:gz" if gzipped else "r:")
    except _ARCHIVE_ERRORS as exc:
        raise NotAnImage(f"{name} is not a firmware image (not a tar archive: {exc})") from None


def _scan(tar: tarfile.TarFile) -> dict[str, tarfile.TarInfo]:
    """Every member by name, after checking each header; no member data is read here."""
    members: dict[str, tarfile.TarInfo] = {}
    try:
        for member in tar:
            if len(members) >= MAX_MEMBERS:
                raise UnsafeImage(f"more than {MAX_MEMBERS} members in the archive")
            _check_member(member)
            if member.name in members:
                raise UnsafeImage(f"{member.name!r} appears twice in the archive")
            members[member.name] = member
    except _ARCHIVE_ERRORS as exc:
        raise NotAnImage(f"damaged or truncated archive: {exc}") from None
    if MANIFEST not in members:
        raise NotAnImage(f"no {MANIFEST} in the archive")
    return members


def _check_member(member: tarfile.TarInfo) -> None:
    name = member.name
    if member.issym() or member.islnk():
        raise UnsafeImage(f"{name!r} is a link (to {member.linkname!r})")
    if member.ischr() or member.isblk() or member.isfifo():
        raise UnsafeImage(f"{name!r} is a device or fifo")
    if name.startswith("/") or "\\" in name or ".." in name.split("/"):
        raise UnsafeImage(f"{name!r} points outside the image")
    # only plain regular files: directories, sparse and contiguous files have no business in an image
    if member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE):
        raise UnsafeImage(f"{name!r} is not a regular file")
    if name in (MANIFEST, SIGNATURE):
        return
    folder, _, base = name.partition("/")
    if folder != PARTS_DIR:
        raise UnsafeImage(f"unexpected member {name!r} (only {MANIFEST}, {SIGNATURE} and {PARTS_DIR}/<file>)")
    _check_name(base)


def _read_small(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    f = tar.extractfile(member)
    if f is None:  # only for non-regular members, which _check_member already refused
        raise UnsafeImage(f"{member.name!r} is not a regular file")
    try:
        with f:
            return f.read(member.size)
    except _ARCHIVE_ERRORS as exc:
        raise NotAnImage(f"damaged or truncated archive reading {member.name}: {exc}") from None


def _authenticate(tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], key: Ed25519PublicKey) -> Manifest:
    """The manifest, once its signature checks out: nothing it says is believed before that."""
    info = members[MANIFEST]
    if info.size > MAX_MANIFEST_SIZE:
        raise NotAnImage(f"{MANIFEST} is {info.size} bytes, more than {MAX_MANIFEST_SIZE}")
    sig_info = members.get(SIGNATURE)
    if sig_info is None:
        raise BadSignature(f"image is not signed (no {SIGNATURE})")
    if sig_info.size != SIGNATURE_SIZE:
        raise BadSignature(f"{SIGNATURE} is {sig_info.size} bytes, an Ed25519 signature is {SIGNATURE_SIZE}")
    body = _read_small(tar, info)
    try:
        key.verify(_read_small(tar, sig_info), body)
    except InvalidSignature:
        raise BadSignature(f"{MANIFEST} is not signed by the trusted key (altered, or signed with another key)") \
            from None
    return Manifest.from_json(body)


def _match(members: dict[str, tarfile.TarInfo], manifest: Manifest) -> list[tuple[Part, tarfile.TarInfo]]:
    """Pair each listed part with its member; the sets must be equal and the sizes agree."""
    present = {name.partition("/")[2]: m for name, m in members.items() if name.startswith(f"{PARTS_DIR}/")}
    listed = {part.name for part in manifest.parts}
    missing = sorted(listed - present.keys())
    if missing:
        raise BadChecksum(f"listed in the manifest but missing from the archive: {', '.join(missing)}")
    extra = sorted(present.keys() - listed)
    if extra:
        raise BadChecksum(f"in the archive but not listed in the manifest: {', '.join(extra)}")
    for part in manifest.parts:
        if present[part.name].size != part.size:
            raise BadChecksum(f"{part.name}: {present[part.name].size} bytes, the manifest says {part.size}")
    return [(part, present[part.name]) for part in manifest.parts]


def _extract(tar: tarfile.TarFile, parts: list[tuple[Part, tarfile.TarInfo]], dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    # beside dest, so the final rename stays on one file system and is atomic
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".partial"))
    try:
        for part, member in parts:
            _extract_part(tar, part, member, tmp / part.name)
        fsync_dir(tmp)
        tmp.chmod(0o755)
        os.replace(tmp, dest)  # POSIX rename also replaces the empty directory a caller may have prepared
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_dir(dest.parent)


def _extract_part(tar: tarfile.TarFile, part: Part, member: tarfile.TarInfo, target: Path) -> None:
    src = tar.extractfile(member)
    if src is None:
        raise UnsafeImage(f"{member.name!r} is not a regular file")
    digest = hashlib.sha256()
    size = 0
    with src, target.open("xb") as out:
        while True:
            try:
                chunk = src.read(CHUNK)
            except _ARCHIVE_ERRORS as exc:
                raise BadChecksum(f"{part.name}: archive ends inside the part (truncated download?): {exc}") \
                    from None
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if size != part.size:
        raise BadChecksum(f"{part.name}: {size} bytes read, the manifest says {part.size}")
    if digest.hexdigest() != part.sha256:
        raise BadChecksum(f"{part.name}: sha256 {digest.hexdigest()} differs from the manifest's {part.sha256}")
