"""The FastAPI application: keys, limits, errors, health, the web page; routes live beside it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import resources
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, Security, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles

from veil.errors import (
    GalleryKeyError,
    ImageTooLargeError,
    ModelIntegrityError,
    ModelNotPulledError,
    OutputError,
    VeilError,
)
from veil.service._apikeys import ApiKey
from veil.service._schemas import ErrorOut, HealthOut, VersionOut
from veil.service._settings import ServiceSettings
from veil.service._store import Store
from veil.service._worker import WorkerPool, is_dead_worker

__all__ = ["API_VERSION", "ServiceState", "create_app"]

logger = logging.getLogger(__name__)

API_VERSION = "1"
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in (
        (401, "No API key, or an unknown or revoked one."),
        (413, "A photo over the byte or megapixel limit."),
        (415, "An upload whose bytes are not an image."),
        (422, "A photo veil cannot use (corrupt, no face where one is needed) or a bad option."),
        (429, "Too many requests for this key; see Retry-After."),
    )
}
"""Responses every authenticated endpoint may give, documented once for the OpenAPI schema."""


class RateLimiter:
    """A token bucket per API key: ``per_minute`` requests a minute, bursts up to as many."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def wait_s(self, key_id: str) -> float:
        """0 if the request may go ahead (and count it), else the seconds until it may."""
        now = time.monotonic()
        rate = self.per_minute / 60.0
        with self._lock:
            tokens, then = self._buckets.get(key_id, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - then) * rate)
            if tokens < 1.0:
                self._buckets[key_id] = (tokens, now)
                return (1.0 - tokens) / rate
            self._buckets[key_id] = (tokens - 1.0, now)
            return 0.0


@dataclass
class ServiceState:
    """What the routes share: settings, the store, the rate limiter and per-gallery locks."""

    settings: ServiceSettings
    store: Store
    limiter: RateLimiter
    gallery_locks: dict[str, threading.Lock] = field(default_factory=dict)
    locks_lock: threading.Lock = field(default_factory=threading.Lock)

    def gallery_lock(self, file: str) -> threading.Lock:
        with self.locks_lock:
            return self.gallery_locks.setdefault(file, threading.Lock())


def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.veil
    return state


_bearer = HTTPBearer(auto_error=False, description="An API key from `veil keys create NAME`.")


def require_key(
    state: Annotated[ServiceState, Depends(get_state)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> ApiKey:
    """The caller's API key (401 without a valid one, 429 over its rate)."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise HTTPException(401, "missing API key: send the header Authorization: Bearer KEY", challenge)
    key = state.store.check_key(credentials.credentials)
    if key is None:
        raise HTTPException(401, "unknown or revoked API key", challenge)
    wait_s = state.limiter.wait_s(key.id)
    if wait_s > 0:
        raise HTTPException(
            429,
            f"over {state.limiter.per_minute} requests a minute for this key; retry in {wait_s:.1f} s",
            {"Retry-After": str(max(1, round(wait_s)))},
        )
    return key


def _status_of(error: VeilError) -> int:
    if isinstance(error, ImageTooLargeError):
        return status.HTTP_413_CONTENT_TOO_LARGE
    if isinstance(error, ModelNotPulledError | ModelIntegrityError):
        return status.HTTP_503_SERVICE_UNAVAILABLE
    if isinstance(error, OutputError | GalleryKeyError):
        return status.HTTP_500_INTERNAL_SERVER_ERROR  # the server's own files: not the client's fault
    return status.HTTP_422_UNPROCESSABLE_CONTENT


class _BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(status.HTTP_413_CONTENT_TOO_LARGE, f"request body over the {limit} byte limit")


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BodyLimit:
    """Refuse request bodies over a limit before they are read: by Content-Length, else as they stream."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            response = JSONResponse({"detail": _BodyTooLarge(self.limit).detail}, status_code=413)
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _BodyTooLarge(self.limit)
            return message

        await self.app(scope, counted, send)


def _janitor(state: ServiceState, stop: threading.Event) -> None:
    """Queue again the jobs of dead workers, and delete expired jobs, until ``stop``."""
    while True:
        try:
            state.store.requeue_stale(is_dead_worker)
            state.store.expire()
        except Exception:  # the janitor's edge: log and try again next round
            logger.exception("janitor round failed")
        if stop.wait(max(1.0, 2 * state.settings.poll_s)):
            return


def create_app(settings: ServiceSettings) -> FastAPI:
    """The veil web service: the ``/v1`` API, its OpenAPI schema and the web page at ``/``.

    Starting the app (its lifespan) creates the data folder and tables and starts
    ``settings.workers`` job processes and a janitor thread; stopping it stops them.
    """
    from veil import __version__
    from veil.service._galleries import ensure_key
    from veil.service._galleries import router as galleries_router
    from veil.service._jobs_api import router as jobs_router
    from veil.service._photos import router as photos_router

    state = ServiceState(settings, Store(settings), RateLimiter(settings.rate_per_minute))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.store.open()
        ensure_key(settings)
        pool = WorkerPool(settings)
        pool.start()
        stop = threading.Event()
        janitor = threading.Thread(target=_janitor, args=(state, stop), name="veil-janitor", daemon=True)
        janitor.start()
        logger.info("veil service started: data in %s, %d workers", settings.data_dir, settings.workers)
        try:
            yield
        finally:
            stop.set()
            pool.stop()
            janitor.join(5.0)
            state.store.close()

    app = FastAPI(
        title="veil",
        version=__version__,
        summary="Face privacy as a service: detect, anonymize, cloak, verify and identify faces.",
        description=(
            "Every endpoint except `GET /v1/health` needs an API key (`veil keys create NAME`), "
            "sent as `Authorization: Bearer KEY`. Photos are uploaded as multipart form data in "
            "the field `file`; their type is read from the bytes. Jobs, their uploads and results "
            "are deleted when the job is deleted or expires."
        ),
        lifespan=lifespan,
        openapi_url="/v1/openapi.json",
        docs_url="/v1/docs",
        redoc_url=None,
    )
    app.state.veil = state
    body_limit = settings.max_upload_bytes * (settings.max_files + 1) + 1024 * 1024
    app.add_middleware(BodyLimit, limit=body_limit)

    @app.exception_handler(VeilError)
    async def veil_error(request: Request, error: VeilError) -> JSONResponse:
        code = _status_of(error)
        if code >= 500:
            logger.error("%s %s: %s", request.method, request.url.path, error)
        return JSONResponse({"detail": str(error)}, status_code=code)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            ".".join(str(part) for part in problem.get("loc", ()) if part != "body")
            + f": {problem.get('msg')}"
            for problem in error.errors()
        )
        return JSONResponse({"detail": problems or "invalid request"}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        logger.exception("%s %s: unexpected error", request.method, request.url.path)
        return JSONResponse({"detail": "internal error (see the server log)"}, status_code=500)

    @app.get("/v1/health", tags=["service"])
    def health() -> HealthOut:
        """Whether the service runs; needs no API key."""
        return HealthOut(status="ok")

    @app.get("/v1/version", tags=["service"], responses=ERRORS)
    def version(key: Annotated[ApiKey, Depends(require_key)]) -> VersionOut:
        """The veil version and the API version."""
        return VersionOut(veil=__version__, api=API_VERSION)

    app.include_router(photos_router, prefix="/v1", responses=ERRORS)
    app.include_router(jobs_router, prefix="/v1", responses=ERRORS)
    app.include_router(galleries_router, prefix="/v1", responses=ERRORS)

    @app.get("/", include_in_schema=False)
    def page() -> HTMLResponse:
        html = resources.files("veil.service").joinpath("static/index.html").read_text(encoding="utf-8")
        return HTMLResponse(html, headers=_PAGE_HEADERS)

    app.mount("/static", StaticFiles(packages=[("veil.service", "static")]), name="static")
    return app


_PAGE_HEADERS = {
    # The page runs only its own script and shows only its own and local (blob:) images.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; script-src 'self'; style-src 'self'; "
        "connect-src 'self' blob:; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
