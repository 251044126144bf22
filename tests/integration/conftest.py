from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from service.bootstrap import Container, build_container
from service.catalog.database import make_engine, make_sessions, migrate
from service.catalog.ports import Catalog
from service.catalog.sql import SqlCatalog
from service.catalog.sql.tables import Base
from service.entrypoints.api.app import create_app
from service.settings import Settings
from tests.support.bodies import write_registry
from tests.support.ceph import ceph_missing, ceph_rgw
from tests.support.clock import FakeClock
from tests.support.databases import throwaway_postgres
from tests.support.moto_server import moto_missing, moto_server
from tests.support.s3 import S3Server
from tests.support.servers import app_in_thread


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with throwaway_postgres() as url:
        migrate(url)
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return fresh_database(request.param, request, tmp_path)


def fresh_database(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated catalog database: a SQLite file, or the session's PostgreSQL
    database emptied."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
        migrate(url)
        return url
    url = str(request.getfixturevalue("postgres_url"))
    engine = make_engine(url)
    with engine.begin() as conn:
        names = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def catalog(database_url: str, clock: FakeClock) -> Iterator[Catalog]:
    engine = make_engine(database_url)
    yield SqlCatalog(make_sessions(engine), clock=clock)
    engine.dispose()


# -- S3 servers (Ceph RGW and moto), each started once per session on 127.0.0.1 ------


@pytest.fixture(scope="session")
def ceph_s3() -> Iterator[S3Server]:
    reason = ceph_missing()
    if reason:
        pytest.skip(reason)
    with ceph_rgw() as rgw:
        yield S3Server("ceph", rgw.endpoint_url, rgw.access_key, rgw.secret_key)


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[S3Server]:
    reason = moto_missing()
    if reason:
        pytest.skip(reason)
    with moto_server() as server:
        yield S3Server("moto", server.endpoint_url, server.access_key, server.secret_key)


@pytest.fixture
def service_settings() -> dict[str, Any]:
    """What a module's service needs beyond the defaults (override in the module)."""
    return {}


@pytest.fixture
def container(tmp_path: Path, service_settings: dict[str, Any]) -> Iterator[Container]:
    """The whole service on its embedded defaults in `tmp_path`, on a fixed clock."""
    values = {
        "data_dir": tmp_path / "var",
        "orgs_file": write_registry(tmp_path),
        **service_settings,
    }
    container = build_container(Settings.model_validate(values), clock=FakeClock())
    yield container
    container.close()


@pytest.fixture
def api(container: Container) -> Iterator[httpx.Client]:
    """A real HTTP client against the service's API served by uvicorn on 127.0.0.1."""
    with (
        app_in_thread(create_app(container.api())) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        yield client
