"""What kiosks call: a health probe, enrolment, who-am-I for a device, and the batch upload of visits."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from kiosk.catalog import bilingual
from server.auth import Forbidden, device_auth
from server.body import BodyTooLarge, read_limited
from server.cards import trust_wire
from server.enrolment import DeviceAuth, redeem
from server.errors import UserError
from server.http_errors import ERROR_RESPONSES, TooManyRequests, too_deep
from server.ingest import IngestRules, ingest
from sync.protocol import (
    BATCH_PATH,
    DEVICE_PATH,
    ENROLL_PATH,
    HEALTH_PATH,
    MAX_BATCH_BYTES,
    MAX_BATCH_VISITS,
    BatchResponse,
    DeviceInfo,
    EnrollRequest,
    EnrollResponse,
    ErrorBody,
    Health,
    KioskHealth,
)

router = APIRouter(tags=["kiosk"])


@router.get(HEALTH_PATH, response_model=Health)
def health() -> Health:
    """Cheap probe for kiosks waiting for the network to come back; carries the server time."""
    return Health(status="ok", server_time=datetime.now(timezone.utc))


DEVICE_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Token missing, unknown, revoked or replaced (`token_*`)."},
}


@router.get(DEVICE_PATH, response_model=DeviceInfo, responses=DEVICE_RESPONSES)
def whoami(device: Annotated[DeviceAuth, Depends(device_auth)]) -> DeviceInfo:
    """The device a token belongs to: lets a kiosk check its token (``doctor``) without sending anything."""
    return DeviceInfo(device_id=device.device_id, checkpoint=device.checkpoint_code, server_time=datetime.now(timezone.utc))


ENROLL_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: ERROR_RESPONSES[400],
    404: {"model": ErrorBody, "description": "Unknown code (`enroll_code_unknown`)."},
    409: {
        "model": ErrorBody,
        "description": "Code already used (by another nonce, or its device was revoked) or "
        "expired (`enroll_code_used`, `enroll_code_expired`).",
    },
    422: ERROR_RESPONSES[422],
}


@router.post(ENROLL_PATH, response_model=EnrollResponse, responses=ENROLL_RESPONSES)
def enroll(request: Request, body: EnrollRequest) -> EnrollResponse:
    """Exchange a one-time enrolment code for a device id and token.

    With a ``nonce``, the same code and nonce again while the code is valid return the same
    device with a new token (the previous one retired): safe to resend after a lost answer.
    """
    state = request.app.state
    answer = redeem(state.engine, body.code, body.nonce, body.signing_key)
    return answer.model_copy(update={"cards": trust_wire(state.engine, state.card_key), "district_key": state.keyring.announced()})


class _Envelope(BaseModel):
    """The batch as first read: the envelope is checked whole, each visit later on its own."""

    device_id: str
    visits: list[Any]
    health: Any = None  # read on its own (_health): a health it cannot read never costs the visits


def _health(value: Any) -> KioskHealth | None:
    try:
        return KioskHealth.model_validate(value) if value is not None else None
    except ValidationError:
        return None


def _envelope(body: bytes) -> _Envelope:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UserError("invalid_json", bilingual("body is not JSON")) from None
    except RecursionError:
        raise too_deep() from None
    envelope = _Envelope.model_validate(data)  # ValidationError → 422 without values
    if len(envelope.visits) > MAX_BATCH_VISITS:
        raise BodyTooLarge(
            "too_many_visits",
            bilingual("at most {limit} visits per batch; split it", limit=MAX_BATCH_VISITS),
        )
    return envelope


BATCH_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    403: {"model": ErrorBody, "description": "The batch names another device than the token's."},
    413: {"model": ErrorBody, "description": f"More than {MAX_BATCH_VISITS} visits or {MAX_BATCH_BYTES} bytes: split."},
    415: {"model": ErrorBody, "description": "Content-Encoding other than gzip or identity."},
    429: {
        "model": ErrorBody,
        "description": "Too many batches from this device (`rate_limited`), or the server is storing as many "
        "batches as it takes (`server_busy`); see Retry-After.",
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
    },
}


@router.post(
    BATCH_PATH,
    response_model=BatchResponse,
    response_model_exclude_none=True,
    responses=BATCH_RESPONSES,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchRequest"}}},
        }
    },
)
async def upload_batch(request: Request, device: Annotated[DeviceAuth, Depends(device_auth)]) -> BatchResponse:
    """Store a batch of visits; each gets created, duplicate or rejected (code, reason).

    Body: JSON, optionally `Content-Encoding: gzip`; at most 1,000 visits and 1 MiB after
    decompression. Resending a batch is always safe: stored visits come back `duplicate`.
    """
    state = request.app.state
    wait = await run_in_threadpool(state.limiter.acquire, device.device_id)  # a database round trip on PostgreSQL
    if wait:
        raise TooManyRequests(wait)
    length = request.headers.get("content-length")
    body = await read_limited(
        request.stream(),
        request.headers.get("content-encoding"),
        MAX_BATCH_BYTES,
        int(length) if length and length.isdigit() else None,
    )
    envelope = _envelope(body)  # a ValidationError becomes a 422 that names no values
    if envelope.device_id != device.device_id:
        raise Forbidden(
            "device_mismatch",
            bilingual("device_id in the batch is not the token's device"),
        )
    now = datetime.now(timezone.utc)
    rules, health = IngestRules.from_settings(state.settings, state.keyring), _health(envelope.health)
    results = await run_in_threadpool(ingest, state.engine, device, envelope.visits, rules, now, health)
    cards = await run_in_threadpool(trust_wire, state.engine, state.card_key)
    return BatchResponse(
        server_time=datetime.now(timezone.utc), results=results, cards=cards, district_key=state.keyring.announced()
    )
