"""A page fetcher (service.capture.port.PageFetcher) answering from a script, recording
each URL asked for."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from service.capture.port import Exchange


class ScriptedPages:
    def __init__(self, pages: Mapping[str, tuple[int, dict[str, str], bytes]]) -> None:
        self.pages = dict(pages)  # url → (status, headers, body)
        self.asked: list[str] = []

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> Exchange:
        self.asked.append(url)
        at = datetime(2024, 1, 12, tzinfo=UTC)
        if url not in self.pages:
            return Exchange(url, at, "GET / HTTP/1.1", status=404, status_line="HTTP/1.1 404")
        status, answer, body = self.pages[url]
        return Exchange(
            url, at, "GET / HTTP/1.1", status=status, status_line=f"HTTP/1.1 {status}",
            headers=tuple(answer.items()), body=body,
        )  # fmt: skip
