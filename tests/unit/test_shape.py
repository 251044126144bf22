"""The code stays readable (issue 10): short functions, no module too long to hold in
mind. `bench/shape.py` prints the figures."""

from __future__ import annotations

import statistics

from bench.shape import function_lengths, module_lines, modules

MEDIAN_LIMIT, FUNCTION_LIMIT, MODULE_LIMIT = 7, 50, 500


def test_functions_are_short_most_very_short() -> None:
    functions = [f for path in modules() for f in function_lengths(path)]
    assert statistics.median(n for _, n in functions) <= MEDIAN_LIMIT
    assert [name for name, n in functions if n > FUNCTION_LIMIT] == []


def test_no_module_is_over_500_lines() -> None:
    assert [str(p) for p in modules() if module_lines(p) > MODULE_LIMIT] == []
