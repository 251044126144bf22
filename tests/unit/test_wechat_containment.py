"""Issue 14, check 4: adding the WeChat official account is one adapter and one registry
entry. Outside them, only the settings, the simulators (service/simulators/wechat/, and
the fault kinds the simulators share, some of them the platform's) and the CLI's
`simulate wechat` command may name it (tests may too); a use case, the domain, the
catalog, the worker or a page never does."""

from __future__ import annotations

import re
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[2] / "service"
NAMES = re.compile(r"wechat|weixin|微信", re.IGNORECASE)
ALLOWED_DIRECTORIES = ("delivery/wechat/", "simulators/wechat/")
ALLOWED_FILES = ("settings.py", "entrypoints/cli/tools.py", "simulators/faults.py")
REGISTRY = "destinations.py"
REGISTRY_ENTRY = "# -- the body's WeChat official account"


def _naming_files() -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for path in sorted(SERVICE.rglob("*")):
        if not path.is_file() or path.suffix in (".pyc",) or "__pycache__" in path.parts:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        lines = [n for n, line in enumerate(text.splitlines(), 1) if NAMES.search(line)]
        if lines:
            found[path.relative_to(SERVICE).as_posix()] = lines
    return found


def test_only_the_adapter_and_its_registry_entry_name_wechat() -> None:
    found = _naming_files()
    outside = {
        name: lines
        for name, lines in found.items()
        if not name.startswith(ALLOWED_DIRECTORIES) and name not in (*ALLOWED_FILES, REGISTRY)
    }
    assert outside == {}, f"WeChat named outside its adapter and registry entry: {outside}"
    assert any(name.startswith("delivery/wechat/") for name in found)  # the search works


def test_in_the_registry_only_its_own_entry_and_its_import_name_wechat() -> None:
    text = (SERVICE / REGISTRY).read_text(encoding="utf-8")
    docstring_end = text.index('"""', 3)
    lines = text.splitlines()
    entry = next(n for n, line in enumerate(lines, 1) if line.startswith(REGISTRY_ENTRY))
    docstring_lines = text[:docstring_end].count("\n") + 1
    stray = [
        n
        for n, line in enumerate(lines, 1)
        if NAMES.search(line)
        and n < entry
        and n > docstring_lines  # the docstring points at it as the test of the design
        and not line.startswith("from service.delivery.wechat import")
    ]
    assert stray == [], f"{REGISTRY} names WeChat outside its entry on lines {stray}"
    assert any(NAMES.search(line) for line in lines[entry:])
