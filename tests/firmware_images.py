"""Real firmware images for tests: the project's own wheel at a chosen version, its pinned dependencies,
packed and signed with a key made for the test run by `chargebus firmware pack` itself (the version is the
project wheel's).

The dependency wheels are downloaded once per test run into a folder every pytest-xdist worker shares
(guarded by a lock); each version's project wheel is built from a copy of the source tree whose
pyproject says that version, optionally broken on purpose.
"""

from __future__ import annotations

import fcntl
import gzip
import re
import shutil
import subprocess
import sys
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from services.firmware import keys, wheels

PrivateKey = Ed25519PrivateKey | EllipticCurvePrivateKey

ROOT = Path(__file__).resolve().parents[1]

# a version that installs and imports (the slot's self-check passes) but whose metering never comes online
BROKEN_METERING = ("services/metering/service.py", "    async def setup(self) -> None:\n",
                   "    async def setup(self) -> None:\n        raise RuntimeError('broken on purpose')\n")


def _pip(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", *args, "-q", "--disable-pip-version-check"],
                          capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"pip {args[0]} failed: {done.stderr[-2000:]}")


def dependency_wheels(cache: Path) -> list[Path]:
    folder = cache / "deps"
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / "deps.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".complete").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            requirements = cache / "requirements.txt"
            requirements.write_text("\n".join(wheels._pinned_dependencies(ROOT / "pyproject.toml")) + "\n")
            _pip("download", "--only-binary=:all:", "-d", str(folder), "-r", str(requirements))
            (folder / ".complete").touch()
    return sorted(folder.glob("*.whl"))


def project_wheel(version: str, out: Path, broken: tuple[str, str, str] | None = None) -> Path:
    source = out / f"src-{version}"
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    shutil.copytree(ROOT / "services", source / "services", symlinks=False,
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "proto", source / "proto")
    pyproject = (ROOT / "pyproject.toml").read_text()
    (source / "pyproject.toml").write_text(re.sub(r'(?m)^version = ".*"$', f'version = "{version}"', pyproject))
    if broken is not None:
        path, old, new = broken
        text = (source / path).read_text()
        assert old in text, f"{old!r} not in {path}"
        (source / path).write_text(text.replace(old, new, 1))
    wheels = out / f"wheel-{version}"
    _pip("wheel", "--no-deps", "-w", str(wheels), str(source))
    return next(wheels.glob("chargebus-*.whl"))


def signing_keys(folder: Path) -> tuple[Path, Path]:
    private, public = folder / "signing.pem", folder / "trusted.pub.pem"
    if not private.exists():
        folder.mkdir(parents=True, exist_ok=True)
        keys.generate(private, public)
    return private, public


def image_parts(version: str, out: Path, cache: Path, broken: tuple[str, str, str] | None = None) -> list[Path]:
    return [*dependency_wheels(cache), project_wheel(version, out, broken)]


def build_image(version: str, out: Path, cache: Path, private_key: Path,
                broken: tuple[str, str, str] | None = None) -> Path:
    parts = [arg for part in image_parts(version, out, cache, broken) for arg in ("--part", str(part))]
    done = subprocess.run([sys.executable, "-m", "services.cli.main", "firmware", "pack", "--key", str(private_key),
                           "--out", str(out / "images"), *parts], capture_output=True, text=True, timeout=300,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"chargebus firmware pack failed: {done.stderr[-2000:]}")
    return Path(done.stdout.strip())


def forged_header_archive(path: Path, kind: bytes, size: int) -> Path:
    """A gzip tar whose first header announces `size` bytes of long name (GNU) or extended header (pax): a few
    hundred KB on the wire, `size` bytes for a reader that believes it."""
    info = tarfile.TarInfo("././@LongLink" if kind == tarfile.GNUTYPE_LONGNAME else "././@PaxHeader")
    info.type, info.size = kind, size
    zeros = b"a" * (1024 * 1024)
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(info.tobuf(tarfile.USTAR_FORMAT))
        for _ in range(size // len(zeros)):
            out.write(zeros)
        out.write(tarfile.TarInfo("manifest.json").tobuf(tarfile.USTAR_FORMAT) + b"\0" * 1024)
    return path


def certificate(key: PrivateKey) -> str:
    """A PEM certificate of `key`'s public key, as a firmware signer holds one (self-signed here)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "chargebus firmware signing")])
    now = datetime.now(UTC)
    built = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
             .not_valid_after(now + timedelta(days=30))
             .sign(key, None if isinstance(key, Ed25519PrivateKey) else hashes.SHA256()))
    return built.public_bytes(serialization.Encoding.PEM).decode()
