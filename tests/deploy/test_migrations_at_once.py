"""Every new pod may run `disclosure migrate` (an initContainer, deploy/kubernetes) while
the migrate Job runs too: migrators that start together on one PostgreSQL database take
turns, and each finds the schema at the newest version."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from service.catalog.database import alembic_config
from tests.support.databases import throwaway_postgres

MIGRATORS = 3
# A process each, as in the pods (Alembic's context is one per process), each ready
# (imported) before any begins, so that they do start together.
MIGRATE = """
import sys, time
from pathlib import Path
from service.catalog.database import migrate
url, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
ready.touch()
while not go.exists():
    time.sleep(0.01)
migrate(url)
"""


def _start_together(url: str, tmp_path: Path) -> list[subprocess.Popen[bytes]]:
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{n}" for n in range(MIGRATORS)]
    migrators = [
        subprocess.Popen([sys.executable, "-c", MIGRATE, url, r, go], stderr=subprocess.PIPE)
        for r in map(str, ready)
    ]
    deadline = time.monotonic() + 30
    while not all(r.exists() for r in ready) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    return migrators


def test_migrators_started_together_each_leave_the_schema_at_head(tmp_path: Path) -> None:
    with throwaway_postgres() as url:
        migrators = _start_together(url, tmp_path)
        failures = [p.stderr.read() for p in migrators if p.stderr and p.wait(60) != 0]
        assert failures == []
        engine = create_engine(url)
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).all()
        engine.dispose()
        head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
        assert versions == [(head,)]
