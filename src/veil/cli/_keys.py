"""``veil keys create|revoke|list``: API keys of the web service."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from veil.cli._common import fail_usage, stderr
from veil.cli._serve import DatabaseOption, DataDirOption
from veil.errors import VeilError

if TYPE_CHECKING:
    from veil.service import ServiceSettings

keys_app = typer.Typer(help="API keys of the web service (veil serve).", no_args_is_help=True)

NameArgument = Annotated[str, typer.Argument(help="A name for the key: who or what uses it.")]


def _settings(data_dir: Path | None, database: str | None) -> ServiceSettings:
    from veil.service import ServiceSettings, default_data_dir

    return ServiceSettings(data_dir=(data_dir or default_data_dir()).resolve(), database=database)


@keys_app.command("create")
def keys_create(name: NameArgument, data_dir: DataDirOption = None, database: DatabaseOption = None) -> None:
    """Create an API key and print it (on stdout, this once: only its hash is stored)."""
    from veil.service import create_api_key

    try:
        key = create_api_key(_settings(data_dir, database), name)
    except VeilError as error:
        raise fail_usage(str(error)) from error
    typer.echo(key)
    typer.echo(
        f"created API key {name!r}; send it as: Authorization: Bearer KEY (it is not shown again)", err=True
    )


@keys_app.command("revoke")
def keys_revoke(name: NameArgument, data_dir: DataDirOption = None, database: DatabaseOption = None) -> None:
    """Revoke an API key: requests with it get 401 from now on."""
    from veil.service import revoke_api_key

    try:
        revoke_api_key(_settings(data_dir, database), name)
    except VeilError as error:
        raise fail_usage(str(error)) from error
    typer.echo(f"revoked API key {name!r}", err=True)


@keys_app.command("list")
def keys_list(data_dir: DataDirOption = None, database: DatabaseOption = None) -> None:
    """List the API keys (names and dates; the keys themselves are not stored)."""
    import datetime as dt

    from veil.service import list_api_keys

    try:
        keys = list_api_keys(_settings(data_dir, database))
    except VeilError as error:
        raise fail_usage(str(error)) from error
    table = Table("name", "created", "revoked", title="API keys")
    for key in keys:

        def when(seconds: float | None) -> str:
            return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="seconds") if seconds else ""

        table.add_row(key.name, when(key.created_at), when(key.revoked_at))
    stderr.print(table)
