"""What district officials call with their token: checkpoints, enrolment codes, reports, tracing."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, Field
from starlette.concurrency import run_in_threadpool

from server import reports, roles, scope, tracing
from server.auth import official_auth
from server.body import read_limited
from server.checkpoint_import import import_checkpoints, read_csv_file
from server.dates import parse_day
from server.enrolment import create_enroll_code
from server.http_errors import ERROR_RESPONSES
from server.places import list_checkpoints
from sync.protocol import NO_NUL, ErrorBody

router = APIRouter(prefix="/api/v1", tags=["officials"])
Official = Annotated[roles.Official, Depends(official_auth)]
CSV_LIMIT = 16 * 1024 * 1024

WITH_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    404: {"model": ErrorBody, "description": "No such district, commune or checkpoint."},
}


class CheckpointOut(BaseModel):
    code: str
    name: str
    commune: str
    district: str
    province: str
    created_at: date
    active: bool


@router.get("/checkpoints", response_model=list[CheckpointOut], responses=WITH_NOT_FOUND)
def checkpoints(
    request: Request,
    _official: Official,
    district: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,
    province: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,
) -> list[CheckpointOut]:
    rows = list_checkpoints(request.app.state.engine, district, province)
    return [CheckpointOut(**row, created_at=row["created_on"]) for row in rows]


class ImportResult(BaseModel):
    created: int
    updated: int
    unchanged: int


@router.post(
    "/checkpoints/import",
    response_model=ImportResult,
    responses={**ERROR_RESPONSES, 413: {"model": ErrorBody, "description": "CSV larger than 16 MiB."}},
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_csv(request: Request, official: Official) -> ImportResult:
    """Create or update checkpoints from CSV: `code,name,commune,district,province,created_at`. District officials only."""
    official.require_manage()
    body = await read_limited(request.stream(), request.headers.get("content-encoding"), CSV_LIMIT, None)
    summary = await run_in_threadpool(import_checkpoints, request.app.state.engine, read_csv_file(body, "CSV"))
    return ImportResult(created=summary.created, updated=summary.updated, unchanged=summary.unchanged)


class EnrollCodeOut(BaseModel):
    code: str
    expires_at: datetime
    qr: str = Field(description="The text of the enrolment QR code: server URL and code.")


@router.post("/checkpoints/{code}/enroll-code", response_model=EnrollCodeOut, responses=WITH_NOT_FOUND)
def enroll_code(
    request: Request,
    official: Official,
    code: Annotated[str, Path(min_length=1, max_length=64, pattern=NO_NUL)],
    valid_hours: Annotated[float | None, Query(gt=0, le=720)] = None,
) -> EnrollCodeOut:
    """A single-use enrolment code for a kiosk at checkpoint `code`. District officials only."""
    official.require_manage()
    settings = request.app.state.settings
    hours = valid_hours or settings.enrolment.code_valid_hours
    made = create_enroll_code(request.app.state.engine, code, timedelta(hours=hours), settings.public_url, official.actor)
    return EnrollCodeOut(code=made.code, expires_at=made.expires_at, qr=made.qr)


DistrictQuery = Annotated[str, Query(min_length=1, max_length=100, pattern=NO_NUL, description="e.g. Huyện Bù Đăng")]
ProvinceQuery = Annotated[str | None, Query(max_length=100, pattern=NO_NUL, description="When the district name is not unique.")]
# A string, parsed by server.dates: officials paste dd/mm/yyyy from their spreadsheets, and
# a wrong date is answered with the field and both forms, not pydantic's generic 422.
DayQuery = Annotated[
    str | None,
    Query(
        max_length=40,
        pattern=NO_NUL,
        examples=["2026-11-23", "23/11/2026"],
        description="Last day of the window (Vietnam time), YYYY-MM-DD or dd/mm/yyyy; default today.",
    ),
]


def _day(value: str | None, field: str) -> date:
    return parse_day(value, field) if value else reports.today_local()


@router.get("/reports/communes", response_model=reports.CommuneReport, responses=WITH_NOT_FOUND)
def commune_report(
    request: Request, official: Official, district: DistrictQuery, week_ending: DayQuery = None, province: ProvinceQuery = None
) -> reports.CommuneReport:
    """The district table: per commune registered, new, visits, active checkpoints and the active ratio (%).
    A commune official gets their commune's row only."""
    return scope.commune_report(request.app.state.engine, official, district, _day(week_ending, "week_ending"), province)


@router.get("/reports/checkpoints", response_model=reports.CheckpointReport, responses=WITH_NOT_FOUND)
def checkpoint_report(
    request: Request,
    official: Official,
    district: DistrictQuery,
    week_ending: DayQuery = None,
    province: ProvinceQuery = None,
    commune: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,
) -> reports.CheckpointReport:
    """Per checkpoint: visits in the window, last visit, last time one of its kiosks sent anything."""
    return scope.checkpoint_report(
        request.app.state.engine, official, district, _day(week_ending, "week_ending"), province, commune
    )


@router.get("/reports/year-to-date", response_model=reports.YearReport, responses=WITH_NOT_FOUND)
def year_report(
    request: Request, official: Official, district: DistrictQuery, through: DayQuery = None, province: ProvinceQuery = None
) -> reports.YearReport:
    """Visits per commune from 1 January to ``through``."""
    return scope.year_report(request.app.state.engine, official, district, _day(through, "through"), province)


class _TraceWindow(BaseModel):
    start: AwareDatetime = Field(description="Inclusive, ISO 8601 with zone.")
    end: AwareDatetime = Field(description="Exclusive.")
    reason: str = Field(min_length=5, max_length=500, pattern=NO_NUL, description="Why: written to the audit log.")


class TraceCheckpointRequest(_TraceWindow):
    checkpoint: str = Field(min_length=1, max_length=64, pattern=NO_NUL)


class TracePersonRequest(_TraceWindow):
    id_number: str | None = Field(None, max_length=20, pattern=NO_NUL, description="CCCD (12 digits) or CMND (9).")
    phone: str | None = Field(None, max_length=20, pattern=NO_NUL)
    card_number: int | None = Field(None, ge=1, le=2**32 - 1, description="District disease-control card number.")


# POST, not GET: identifiers and reasons must not end up in URLs and access logs.
@router.post("/trace/checkpoint", response_model=tracing.TraceResult, responses=WITH_NOT_FOUND)
def trace_checkpoint(request: Request, official: Official, body: TraceCheckpointRequest) -> tracing.TraceResult:
    """Who passed a checkpoint in a window. Audited with the official's name and reason. Roles district and tracer."""
    official.require_tracing()
    return tracing.at_checkpoint(request.app.state.engine, official.actor, body.reason, body.checkpoint, body.start, body.end)


@router.post("/trace/person", response_model=tracing.TraceResult, responses=ERROR_RESPONSES)
def trace_person(request: Request, official: Official, body: TracePersonRequest) -> tracing.TraceResult:
    """Where one person (ID number or phone) was seen in a window. Audited with the official's name and reason.
    Roles district and tracer."""
    official.require_tracing()
    return tracing.person(
        request.app.state.engine,
        official.actor,
        body.reason,
        body.start,
        body.end,
        id_number=body.id_number,
        phone=body.phone,
        card_number=body.card_number,
    )
