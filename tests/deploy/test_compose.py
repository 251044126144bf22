"""deploy/compose.yaml follows the Compose Specification and starts from a clean checkout:
what it mounts and builds from is in the repository, every variable it reads has a default
or a line in env.example, images are pinned, the service waits for its schema and bucket,
and every process is the container's own command (no shell in between).

compose-spec.json is the Compose Specification's JSON Schema (compose-spec/compose-spec,
Apache-2.0) as shipped in the npm package dclint 3.1.0 (schemas/compose.schema.json,
published 2026-03-24; sha256 46b7d35f19dd93a05f8fea530291bf84d881c1791ec167ecf0e6fb94e639d496),
the newest copy a package registry had. To refresh it: `npm pack dclint`, copy that file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator

HERE = Path(__file__).resolve().parent
DEPLOY = HERE.parents[1] / "deploy"
COMPOSE_TEXT = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
# The service's own containers: each needs the schema migrated and the bucket made first.
APP = ("api", "worker", "tick")
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}; $$ escapes.
VARIABLE = re.compile(r"(?<!\$)\$\{(\w+)(?:(:?-)([^}]*)|:?\?[^}]*)?\}")
SHELLS = {"sh", "bash", "ash", "/bin/sh", "/bin/bash", "/bin/ash"}


def with_defaults(value: str) -> str:
    """`value` as compose reads it with nothing set: each ${NAME:-default} its default;
    a variable without a default stays as it is."""
    return VARIABLE.sub(lambda m: m.group(3) if m.group(2) else m.group(0), value)


def test_the_compose_file_follows_the_compose_specification() -> None:
    schema = json.loads((HERE / "compose-spec.json").read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    errors = Draft7Validator(schema).iter_errors(COMPOSE)
    assert [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors] == []


def bind_sources(service: dict[str, Any]) -> list[str]:
    sources = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            sources += [volume["source"]] if volume.get("type") == "bind" else []
        else:  # SOURCE:TARGET[:MODE], where a SOURCE's default may hold a colon
            source = with_defaults(volume).split(":", 1)[0]
            sources += [source] if source.startswith((".", "/", "~")) else []
    return sources


def host_paths(service: dict[str, Any]) -> list[str]:
    """What the service reads from the host: bind mounts, env files it requires, the
    build context and its Dockerfile."""
    paths = bind_sources(service)
    env_files = service.get("env_file", [])
    for env_file in [env_files] if isinstance(env_files, str) else env_files:
        entry = {"path": env_file} if isinstance(env_file, str) else env_file
        if entry.get("required", True):
            paths.append(entry["path"])
    build = service.get("build")
    if build is not None:
        build = {"context": build} if isinstance(build, str) else build
        context = build.get("context", ".")
        paths += [context, f"{context}/{build.get('dockerfile', 'Dockerfile')}"]
    return paths


def test_every_host_file_it_mounts_or_builds_from_is_in_the_repository() -> None:
    missing = [
        f"{name}: {path}"
        for name, service in SERVICES.items()
        for path in map(with_defaults, host_paths(service))
        if "${" in path or not (DEPLOY / path).exists()
    ]
    assert missing == []
    assert "../examples/orgs.yaml" in map(with_defaults, host_paths(SERVICES["api"]))


def test_every_variable_has_a_default_or_a_line_in_env_example() -> None:
    listed = set(re.findall(r"^(\w+)=", (DEPLOY / "env.example").read_text("utf-8"), re.M))
    needed = {m.group(1) for m in VARIABLE.finditer(COMPOSE_TEXT) if not m.group(2)}
    assert needed - listed == set()


def test_the_service_starts_after_its_schema_is_migrated_and_its_bucket_made() -> None:
    for name in APP:
        depends_on = SERVICES[name]["depends_on"]
        assert depends_on["migrate"]["condition"] == "service_completed_successfully", name
        assert depends_on["minio-setup"]["condition"] == "service_completed_successfully", name
        assert depends_on["postgres"]["condition"] == "service_healthy", name
    assert SERVICES["migrate"]["command"] == ["disclosure", "migrate"]
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert SERVICES["minio-setup"]["depends_on"]["minio"]["condition"] == "service_healthy"
    assert {SERVICES[s]["restart"] for s in ("migrate", "minio-setup")} == {"no"}


def test_every_image_is_pinned_to_a_version() -> None:
    unpinned = []
    for name, service in SERVICES.items():
        image = with_defaults(service.get("image", ""))
        repository, _, tag = image.rpartition(":")
        if "@sha256:" not in image and (not repository or "/" in tag or tag == "latest"):
            unpinned.append(f"{name}: {image or 'no image'}")
    assert unpinned == []


def test_every_process_is_run_in_exec_form_without_a_shell() -> None:
    for name, service in SERVICES.items():
        for key in ("command", "entrypoint"):
            if key in service:
                assert isinstance(service[key], list), f"{name}.{key} is a string"
                assert service[key][0] not in SHELLS, f"{name}.{key} runs a shell"
        test = service.get("healthcheck", {}).get("test", ["CMD"])  # none: the image's own
        assert test[0] == "CMD", f"{name}'s healthcheck runs a shell"
