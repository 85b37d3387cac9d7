"""Who is calling: a kiosk with its device token, or an official with theirs.

Both are Bearer tokens; they are looked up by hash. An official's token gives the same
role as their console sign-in (server/roles.py) and stops at its expiry, if it has one. A refused token answers 401 with the
reason (unknown, revoked, replaced), so a kiosk can tell its admin to enrol it again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool

from kiosk.catalog import bilingual
from server.enrolment import DeviceAuth, DeviceAuthError, authenticate
from server.errors import UserError
from server.officials import OfficialAuthError, official_for_token
from server.roles import Forbidden as Forbidden  # where the kiosk routes find it
from server.roles import Official

T = TypeVar("T")
device_bearer = HTTPBearer(
    scheme_name="DeviceToken", auto_error=False, description="The token a kiosk got from POST /api/v1/enroll."
)
official_bearer = HTTPBearer(
    scheme_name="OfficialToken", auto_error=False, description="An official's token from `checkpoint-server official add`."
)


class Unauthorised(UserError):
    status = 401


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorised("token_missing", bilingual("missing bearer token"))
    return credentials.credentials


async def _looked_up(request: Request, check: Callable[[Connection, str], T], token: str) -> T:
    """Run a token check against the database off the event loop."""

    def lookup() -> T:
        with request.app.state.engine.connect() as conn:
            return check(conn, token)

    return await run_in_threadpool(lookup)


async def device_auth(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(device_bearer)]
) -> DeviceAuth:
    try:
        return await _looked_up(request, authenticate, _token(credentials))
    except DeviceAuthError as exc:
        raise Unauthorised(exc.code, exc.message) from None


async def official_auth(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(official_bearer)]
) -> Official:
    """The official, with their role and place."""
    try:
        return await _looked_up(request, official_for_token, _token(credentials))
    except OfficialAuthError:
        raise Unauthorised("token_invalid", bilingual("unknown, expired or revoked official token")) from None
