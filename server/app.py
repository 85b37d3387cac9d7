"""The FastAPI application: the routes, error handlers, an OpenAPI spec that tells the truth, and
what runs beside them while it serves (the retention timer)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from kiosk.catalog import bilingual
from server import retention, routes_kiosk, routes_official
from server.admission import Admission, Gate
from server.cards import configured_key
from server.config import Settings
from server.console import officials_pages
from server.console import routes as console
from server.errors import UserError
from server.http_errors import database_error, http_error, recursion_error, user_error, validation_error
from server.keys import Keyring
from server.ratelimit import limiter_for
from sync.protocol import BatchRequest


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's spec plus the batch body, which the route reads itself (gzip, limits, per-visit checks)."""
    if app.openapi_schema is None:
        spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        batch = BatchRequest.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(batch.pop("$defs", {}))
        schemas["BatchRequest"] = batch
        app.openapi_schema = spec
    return app.openapi_schema


def _lifespan(settings: Settings) -> Any:
    """While the app runs: the retention timer (server/retention.py), cancelled at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        timer = asyncio.create_task(retention.purge_periodically(lambda: app.state.engine, settings.retention))
        try:
            yield
        finally:
            timer.cancel()
            with suppress(asyncio.CancelledError):
                await timer

    return lifespan


STATIC_DIR = Path(console.__file__).with_name("static")


async def any_user_error(request: Request, exc: Exception) -> Response:
    """The API answers JSON; a console page answers a page in words."""
    if request.url.path.startswith("/api/") or not isinstance(exc, UserError):
        return await user_error(request, exc)
    return console.error_page(request, exc)


async def any_validation_error(request: Request, exc: Exception) -> Response:
    """A console address with a value that is not one (``/silent?days=abc``): words, not JSON."""
    if request.url.path.startswith("/api/") or request.url.path.startswith("/openapi"):
        return await validation_error(request, exc)
    bad = UserError("bad_request", bilingual("a value in the page address is not valid"))
    return console.error_page(request, bad)


async def sign_in_needed(request: Request, exc: Exception) -> Response:
    return RedirectResponse(exc.to if isinstance(exc, console.SignInNeeded) else "/login", status_code=303)


def create_app(settings: Settings, engine: Engine) -> FastAPI:
    app = FastAPI(
        lifespan=_lifespan(settings),
        title="checkpoint-server",
        version="1",
        description="District server for checkpoint kiosks: enrolment, idempotent batch ingest, reports, tracing.",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.keyring = Keyring(settings.keys_dir)
    app.state.card_key = configured_key(settings)  # read once: a broken key file stops the server at start
    app.add_middleware(Admission, gate=Gate.from_limits(settings.limits))
    app.state.limiter = limiter_for(engine, settings.limits.device_batches_per_s, settings.limits.device_burst)
    app.add_exception_handler(UserError, any_user_error)
    app.add_exception_handler(console.SignInNeeded, sign_in_needed)
    app.add_exception_handler(RequestValidationError, any_validation_error)
    app.add_exception_handler(ValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RecursionError, recursion_error)
    app.add_exception_handler(sa.exc.DBAPIError, database_error)
    app.include_router(routes_kiosk.router)
    app.include_router(routes_official.router)
    app.include_router(console.router)
    app.include_router(officials_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
