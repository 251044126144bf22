"""deploy/kubernetes: what `make deploy-lint` (kubernetes-validate against the API's
schemas) cannot say. Every pod runs hardened as the image's user, one release of the
image everywhere, the schema migrated before the API and workers start, probes and
budgets in place, and the network closed but for what the service uses."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
import yaml

from service.entrypoints.cli import app

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml"))
OBJECTS: list[dict[str, Any]] = [
    o for path in MANIFESTS for o in yaml.safe_load_all(path.read_text("utf-8")) if o
]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]
IMAGE_USER = re.search(r"^USER (\d+):(\d+)$", (ROOT / "Dockerfile").read_text("utf-8"), re.M)


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in OBJECTS if o["kind"] == kind}


def pod_templates() -> Iterator[tuple[str, dict[str, Any]]]:
    for o in OBJECTS:
        spec = o.get("spec", {})
        template = spec.get("template") or spec.get("jobTemplate", {}).get("spec", {}).get(
            "template"
        )
        if template:
            yield o["metadata"]["name"], template


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod["spec"].get("initContainers", []), *pod["spec"]["containers"]]


def component(name: str) -> dict[str, Any]:
    return next(t for n, t in pod_templates() if n == name)


def test_every_pod_runs_as_the_images_user_hardened() -> None:
    assert IMAGE_USER is not None
    uid, gid = int(IMAGE_USER.group(1)), int(IMAGE_USER.group(2))
    for name, pod in pod_templates():
        spec = pod["spec"]
        assert spec["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": uid,
            "runAsGroup": gid,
            "fsGroup": gid,
            "seccompProfile": {"type": "RuntimeDefault"},
        }, name
        assert (spec["automountServiceAccountToken"], spec["enableServiceLinks"]) == (False,) * 2
        emptied = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for container in containers(pod):
            assert container["securityContext"] == {
                "runAsNonRoot": True,
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            }, f"{name}/{container['name']}"
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get("/tmp") in emptied, f"{name}/{container['name']} has no /tmp"


def test_every_container_runs_one_release_of_the_image_under_its_tini() -> None:
    images = {c["image"] for _, pod in pod_templates() for c in containers(pod)}
    assert len(images) == 1
    assert images.pop().endswith(f"/disclosure:{VERSION}")
    assert [c["name"] for _, p in pod_templates() for c in containers(p) if "command" in c] == []
    assert f"disclosure-migrate-{VERSION}" in of_kind("Job")
    compose = (ROOT / "deploy" / "compose.yaml").read_text("utf-8")
    assert f"image: disclosure:${{DISCLOSURE_IMAGE_TAG:-{VERSION}}}" in compose


def test_every_command_is_one_the_disclosure_command_has() -> None:
    commands = typer.main.get_command(app).commands
    used = {c["args"][1] for _, p in pod_templates() for c in containers(p)}
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text("utf-8"))
    used |= {s["command"][1] for s in compose["services"].values() if "build" in s}
    assert used <= set(commands), used - set(commands)
    assert used >= {"migrate", "serve", "worker", "tick"}


def test_the_api_and_the_workers_start_only_on_a_migrated_schema() -> None:
    for name in ("disclosure-api", "disclosure-worker"):
        init = component(name)["spec"]["initContainers"]
        assert [c["args"] for c in init] == [["disclosure", "migrate"]], name
    (job,) = of_kind("Job").values()
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["disclosure", "migrate"]


def test_the_api_is_probed_on_healthz_and_readyz_and_every_container_has_limits() -> None:
    (api,) = component("disclosure-api")["spec"]["containers"]
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    graces = {n: p["spec"].get("terminationGracePeriodSeconds", 30) for n, p in pod_templates()}
    assert graces["disclosure-worker"] >= 120 and graces["disclosure-tick"] >= 120
    for _, pod in pod_templates():
        for c in containers(pod):
            assert {"cpu", "memory"} <= c["resources"]["requests"].keys(), c["name"]
            assert {"cpu", "memory"} <= c["resources"]["limits"].keys(), c["name"]


def test_a_disruption_budget_keeps_api_and_workers_running() -> None:
    budgets = of_kind("PodDisruptionBudget")
    for name in ("disclosure-api", "disclosure-worker"):
        selected = budgets[name]["spec"]["selector"]["matchLabels"]
        assert selected.items() <= component(name)["metadata"]["labels"].items(), name


def test_only_the_api_port_is_open_and_only_to_dns_postgres_and_https_out() -> None:
    policies = of_kind("NetworkPolicy").values()

    def applying(labels: dict[str, str]) -> list[dict[str, Any]]:
        return [
            p for p in policies if p["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
        ]

    for name, pod in pod_templates():
        labels = pod["metadata"]["labels"]
        mine = applying(labels)
        assert {t for p in mine for t in p["spec"]["policyTypes"]} == {"Ingress", "Egress"}, name
        open_in = {
            port["port"] for p in mine for r in p["spec"].get("ingress", []) for port in r["ports"]
        }
        assert open_in == ({8000} if labels["app.kubernetes.io/component"] == "api" else set())
        out = {
            port["port"] for p in mine for r in p["spec"].get("egress", []) for port in r["ports"]
        }
        assert out == {53, 5432, 443}, name
