"""`disclosure simulate …`: a fault kind the simulator does not know is said, in Chinese
and English, with exit 2 — for every simulator, before anything listens."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from service.entrypoints.cli import app
from tests.support.logging_kept import logging_kept


@pytest.mark.parametrize("simulator", ["portal", "legal-platform", "wechat"])
def test_an_unknown_fault_kind_is_refused_with_a_message(simulator: str) -> None:
    with logging_kept():
        result = CliRunner().invoke(app, ["simulate", simulator, "--kinds", "no_such_kind"])

    assert result.exit_code == 2, result.output
    assert "故障设置有误" in result.output and "no_such_kind" in result.output
    assert "Traceback" not in result.output
