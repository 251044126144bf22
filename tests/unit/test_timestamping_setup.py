"""Which TSA the service uses, by its settings: the configured one; in development without
one, the simulator, whose root stays the same across restarts (its tokens keep verifying);
in production without one, none — a warning, and pending stamps shown as not_configured."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from structlog.testing import capture_logs

from service.catalog.records import TimestampRecord
from service.proof.port import Stamped
from service.settings import Env, Settings
from service.timestamping import proof_setup, timestamp_authority, trusted_roots
from service.usecases.proof import timestamp_view
from tests.fakes import InMemoryStore

NOW = datetime(2024, 1, 12, 1, 0, tzinfo=UTC)


def _pending() -> TimestampRecord:
    return TimestampRecord(
        id="tsp_1", filing_id="fil_1", version=1, stamped_key="filings/a/v1/tagmanifest-sha256.txt",
        status="pending", attempts=0, next_attempt_at=NOW, first_attempt_at=None, lease_owner=None,
        lease_expires_at=None, last_error=None, tsa=None, token_key=None, token_sha256=None,
        gen_time=None, serial_number=None, created_at=NOW,
    )  # fmt: skip


def test_production_without_a_tsa_warns_and_shows_pending_stamps_as_not_configured(
    tmp_path: Path,
) -> None:
    settings = Settings(env=Env.PRODUCTION, data_dir=tmp_path)

    with capture_logs() as logs, timestamp_authority(settings) as tsa:
        assert tsa is None

    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["tsa_not_configured"]
    view = timestamp_view(proof_setup(settings, InMemoryStore()), _pending())
    assert (view["status"], view["verified"]) == ("not_configured", None)


def test_development_without_a_tsa_stamps_with_the_simulator_under_a_root_kept_on_disk(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path)

    with timestamp_authority(settings) as tsa:
        assert tsa is not None
        outcome = tsa.stamp(hashlib.sha256(b"tag manifest\n").digest())
    first_root = trusted_roots(settings)
    with timestamp_authority(settings) as again:  # a restart
        assert again is not None and isinstance(
            again.stamp(hashlib.sha256(b"later\n").digest()), Stamped
        )

    assert isinstance(outcome, Stamped)
    assert trusted_roots(settings) == first_root and len(first_root) == 1
    view = timestamp_view(proof_setup(settings, InMemoryStore()), _pending())
    assert view["status"] == "pending"
