"""The domain and validation import no I/O framework or SDK (STYLE.md, point 1)."""

import ast
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parents[2] / "service"
PURE_PACKAGES = ["domain", "validation"]
FORBIDDEN = {
    "fastapi", "starlette", "httpx", "sqlalchemy", "boto3", "botocore", "tenacity", "uvicorn",
}  # fmt: skip


def _imports(path: Path) -> set[str]:
    """Absolute module names imported anywhere in the file (inside functions too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _service_package(name: str) -> str | None:
    """ "domain" for service.domain.org; None for a bare `import service`."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else None


def _modules(package: str) -> list[Path]:
    return sorted((SERVICE / package).rglob("*.py"))


@pytest.mark.parametrize("package", PURE_PACKAGES)
def test_the_package_has_modules_to_check(package: str) -> None:
    assert _modules(package)


@pytest.mark.parametrize(
    "path",
    [p for package in PURE_PACKAGES for p in _modules(package)],
    ids=lambda p: str(p.relative_to(SERVICE)),
)
def test_pure_modules_import_no_framework_and_no_impure_service_module(path: Path) -> None:
    imports = _imports(path)
    assert not {name.split(".")[0] for name in imports} & FORBIDDEN
    service_packages = {
        _service_package(name) for name in imports if name.split(".")[0] == "service"
    }
    assert service_packages <= set(PURE_PACKAGES), service_packages
