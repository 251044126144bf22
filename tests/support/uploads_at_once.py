"""Send files to /v1/validations all at once from a process of their own, so that the
client's work (building and sending multipart bodies) does not slow down whatever the
test process measures meanwhile.

    python -m tests.support.uploads_at_once URL TOKEN METADATA_JSON FILE...
    → "sending", then one JSON line per file:
      {"file": …, "status": 200, "seconds": 0.31, "valid": false, "codes": [...]}
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx


def _validate(url: str, token: str, metadata: str, path: Path) -> dict[str, Any]:
    start = time.perf_counter()
    with httpx.Client(base_url=url, timeout=120) as client:
        response = client.post(
            "/v1/validations",
            headers={"Authorization": f"Bearer {token}"},
            data={"metadata": metadata},
            files={"file": (path.name, path.read_bytes())},
        )
    seconds = time.perf_counter() - start
    body = response.json()
    codes = [f["code"] for f in body.get("findings", [])]
    valid = body.get("valid")
    return {"file": path.name, "status": response.status_code, "seconds": seconds, "valid": valid, "codes": codes}  # fmt: skip


def main() -> None:
    url, token, metadata, *files = sys.argv[1:]
    print("sending", flush=True)
    with ThreadPoolExecutor(len(files)) as pool:
        results = pool.map(lambda f: _validate(url, token, metadata, Path(f)), files)
        for result in results:
            print(json.dumps(result, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
