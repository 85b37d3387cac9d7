"""What kiosks call: a health probe, enrolment, who-am-I for a device, and the batch upload of visits."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from server.auth import Forbidden, device_auth
from server.body import BodyTooLarge, read_limited
from server.enrolment import DeviceAuth, redeem
from server.errors import UserError, both
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
    answer = redeem(request.app.state.engine, body.code, body.nonce, body.signing_key)
    return answer.model_copy(update={"district_key": request.app.state.keyring.announced()})


class _Envelope(BaseModel):
    """The batch as first read: the envelope is checked whole, each visit later on its own."""

    device_id: str
    visits: list[Any]


def _envelope(body: bytes) -> _Envelope:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UserError("invalid_json", both("Nội dung không phải JSON", "body is not JSON")) from None
    except RecursionError:
        raise too_deep() from None
    envelope = _Envelope.model_validate(data)  # ValidationError → 422 without values
    if len(envelope.visits) > MAX_BATCH_VISITS:
        raise BodyTooLarge(
            "too_many_visits",
            both(f"Tối đa {MAX_BATCH_VISITS} lượt mỗi gói, hãy chia nhỏ", f"at most {MAX_BATCH_VISITS} visits per batch; split it"),
        )
    return envelope


BATCH_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    403: {"model": ErrorBody, "description": "The batch names another device than the token's."},
    413: {"model": ErrorBody, "description": f"More than {MAX_BATCH_VISITS} visits or {MAX_BATCH_BYTES} bytes: split."},
    415: {"model": ErrorBody, "description": "Content-Encoding other than gzip or identity."},
    429: {
        "model": ErrorBody,
        "description": "Too many batches from this device; see Retry-After.",
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
    wait = state.limiter.acquire(device.device_id)
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
            both("Mã thiết bị trong gói khác với mã xác thực", "device_id in the batch is not the token's device"),
        )
    now = datetime.now(timezone.utc)
    rules = IngestRules.from_settings(state.settings, state.keyring)
    results = await run_in_threadpool(ingest, state.engine, device, envelope.visits, rules, now)
    return BatchResponse(server_time=datetime.now(timezone.utc), results=results, district_key=state.keyring.announced())
