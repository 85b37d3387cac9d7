"""HTTP error answers: one shape for all, personal data never echoed.

Every error is ``{"error", "message"}`` (see sync.protocol.ErrorBody). FastAPI's own 422
echoes the rejected input, which here is personal data, so it is replaced by one that
says where and what kind of problem, never the value.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from kiosk.catalog import bilingual
from server.db import error_kind
from server.errors import UserError
from sync.protocol import ErrorBody, FieldProblem, field_problems

log = logging.getLogger(__name__)
DATABASE_RETRY_AFTER_S = 30


class TooManyRequests(UserError):
    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "rate_limited",
            bilingual("too many requests; retry after {seconds} s", seconds=retry_after),
        )
        self.retry_after = retry_after


class ServerBusy(TooManyRequests):
    """Not this device's fault: the worker is storing as many batches as it takes (server/admission.py)."""

    def __init__(self, retry_after: int) -> None:
        message = bilingual("the server is busy; retry after {seconds} s", seconds=retry_after)
        UserError.__init__(self, "server_busy", message)
        self.retry_after = retry_after


def error_response(
    status: int, code: str, message: str, fields: list[FieldProblem] | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = ErrorBody(error=code, message=message, fields=fields).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status, headers=headers)


async def user_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UserError)
    headers = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after)
    return error_response(exc.status, exc.code, exc.message, headers=headers or None)


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    errors = exc.errors() if isinstance(exc, RequestValidationError | ValidationError) else []
    return error_response(422, "invalid_request", bilingual("invalid request"), field_problems(errors))


def too_deep() -> UserError:
    return UserError("json_too_deep", bilingual("JSON nested too deeply"))


async def recursion_error(_request: Request, _exc: Exception) -> JSONResponse:
    """JSON nested ~1,000 levels deep exhausts the parser's recursion wherever a body is read."""
    error = too_deep()
    return error_response(error.status, error.code, error.message)


async def database_error(_request: Request, exc: Exception) -> JSONResponse:
    """The database is busy or gone (a lock or statement timeout, a restart): try again later.

    Logged by class and SQLSTATE only: PostgreSQL's message can quote the row (personal data).
    """
    log.error("database error, answered 503: %s", error_kind(exc))
    return error_response(
        503,
        "database_unavailable",
        bilingual("the database is busy; try again later"),
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


async def http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None))


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Bad request (a stable code in `error`)."},
    401: {"model": ErrorBody, "description": "Missing, unknown, revoked or replaced token."},
    422: {"model": ErrorBody, "description": "Invalid parameters: where and what kind of problem, never the value."},
}
