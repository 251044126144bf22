"""The code's shape (issue 10): function lengths, median and the longest, and module
lengths, for service/ outside its migrations. tests/unit/test_shape.py holds the limits.

    .venv/bin/python bench/shape.py
"""

from __future__ import annotations

import ast
import statistics
from collections.abc import Iterator
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[1] / "service"


def modules() -> Iterator[Path]:
    return (p for p in sorted(SERVICE.rglob("*.py")) if "migrations" not in p.parts)


def function_lengths(path: Path) -> Iterator[tuple[str, int]]:
    """Each function's name and lines, from `def` to its last line (nested ones too)."""
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno is not None
            yield (
                f"{path.relative_to(SERVICE.parent)}:{node.lineno} {node.name}",
                (node.end_lineno - node.lineno + 1),
            )


def module_lines(path: Path) -> int:
    return len(path.read_text("utf-8").splitlines())


def main() -> None:
    functions = [f for path in modules() for f in function_lengths(path)]
    lengths = [n for _, n in functions]
    print(
        f"functions: {len(lengths)}, median {statistics.median(lengths)} lines, max {max(lengths)}"
    )
    for name, n in sorted(functions, key=lambda f: -f[1])[:5]:
        print(f"  {n:3} {name}")
    sizes = sorted(((module_lines(p), p) for p in modules()), reverse=True)
    print(f"modules: {len(sizes)}, the longest:")
    for n, path in sizes[:5]:
        print(f"  {n:4} {path.relative_to(SERVICE.parent)}")


if __name__ == "__main__":
    main()
