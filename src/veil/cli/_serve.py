"""``veil serve``: the web service and its page."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from veil.cli._common import fail_usage

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        help="Folder for the database, uploads, results and galleries.",
        show_default="$VEIL_HOME/service",
    ),
]
DatabaseOption = Annotated[
    str | None,
    typer.Option(
        envvar="VEIL_DATABASE",
        help="PostgreSQL DSN, postgresql://user:pass@host/db (needs psycopg).",
        show_default="SQLite",
    ),
]


# The defaults repeat ServiceSettings' (a test checks they agree): importing veil.service
# here would load FastAPI for every ``veil`` command.
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    data_dir: DataDirOption = None,
    database: DatabaseOption = None,
    workers: Annotated[int, typer.Option(help="Job worker processes (cloak, large anonymize).")] = 1,
    max_upload_mb: Annotated[float, typer.Option(help="Largest photo, in megabytes.")] = 20.0,
    max_megapixels: Annotated[float, typer.Option(help="Largest photo, in megapixels.")] = 50.0,
    sync_max_megapixels: Annotated[
        float, typer.Option(help="Anonymize answers at once below this, else makes a job.")
    ] = 16.0,
    rate_per_minute: Annotated[int, typer.Option(help="Requests per API key per minute.")] = 600,
    job_ttl_s: Annotated[
        float, typer.Option(help="Seconds a finished job and its photos are kept.")
    ] = 3600.0,
) -> None:
    """Serve the HTTP API (/v1, schema at /v1/openapi.json) and the web page (/) until Ctrl-C."""
    from veil.service import ServiceSettings, default_data_dir
    from veil.service import serve as run_server

    if workers < 0 or max_upload_mb <= 0 or max_megapixels <= 0 or rate_per_minute <= 0 or job_ttl_s <= 0:
        raise fail_usage("--workers must be >= 0, and the limits and --job-ttl-s positive")
    settings = ServiceSettings(
        data_dir=(data_dir or default_data_dir()).resolve(),
        database=database,
        max_upload_bytes=int(max_upload_mb * 1024 * 1024),
        max_megapixels=max_megapixels,
        sync_max_megapixels=sync_max_megapixels,
        rate_per_minute=rate_per_minute,
        job_ttl_s=job_ttl_s,
        workers=workers,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    typer.echo(f"veil serve: http://{host}:{port}/ (data in {settings.data_dir})", err=True)
    if host not in {"127.0.0.1", "localhost", "::1"}:
        typer.echo(
            "note: plain HTTP; put a TLS proxy in front, or API keys and photos cross the network in clear",
            err=True,
        )
    run_server(settings, host=host, port=port)
