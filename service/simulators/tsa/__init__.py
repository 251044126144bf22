"""The TSA simulator: a time-stamping authority on HTTP (RFC 3161 §3.4), for development
(no DISCLOSURE_TSA_URL) and tests.

    POST /   Content-Type: application/timestamp-query   → application/timestamp-reply
             anything else                                → 400

    with run_in_thread(create_app(Authority.create())) as sim: …   # sim.url

`Authority` (authority.py) holds the keys and signs; `down` answers 503 to everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.simulators.tsa.authority import Authority

QUERY = "application/timestamp-query"
REPLY = "application/timestamp-reply"


@dataclass
class Switch:
    """Whether the TSA is down (503), for a test of an outage."""

    down: bool = False


def create_app(authority: Authority, switch: Switch | None = None) -> Starlette:
    state = switch or Switch()

    async def stamp(request: Request) -> Response:
        if state.down:
            return Response(b"down", status_code=503, headers={"Retry-After": "1"})
        if request.headers.get("content-type", "").split(";")[0].strip() != QUERY:
            return Response(b"expected application/timestamp-query", status_code=400)
        try:
            reply = authority.reply(await request.body())
        except ValueError:
            return Response(b"not a TimeStampReq", status_code=400)
        return Response(reply, media_type=REPLY)

    return Starlette(routes=[Route("/", stamp, methods=["POST"])])


__all__ = ["Authority", "Switch", "create_app"]
