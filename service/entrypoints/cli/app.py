"""The `disclosure` application and what its commands share: settings, the container,
failing with a message in Chinese and English.
"""

from __future__ import annotations

from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console

from service.logs import configure_logging
from service.settings import Settings

app = typer.Typer(help="政府信息公开报送服务 The disclosure service.", no_args_is_help=True)
simulate_app = typer.Typer(
    help="运行目的地模拟器 Run a simulator of a destination.", no_args_is_help=True
)
app.add_typer(simulate_app, name="simulate")
schemas_app = typer.Typer(
    help="发布的 JSON Schema 与问题代码表 The published JSON Schemas and finding codes.",
    no_args_is_help=True,
)
app.add_typer(schemas_app, name="schemas")
console = Console()
err_console = Console(stderr=True)

# A USCC of all zeros passes the check; it stands in when validating without a body.
NO_ORG_CODE = "0" * 18


def load_settings() -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        err_console.print(f"[red]配置有误 Invalid settings:[/red]\n{_settings_errors(exc)}")
        raise typer.Exit(2) from exc
    configure_logging(settings.log_format, settings.log_level)
    return settings


def _settings_errors(exc: ValidationError) -> str:
    """Each wrong setting and what is wrong with it — never the value given, which may
    be a secret (a token in DISCLOSURE_TOKENS)."""
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in error["loc"])
        lines.append(f"  DISCLOSURE_{where.upper()}: {error['msg']}")
    return "\n".join(lines)


def fail(message_zh: str, message_en: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[red]{message_zh}[/red]\n{message_en}")
    return typer.Exit(code)


def load_container() -> Any:
    from service.bootstrap import build_container
    from service.configured import ConfigurationError
    from service.orgs import RegistryError

    try:
        return build_container(load_settings())
    except (ConfigurationError, RegistryError) as exc:
        raise fail("配置有误", str(exc)) from exc
