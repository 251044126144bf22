"""The lock files the image installs from (Dockerfile) still satisfy pyproject.toml: a
dependency added or raised without `make lock` turns CI red here, not at the next
image build."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
# The image's platform (python:3.11-slim): markers are read as pip reads them there.
IMAGE_PYTHON = "3.11"
IMAGE = {
    "python_version": IMAGE_PYTHON,
    "python_full_version": f"{IMAGE_PYTHON}.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}


def pins(lock: str) -> dict[NormalizedName, tuple[Version, int]]:
    """Each package the lock pins: its version and how many hashes it is allowed."""
    found: dict[NormalizedName, tuple[Version, int]] = {}
    for entry in re.split(r"\n(?=\S)", (ROOT / lock).read_text(encoding="utf-8")):
        if entry.startswith("#") or not entry.strip():
            continue
        requirement = Requirement(entry.split("\\", 1)[0].split(";", 1)[0].strip())
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{lock}: {requirement} is not pinned"
        found[canonicalize_name(requirement.name)] = (
            Version(specifier.version),
            entry.count("--hash=sha256:"),
        )
    return found


def applies(requirement: Requirement, extra: str = "") -> bool:
    return requirement.marker is None or requirement.marker.evaluate({**IMAGE, "extra": extra})


def unsatisfied(requirements: list[str], lock: str) -> list[str]:
    pinned = pins(lock)
    wrong = []
    for line in requirements:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        if not applies(requirement):
            continue
        if name not in pinned:
            wrong.append(f"{line}: not in {lock}")
        elif not requirement.specifier.contains(pinned[name][0], prereleases=True):
            wrong.append(f"{line}: {lock} pins {pinned[name][0]}")
    return wrong


def test_every_runtime_dependency_is_pinned_in_the_lock_within_its_range() -> None:
    assert unsatisfied(PYPROJECT["project"]["dependencies"], "requirements.lock") == []


def test_the_extras_a_dependency_names_are_pinned_too() -> None:
    """psycopg[binary] needs psycopg-binary in the lock. Names only: the installed
    version's metadata says which packages an extra brings, not which versions the lock's
    version wants."""
    pinned = pins("requirements.lock")
    assert [
        f"{requirement.name}[{extra}] needs {needed.name}"
        for requirement in map(Requirement, PYPROJECT["project"]["dependencies"])
        for extra in requirement.extras
        for needed in map(Requirement, metadata.requires(requirement.name) or [])
        if applies(needed, extra)
        and not applies(needed)
        and canonicalize_name(needed.name) not in pinned
    ] == []


def test_the_build_backend_is_pinned_in_the_build_lock() -> None:
    assert unsatisfied(PYPROJECT["build-system"]["requires"], "requirements-build.lock") == []


def test_every_pinned_package_carries_its_hashes() -> None:
    for lock in ("requirements.lock", "requirements-build.lock"):
        assert [name for name, (_, hashes) in pins(lock).items() if hashes == 0] == []


def test_the_lock_is_made_for_the_python_of_the_image() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert set(re.findall(r"^FROM python:(\d+\.\d+)-", dockerfile, re.M)) == {IMAGE_PYTHON}
    assert f"--python-version {IMAGE_PYTHON} --python-platform x86_64-manylinux" in makefile
