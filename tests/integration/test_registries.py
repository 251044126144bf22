"""A kind of filing and a destination added as the registries say (one entry and one
module each: tests/support/registered/), taken through submit, archive and delivery by
the whole service: its API over HTTP, its catalog and archive, its worker, and every
destination a real HTTP server on 127.0.0.1 (the notice board its own simulator)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service import categories, destinations
from service.bootstrap import Container, build_adapters, build_container, build_worker
from service.bootstrap import destinations as destination_urls
from service.delivery.port import DestinationAdapter
from service.domain.filing import Destination
from service.entrypoints.api.app import create_app
from service.settings import Settings
from tests.support.bodies import sample_metadata, write_registry
from tests.support.documents import docx_from_text
from tests.support.registered import notice_board, public_notice
from tests.support.servers import app_in_thread

DEMO = "demo-registries-token"
NOTICE = """关于南开区体育中心改造方案的公示
一、改造内容
对体育中心主馆及周边场地进行改造，新增健身步道。
二、公示期
2024年3月1日至2024年3月10日。
三、联系方式
意见可寄至南开区合作交流办。
"""


@pytest.fixture
def registered() -> Iterator[None]:
    board = destinations.register(notice_board.spec()).destination
    notice = categories.register(public_notice.spec()).category
    yield
    categories.unregister(notice)
    destinations.unregister(board)


@pytest.fixture
def container(registered: None, tmp_path: Path) -> Iterator[Container]:
    settings = Settings(
        data_dir=tmp_path / "var",
        orgs_file=write_registry(tmp_path),
        demo_token=DEMO,
        prerequisite_wait_s=0.1,
        retry_schedule_s=[0.1],
    )
    container = build_container(settings)
    yield container
    container.close()


@pytest.fixture
def urls(container: Container) -> Iterator[dict[Destination, str | None]]:
    with destination_urls(container.settings) as found:
        assert {Destination.PORTAL, Destination("notice_board")} <= set(found.simulated)
        yield found.urls


@pytest.fixture
def adapters(container: Container, urls: dict[Destination, str | None]) -> dict[str, Any]:
    return build_adapters(container, urls)


@pytest.fixture
def api(container: Container) -> Iterator[httpx.Client]:
    with (
        app_in_thread(create_app(container.api())) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        yield client


def _submit(api: httpx.Client, text: str) -> httpx.Response:
    metadata = sample_metadata(category="public_notice", period="2024-02-26", title="改造方案公示")
    return api.post(
        "/v1/filings",
        headers={"Authorization": f"Bearer {DEMO}"},
        data={"metadata": json.dumps(metadata, ensure_ascii=False)},
        files={"file": ("公示.docx", docx_from_text(text))},
    )


def _deliver_until_settled(
    container: Container, adapters: dict[str, DestinationAdapter], filing_id: str
) -> None:
    worker = build_worker(container, adapters)
    for _ in range(100):  # bounded: 100 rounds of at most 0.1 s
        worker.run_once()
        filing = container.catalog.get_filing(filing_id)
        assert filing is not None
        if filing.versions[-1].status != "archived":
            return
        time.sleep(0.1)
    raise AssertionError("the filing did not settle")


def test_a_registered_kind_goes_through_submit_archive_and_delivery_to_a_registered_destination(
    container: Container,
    api: httpx.Client,
    adapters: dict[str, DestinationAdapter],
    urls: dict[Destination, str | None],
) -> None:
    submitted = _submit(api, NOTICE)
    assert submitted.status_code == 201, submitted.text
    filing_id = submitted.json()["id"]

    _deliver_until_settled(container, adapters, filing_id)

    filing = api.get(f"/v1/filings/{filing_id}", headers={"Authorization": f"Bearer {DEMO}"})
    body = filing.json()
    assert body["status"] == "published" and body["category"] == "public_notice"
    assert body["title"] == "关于南开区体育中心改造方案的公示"
    receipts = {d["destination"]: d["receipt"] for d in body["deliveries"]}
    assert set(receipts) == {"portal", "notice_board"}
    board = httpx.get(f"{urls[Destination('notice_board')]}/notices").json()
    assert [n["link"] for n in board] == [receipts["portal"]["url"]] != [None]
    version = container.catalog.get_version(filing_id, 1)
    assert version is not None
    stored = container.packages.list_receipts(version.package_prefix)
    assert len(stored) == 2  # each destination's receipt archived beside the package


def test_a_registered_kinds_own_rules_refuse_what_it_lacks(api: httpx.Client) -> None:
    refused = _submit(api, NOTICE.replace("二、公示期\n2024年3月1日至2024年3月10日。\n", ""))
    assert refused.status_code == 422
    error = refused.json()["error"]
    codes = [f["code"] for f in error["findings"] if f["severity"] == "error"]
    assert codes == ["public_notice_period_missing"]


def test_unregistered_the_kind_is_unknown_again(registered: None, container: Container) -> None:
    categories.unregister(categories.category_spec("public_notice").category)
    with pytest.raises(ValueError, match="public_notice"):
        categories.category_spec("public_notice")
