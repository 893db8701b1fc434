"""`chargebus firmware ...`: make signing keys, pack a signed firmware image, verify one.

keygen  writes a new Ed25519 key pair (exit 2 if a file exists)
pack    builds the project's wheels (or takes `--part` files), packs and signs `chargebus-<version>.cbfw`;
        the version is the project wheel's (a `--version` that disagrees is refused)
verify  checks an image against a public key and extracts its parts, as a station does before installing

Exit status: 0 done, 1 the image, key or build failed (one line on stderr), 2 bad argument.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from services.common.settings import Settings
from services.common.version import VERSION


def register(sub: Any) -> None:
    parser = sub.add_parser("firmware", help="firmware images: signing keys, pack, verify")
    cmds = parser.add_subparsers(dest="firmware_command", required=True)

    keygen = cmds.add_parser("keygen", help="write a new Ed25519 signing key pair")
    keygen.add_argument("--private", type=Path, required=True, help="private key PEM to write (mode 0600)")
    keygen.add_argument("--public", type=Path, required=True, help="public key PEM to write (mode 0644)")
    keygen.set_defaults(func=_keygen)

    pack = cmds.add_parser("pack", help="build the wheels and pack a signed image")
    pack.add_argument("--key", type=Path, required=True, help="private key PEM that signs the image")
    pack.add_argument("--version", default=None,
                      help="image version: must be the project wheel's, which it is by default (for parts without "
                      f"a project wheel, default {VERSION})")
    pack.add_argument("--out", type=Path, default=Path("."), help="directory the image is written to")
    pack.add_argument("--part", type=Path, action="append", default=None, metavar="FILE",
                      help="pack this file instead of building the wheels (repeat for each part)")
    pack.add_argument("--project", type=Path, default=Path("."), help="project to build wheels from")
    pack.set_defaults(func=_pack)

    verify = cmds.add_parser("verify", help="check an image's signature and checksums and extract its parts")
    verify.add_argument("image", type=Path, help="the .cbfw file")
    verify.add_argument("--public", type=Path, required=True, help="trusted public key PEM")
    verify.add_argument("--into", type=Path, default=None, help="extract the parts into this new directory")
    verify.set_defaults(func=_verify)


def _fail(command: str, message: str, status: int = 1) -> int:
    print(f"chargebus firmware {command}: {message}", file=sys.stderr)
    return status


def _os_error(exc: OSError) -> str:
    # "[Errno 2] No such file or directory: 'x'" reads worse than "No such file or directory: x"
    if exc.strerror and exc.filename:
        return f"{exc.strerror}: {exc.filename}"
    return str(exc)


# The commands import the firmware modules themselves: they load the signature library, whose native module
# would otherwise be initialised in `chargebus run` (every command's module is imported to build the parser) and
# keep ~5 MB of pages in the supervisor for a command that never runs there.


def _keygen(args: argparse.Namespace, settings: Settings) -> int:
    from services.firmware import keys

    try:
        keys.generate(args.private, args.public)
    except FileExistsError as exc:
        return _fail("keygen", str(exc), 2)
    except OSError as exc:
        return _fail("keygen", _os_error(exc))
    print(f"private key: {args.private}")
    print(f"public key: {args.public}")
    return 0


def _pack(args: argparse.Namespace, settings: Settings) -> int:
    from services.firmware import image, keys, wheels

    try:
        key = keys.load_private(args.key)  # before a build that takes minutes
        if args.part:
            version = args.version if args.version or image.project_version(args.part) else VERSION
            path = image.pack(args.part, version, args.out, key)
        else:
            with tempfile.TemporaryDirectory(prefix="chargebus-wheels-") as tmp:
                built = wheels.build_wheels(args.project, Path(tmp))
                path = image.pack(built, args.version, args.out, key)
    except image.ImageError as exc:
        return _fail("pack", f"{exc.kind}: {exc.reason}")
    except (wheels.BuildError, keys.KeyFileError) as exc:
        return _fail("pack", str(exc))
    except OSError as exc:
        return _fail("pack", _os_error(exc))
    print(path)
    return 0


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    from services.firmware import image, keys

    try:
        key = keys.load_public(args.public)
        if args.into is not None:
            manifest = image.verify(args.image, key, args.into)
        else:
            with tempfile.TemporaryDirectory(prefix="chargebus-verify-") as tmp:
                manifest = image.verify(args.image, key, Path(tmp) / "parts")
    except image.ImageError as exc:
        return _fail("verify", f"{exc.kind}: {exc.reason}")
    except keys.KeyFileError as exc:
        return _fail("verify", f"key: {exc}")
    except OSError as exc:
        return _fail("verify", f"io: {_os_error(exc)}")
    print(f"version {manifest.version}, {len(manifest.parts)} parts, signature ok")
    return 0
