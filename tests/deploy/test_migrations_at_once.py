"""Every new pod may run `disclosure migrate` (an initContainer, deploy/kubernetes) while
the migrate Job runs too: migrators that start together on one PostgreSQL database take
turns, and each finds the schema at the newest version."""

from __future__ import annotations

import subprocess
import sys

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from service.catalog.database import alembic_config
from tests.support.databases import throwaway_postgres

MIGRATORS = 3
# A process each, as in the pods: Alembic's context is one per process.
MIGRATE = "import sys; from service.catalog.database import migrate; migrate(sys.argv[1])"


def test_migrators_started_together_each_leave_the_schema_at_head() -> None:
    with throwaway_postgres() as url:
        migrators = [
            subprocess.Popen([sys.executable, "-c", MIGRATE, url], stderr=subprocess.PIPE)
            for _ in range(MIGRATORS)
        ]
        failures = [p.stderr.read() for p in migrators if p.stderr and p.wait(60) != 0]
        assert failures == []
        engine = create_engine(url)
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).all()
        engine.dispose()
        head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
        assert versions == [(head,)]
