"""The wheels a firmware image carries: the project's own and its pinned dependencies, for an offline install."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path


class BuildError(RuntimeError):
    """Building the wheels failed (pip's last lines of stderr in the message)."""


def build_wheels(project_dir: Path, out_dir: Path) -> list[Path]:
    """Wheels of the project and of its pinned dependencies in `out_dir` (best empty), for an offline install.

    Needs pip and the network. Wheels are downloaded for the platform of this interpreter.
    """
    requirements = _pinned_dependencies(project_dir / "pyproject.toml")
    out_dir.mkdir(parents=True, exist_ok=True)
    _pip("wheel", "--no-deps", "-w", str(out_dir), str(project_dir))
    if requirements:
        with tempfile.TemporaryDirectory() as tmp:
            req_file = Path(tmp) / "requirements.txt"
            req_file.write_text("\n".join(requirements) + "\n", encoding="utf-8")
            _pip("download", "--only-binary=:all:", "-d", str(out_dir), "-r", str(req_file))
    return sorted(out_dir.glob("*.whl"))


def _pinned_dependencies(pyproject: Path) -> list[str]:
    try:
        with pyproject.open("rb") as f:
            deps = tomllib.load(f).get("project", {}).get("dependencies", [])
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BuildError(f"cannot read {pyproject}: {exc}") from None
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise BuildError(f"{pyproject}: project.dependencies is not a list of strings")
    # a station installs from the image alone: a range would make the image depend on the day it was built
    loose = [d for d in deps if "==" not in d]
    if loose:
        raise BuildError(f"{pyproject}: dependencies not pinned with ==: {', '.join(loose)}")
    return deps


def _pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", *args]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-10:])
        raise BuildError(f"pip {args[0]} failed with status {result.returncode}:\n{tail}")
