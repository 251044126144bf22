"""The `disclosure` command. Commands are thin: parse, call one use case, render.

Messages for people are in Chinese with English alongside; logs are English.

    app.py (the application)   running.py   filings.py   archive.py   tokens.py   tools.py
    compliance.py (exemptions)
"""

from __future__ import annotations

# Commands are listed in `disclosure --help` in the order their modules are imported.
from service.entrypoints.cli import running  # isort: split

from service.entrypoints.cli import filings  # isort: split

from service.entrypoints.cli import archive  # isort: split

from service.entrypoints.cli import tokens  # isort: split

from service.entrypoints.cli import proof  # isort: split

from service.entrypoints.cli import tools  # isort: split

from service.entrypoints.cli import compliance  # isort: split

from service.entrypoints.cli.app import app

COMMANDS = (
    running,
    filings,
    archive,
    tokens,
    proof,
    tools,
    compliance,
)  # imported for their commands


def main() -> None:
    app()
