"""`disclosure simulate wechat` as a process: the account it is given, its API under
/cgi-bin/, and the publish outcome chosen on the command line."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.servers import base_env, free_port, start_process

pytestmark = pytest.mark.e2e
APPID, SECRET = "wx4444444444444444", "secret-from-the-command-line"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_simulate_wechat_serves_the_account_it_is_given(tmp_path: Path) -> None:
    port = free_port()
    args = ["simulate", "wechat", "--port", str(port), "--appid", APPID, "--secret", SECRET,
            "--publish-status", "4"]  # fmt: skip
    process = start_process(
        args, base_env(), tmp_path / "wechat.log", f"http://127.0.0.1:{port}/_admin/faults"
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/cgi-bin/", timeout=10) as http:
            body = {"grant_type": "client_credential", "appid": APPID, "secret": "wrong"}
            assert http.post("stable_token", json=body).json()["errcode"] == 40125
            token = http.post("stable_token", json={**body, "secret": SECRET}).json()
            auth = {"access_token": token["access_token"]}
            cover = http.post(
                "material/add_material", params={**auth, "type": "image"},
                files={"media": ("c.png", PNG)},
            ).json()["media_id"]  # fmt: skip
            article = {"title": "标题", "content": "<p>正文</p>", "thumb_media_id": cover}
            draft = http.post("draft/add", params=auth, json={"articles": [article]}).json()
            job = http.post("freepublish/submit", params=auth, json=draft).json()
            outcome = http.post("freepublish/get", params=auth, json=job).json()
        assert outcome["publish_status"] == 4 and outcome["fail_idx"] == [1]
        assert SECRET not in process.output()
    finally:
        process.stop()
