"""Run the service with uvicorn."""

from __future__ import annotations

import logging
import tempfile

from veil.service._settings import DEFAULT_HOST, DEFAULT_PORT, ServiceSettings

__all__ = ["serve"]

logger = logging.getLogger(__name__)


def serve(settings: ServiceSettings, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve the API and the web page until interrupted (Ctrl-C or SIGTERM).

    Uploads larger than a megabyte are spooled to temporary files while they are
    parsed; they go to ``data_dir/tmp``, so nothing is written outside the data folder.
    """
    import uvicorn

    from veil.service._app import create_app

    settings.tmp_dir.mkdir(parents=True, exist_ok=True)
    # This process is the server: its temporary files (Starlette's spooled uploads) belong in data_dir.
    tempfile.tempdir = str(settings.tmp_dir)
    logger.info("serving on http://%s:%d", host, port)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", access_log=True)
