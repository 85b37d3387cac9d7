"""The FastAPI application: the routes, error handlers, an OpenAPI spec that tells the truth, and
what runs beside them while it serves (the retention timer)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException

from server import retention, routes_kiosk, routes_official
from server.admission import Admission, Gate
from server.cards import configured_key
from server.config import Settings
from server.errors import UserError
from server.http_errors import database_error, http_error, recursion_error, user_error, validation_error
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


def _lifespan(settings: Settings, engine: Engine) -> Any:
    """While the app runs: the retention timer (server/retention.py), cancelled at shutdown."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        timer = asyncio.create_task(retention.purge_periodically(engine, settings.retention))
        try:
            yield
        finally:
            timer.cancel()
            with suppress(asyncio.CancelledError):
                await timer

    return lifespan


def create_app(settings: Settings, engine: Engine) -> FastAPI:
    app = FastAPI(
        lifespan=_lifespan(settings, engine),
        title="checkpoint-server",
        version="1",
        description="District server for checkpoint kiosks: enrolment, idempotent batch ingest, reports, tracing.",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.card_key = configured_key(settings)  # read once: a broken key file stops the server at start
    app.add_middleware(Admission, gate=Gate.from_limits(settings.limits))
    app.state.limiter = limiter_for(engine, settings.limits.device_batches_per_s, settings.limits.device_burst)
    app.add_exception_handler(UserError, user_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(ValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RecursionError, recursion_error)
    app.add_exception_handler(sa.exc.DBAPIError, database_error)
    app.include_router(routes_kiosk.router)
    app.include_router(routes_official.router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
