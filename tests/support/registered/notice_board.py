"""A test-only destination: a district's electronic notice board (电子公告栏), which posts
a short notice linking to the portal's article, so it needs the portal's receipt first
(`after`), as the WeChat official account will.

Its protocol, served by `simulator()` as a real HTTP server:

    POST /notices   {"title", "org_name", "link", "source_id"}, Idempotency-Key
                    → 201 {"notice_id"}; the same key again → 200 and the same notice
    GET  /notices   → every notice posted
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import Any

import httpx
from fastapi import FastAPI, Header, Response

from service.delivery.port import Delivered, DeliveryJob, Failed, Journal, Outcome, RetryLater
from service.destinations import DestinationSpec
from service.domain.destinations import Capability, DestinationLimits
from service.domain.filing import Destination
from service.domain.org import OrgRegistry
from service.settings import Settings
from service.simulators import run_in_thread


class NoticeBoardAdapter:
    destination = "notice_board"
    capabilities: frozenset[Capability] = frozenset()

    def __init__(self, base_url: str) -> None:
        self._client = httpx.Client(base_url=base_url, timeout=5)

    def deliver(self, job: DeliveryJob, journal: Journal) -> Outcome:
        portal = job.prior_receipts.get(Destination.PORTAL.value, {})
        notice = {
            "title": job.title,
            "org_name": job.org_name,
            "link": portal.get("url"),
            "source_id": job.source_id,
        }
        try:
            response = self._client.post(
                "/notices", json=notice, headers={"Idempotency-Key": job.idempotency_key}
            )
        except httpx.TransportError as exc:
            return RetryLater("transport_error", str(exc))
        if response.is_success:
            return Delivered({**response.json(), "link": notice["link"]}, response.status_code)
        if response.status_code >= 500:
            return RetryLater("server_error", response.text, response.status_code)
        return Failed("rejected", response.text, response.status_code)


def simulator_app(board: list[dict[str, Any]]) -> FastAPI:
    app = FastAPI()
    by_key: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()

    @app.post("/notices", status_code=201)
    def post_notice(
        notice: dict[str, Any], response: Response, idempotency_key: str = Header()
    ) -> dict[str, Any]:
        with lock:
            if idempotency_key in by_key:
                response.status_code = 200
                return by_key[idempotency_key]
            board.append(notice)
            by_key[idempotency_key] = {"notice_id": f"n{len(board)}"}
            return by_key[idempotency_key]

    @app.get("/notices")
    def notices() -> list[dict[str, Any]]:
        return board

    return app


def _simulator(settings: Settings) -> AbstractContextManager[Any]:
    return run_in_thread(simulator_app([]))


def _build(settings: Settings, url: str, registry: OrgRegistry) -> NoticeBoardAdapter:
    return NoticeBoardAdapter(url)


def spec() -> DestinationSpec:
    """Its entry; its code is registered only now (a test's fixture calls this), so that
    no other test sees a destination that is not the service's."""
    board = Destination.register("notice_board", "电子公告栏", "electronic notice board")
    return DestinationSpec(
        destination=board,
        limits=DestinationLimits(
            board,
            attachment_kinds=frozenset({"pdf", "docx"}),
            text_only_kinds=frozenset({"txt"}),
            max_bytes=10 * 1024 * 1024,
        ),
        adapter=NoticeBoardAdapter,
        build=_build,
        url=lambda settings: None,  # in development, its simulator
        simulator=_simulator,
        after=(Destination.PORTAL,),
    )
