"""veil as a web service: a FastAPI app over the library, its job workers and a web page.

Start it with ``veil serve``; create API keys with ``veil keys create NAME``. In Python::

    from veil.service import ServiceSettings, create_app, serve

    settings = ServiceSettings(data_dir=Path("/srv/veil"))
    key = create_api_key(settings, "uploads")    # shown once; only its hash is kept
    serve(settings, host="127.0.0.1", port=8000)

Importing this package needs FastAPI (``pip install veil``, it is a dependency)
but loads no model; the workers load theirs when the first job arrives.
"""

from __future__ import annotations

from veil.service._apikeys import ApiKey
from veil.service._app import create_app
from veil.service._serve import serve
from veil.service._settings import ServiceSettings, default_data_dir
from veil.service._store import create_api_key, list_api_keys, revoke_api_key

__all__ = [
    "ApiKey",
    "ServiceSettings",
    "create_api_key",
    "create_app",
    "default_data_dir",
    "list_api_keys",
    "revoke_api_key",
    "serve",
]
