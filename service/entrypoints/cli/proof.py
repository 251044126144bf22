"""`disclosure proof`: the packages' proof of what was received (可信时间戳).

disclosure proof backfill     every acknowledged version without a tag manifest gets one
                              written, and each without a stamp job gets one queued (the
                              tick stamps them); a token already archived is recorded
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from service.catalog.records import AuditEvent
from service.domain.errors import ServiceError
from service.entrypoints.cli.app import app, console, err_console, fail, load_container

proof_app = typer.Typer(
    help="公开证明：可信时间戳 Proof of publication: trusted timestamps.", no_args_is_help=True
)
app.add_typer(proof_app, name="proof")


def _actor() -> str:
    """Who ran the command, as the audit log names them: the system user."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name for this uid (a bare container)
        return "cli"


@proof_app.command()
def backfill(
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出 output JSON")] = False,
) -> None:
    """为已有归档包补写标签清单并排队盖时间戳 Write missing tag manifests and queue their timestamps."""
    from dataclasses import asdict

    from rich.progress import Progress

    from service.archive.packages.proof import Proofs
    from service.usecases.recovery.stamps import restore_stamps

    container = load_container()
    try:
        versions = container.restore.version_states()
        with Progress(console=err_console, transient=True) as progress:
            task = progress.add_task("补写时间戳 backfilling timestamps", total=len(versions))
            found = restore_stamps(
                container.catalog, Proofs(container.store), versions,
                progress=lambda _: progress.advance(task),
            )  # fmt: skip
        container.catalog.audit(
            AuditEvent(
                actor=_actor(),
                role="admin",
                action="timestamps.backfilled",
                subject="archive",
                detail=asdict(found),
            )
        )
    except ServiceError as exc:
        raise fail(exc.message_zh, exc.message_en) from exc
    finally:
        container.close()
    if as_json:
        console.print_json(json.dumps(asdict(found)))
        raise typer.Exit(1 if found.unreadable else 0)
    console.print(
        f"补写标签清单 {found.tag_manifests_written} 个；待盖时间戳 {found.pending} 个；"
        f"已有时间戳 {found.stamped} 个；无效 {found.failed} 个；无法读取 {found.unreadable} 个 "
        f"Wrote {found.tag_manifests_written} tag manifests; {found.pending} timestamps queued, "
        f"{found.stamped} already stamped, {found.failed} invalid, {found.unreadable} unreadable."
    )
    raise typer.Exit(1 if found.unreadable else 0)
