"""The console's pages. Every page needs a signed-in official (else: to the sign-in page);
every POST checks the CSRF token first; what a role may not do is refused with 403 by the
same rules as the API (server/roles.py); tracing is POST only, so no identifier or reason
ends up in a URL, a browser history or an access log."""

from __future__ import annotations

import base64
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.responses import RedirectResponse, Response

from kiosk.catalog import N_, Word, bilingual
from kiosk.clock import LOCAL_TZ
from server import audit, chart, code_sheet, enrolment, officials, places, reports, scope, sessions, silent, tracing, trend
from server.checkpoint_import import CsvError, import_checkpoints, read_csv_file
from server.console.pages import download, render, words_for
from server.console.security import (
    LANG_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    new_login_csrf,
    require_csrf,
    set_cookie,
)
from server.console.words import LANGS
from server.dates import parse_day
from server.errors import NotFound, UserError
from server.export import render as export
from server.places import checkpoint_row, commune_name, sort_key
from server.roles import Forbidden
from server.schema import checkpoints, communes, devices, districts, provinces
from server.sessions import Session

router = APIRouter(include_in_schema=False)
CSV_LIMIT = 16 * 1024 * 1024  # as the API's import
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class SignInNeeded(Exception):
    """No valid session cookie: the page answers with the sign-in page; or the official must
    choose a new password (someone else set theirs): with the password page."""

    def __init__(self, to: str = "/login") -> None:
        super().__init__(to)
        self.to = to


BEFORE_NEW_PASSWORD = ("/password", "/logout")  # all an official with a password set by someone else may do


async def current(request: Request) -> Session:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInNeeded

    def lookup() -> Session | None:
        with request.app.state.engine.connect() as conn:
            return sessions.session_for(conn, token)

    found = await run_in_threadpool(lookup)
    if found is None:
        raise SignInNeeded
    if found.must_change_password and request.url.path not in BEFORE_NEW_PASSWORD:
        raise SignInNeeded("/password")
    return found


Me = Annotated[Session, Depends(current)]


async def posted(request: Request, session: Session) -> FormData:
    """The form, once its CSRF token is checked."""
    form = await request.form()
    require_csrf(session.csrf, form_field(form, "csrf"))
    return form


def form_field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def redirect(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303)


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


# --- sign-in, sign-out, password, language --------------------------------------------


@router.get("/login")
def login_page(request: Request) -> Response:
    token = new_login_csrf()
    response = render(request, "login.html", None, login_csrf=token)
    set_cookie(request, response, LOGIN_CSRF_COOKIE, token)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    require_csrf(request.cookies.get(LOGIN_CSRF_COOKIE), form_field(form, "csrf"))
    name, password = form_field(form, "name"), form.get("password")
    try:
        token, _session = await run_in_threadpool(
            sessions.sign_in, request.app.state.engine, name, password if isinstance(password, str) else ""
        )
    except sessions.SignInRefused as exc:
        fresh = new_login_csrf()
        response: Response = render(request, "login.html", None, status=401, login_csrf=fresh, error=exc.message, name=name)
        set_cookie(request, response, LOGIN_CSRF_COOKIE, fresh)
        return response
    response = redirect("/")
    set_cookie(request, response, SESSION_COOKIE, token, max_age=sessions.SESSION_HOURS * 3600)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request, me: Me) -> Response:
    await posted(request, me)
    await run_in_threadpool(sessions.sign_out, request.app.state.engine, request.cookies.get(SESSION_COOKIE, ""))
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/password")
def password_page(request: Request, me: Me) -> Response:
    return render(request, "password.html", me, must_change=me.must_change_password)


@router.post("/password")
async def change_password(request: Request, me: Me) -> Response:
    form = await posted(request, me)
    new, again = form_field(form, "new"), form_field(form, "again")
    try:
        if new != again:
            raise UserError("password_mismatch", bilingual("the new passwords differ"))
        await run_in_threadpool(
            officials.change_own_password, request.app.state.engine, me.official.id, form_field(form, "current"), new
        )
    except UserError as exc:
        return render(request, "password.html", me, status=400, error=exc.message, must_change=me.must_change_password)
    response = redirect("/login?changed=1")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{lang}")
def switch_language(request: Request, lang: str, next: str | None = None) -> Response:
    response = redirect(_safe_next(next))
    if lang in LANGS:
        set_cookie(request, response, LANG_COOKIE, lang, max_age=365 * 86400)
    return response


# --- the district an official looks at ------------------------------------------------


@dataclass(frozen=True)
class Place:
    district_id: int
    district: str
    province: str
    commune_id: int | None  # a commune officer's one commune
    commune: str | None
    choices: list[tuple[int, str]]  # districts to choose from (officials of every district)


def place_for(request: Request, session: Session, asked: int | None) -> Place:
    me = session.official
    with request.app.state.engine.connect() as conn:
        rows = conn.execute(sa.select(districts.c.id, districts.c.name, provinces.c.name.label("province")).join(provinces)).all()
        rows = sorted(rows, key=lambda r: (sort_key(r.name), sort_key(r.province)))
        if me.district_id is not None:
            rows = [r for r in rows if r.id == me.district_id]
        if not rows:
            raise UserError("no_district", bilingual("no district on this server yet"))
        chosen = next((r for r in rows if r.id == asked), rows[0])
        commune = conn.execute(sa.select(communes.c.name).where(communes.c.id == me.commune_id)).scalar() if me.commune_id else None
    choices = [(r.id, f"{r.name}, {r.province}") for r in rows] if me.district_id is None else []
    return Place(chosen.id, chosen.name, chosen.province, me.commune_id, commune, choices)


def communes_of(request: Request, place: Place) -> list[str]:
    """The district's communes, in Vietnamese order: what a form offers to choose from."""
    with request.app.state.engine.connect() as conn:
        names = conn.execute(sa.select(communes.c.name).where(communes.c.district_id == place.district_id)).scalars()
        return sorted(names, key=sort_key)


def _week(value: str | None) -> date:
    return parse_day(value, "week_ending") if value else reports.today_local()


def _commune_report(request: Request, me: Session, place: Place, week_ending: date) -> reports.CommuneReport:
    return scope.commune_report(request.app.state.engine, me.official, place.district, week_ending, place.province)


# --- overview -------------------------------------------------------------------------


@router.get("/")
def overview(request: Request, me: Me, week_ending: str | None = None, district: int | None = None) -> Response:
    place = place_for(request, me, district)
    week = _week(week_ending)
    report = _commune_report(request, me, place, week)
    _ = words_for(request)
    drawn = chart.render(
        trend.trend(request.app.state.engine, place.district_id, week, place.commune_id),
        _("Visits per day"),
        _("Active ratio per week"),
    )
    return render(request, "overview.html", me, place=place, report=report, week=week, chart=drawn, nav="overview")


@router.get("/overview.{fmt}")
def overview_download(request: Request, me: Me, fmt: str, week_ending: str | None = None, district: int | None = None) -> Response:
    if fmt not in ("csv", "xlsx"):
        raise UserError("format_unknown", bilingual("only CSV and XLSX"))
    place = place_for(request, me, district)
    week = _week(week_ending)
    table = _commune_report(request, me, place, week).table()
    media = XLSX if fmt == "xlsx" else "text/csv; charset=utf-8"
    return download(export(table, fmt), f"bao-cao-xa-{week:%Y-%m-%d}.{fmt}", media)


# --- silent checkpoints ---------------------------------------------------------------


def _commune_id(request: Request, me: Session, place: Place, commune: str | None) -> int | None:
    """The commune asked for (a commune officer may ask only for theirs), else their own or none."""
    if not commune:
        return place.commune_id
    with request.app.state.engine.connect() as conn:
        name = commune_name(conn, place.district_id, commune)
        asked = conn.execute(
            sa.select(communes.c.id).where(communes.c.district_id == place.district_id, communes.c.name == name)
        ).scalar_one()
    me.official.require_commune(asked)
    return int(asked)


@router.get("/silent")
def silent_page(
    request: Request,
    me: Me,
    days: int = silent.DEFAULT_DAYS,
    district: int | None = None,
    commune: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    days = min(max(days, 1), 365)
    place = place_for(request, me, district)
    only = _commune_id(request, me, place, commune)
    found = silent.silent_checkpoints(request.app.state.engine, place.district_id, days, only)
    groups: dict[str, list[silent.SilentCheckpoint]] = {}
    for item in found:
        groups.setdefault(item.commune, []).append(item)
    now = datetime.now(LOCAL_TZ)
    return render(request, "silent.html", me, place=place, days=days, groups=groups, now=now, nav="silent")


# --- tracing and the audit log --------------------------------------------------------


def _moment(form: FormData, name: str, label: str) -> datetime:
    text = form_field(form, name)
    try:
        return datetime.fromisoformat(text).replace(tzinfo=LOCAL_TZ)
    except ValueError:
        raise UserError("time_invalid", bilingual("{label}: a date and time is needed", label=label)) from None


def _trace(request: Request, me: Session, form: FormData) -> tracing.TraceResult:
    me.official.require_tracing()
    start, end = _moment(form, "start", Word(N_("from"))), _moment(form, "end", Word(N_("until")))
    engine, actor, reason = request.app.state.engine, me.official.actor, form_field(form, "reason")
    by = form_field(form, "by")
    if by == "checkpoint":
        return tracing.at_checkpoint(engine, actor, reason, form_field(form, "checkpoint"), start, end)
    key = form_field(form, "key")
    id_number, phone = (key, None) if by == "id_number" else (None, key)
    return tracing.person(engine, actor, reason, start, end, id_number=id_number, phone=phone)


def _trace_defaults() -> dict[str, str]:
    now = datetime.now(LOCAL_TZ).replace(second=0, microsecond=0)
    return {
        "by": "id_number",
        "start": (now - timedelta(days=14)).strftime("%Y-%m-%dT%H:%M"),
        "end": now.strftime("%Y-%m-%dT%H:%M"),
    }


@router.get("/trace")
def trace_page(request: Request, me: Me) -> Response:
    me.official.require_tracing()
    return render(request, "trace.html", me, asked=_trace_defaults(), nav="trace")


@router.post("/trace")
async def trace(request: Request, me: Me) -> Response:
    form = await posted(request, me)
    asked = {k: form_field(form, k) for k in ("by", "key", "checkpoint", "start", "end", "reason")}
    try:
        found = await run_in_threadpool(_trace, request, me, form)
    except Forbidden:
        raise
    except UserError as exc:
        return render(request, "trace.html", me, status=400, asked=asked, error=exc.message, nav="trace")
    if form_field(form, "as") == "xlsx":
        return download(export(found.table(), "xlsx"), "tra-cuu.xlsx", XLSX)
    return render(request, "trace.html", me, asked=asked, found=found, nav="trace")


@router.get("/audit")
def audit_page(request: Request, me: Me, limit: int = 200) -> Response:
    me.official.require_manage()
    entries = audit.entries(request.app.state.engine, min(max(limit, 1), 2000))
    return render(request, "audit.html", me, entries=entries, nav="audit")


def error_page(request: Request, exc: UserError) -> Response:
    """A refused or mistaken request on a console page: the words, and a way back."""
    return render(request, "error.html", None, status=exc.status, message=exc.message)


# --- checkpoints and kiosks -----------------------------------------------------------


def _plain(text: str) -> str:
    """For search: no case, no tone marks, đ as d ("cho dak" finds "Chợ Đăk Nhau")."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()


def _matches(row: reports.CheckpointRow, words: str) -> bool:
    text = _plain(f"{row.code} {row.name} {row.commune}")
    return all(word in text for word in _plain(words).split())


def _registry(request: Request, me: Session, place: Place, q: str, status: int = 200, **extra: object) -> Response:
    week = reports.today_local()
    report = scope.checkpoint_report(request.app.state.engine, me.official, place.district, week, place.province)
    rows = [row for row in report.rows if _matches(row, q)] if q else report.rows
    return render(
        request,
        "checkpoints.html",
        me,
        status=status,
        place=place,
        rows=rows,
        q=q,
        total=len(report.rows),
        communes=communes_of(request, place) if me.official.may_manage else [],
        today=reports.today_local(),
        nav="checkpoints",
        **extra,
    )


@router.get("/checkpoints")
def checkpoints_page(
    request: Request, me: Me, q: Annotated[str, Query(max_length=100)] = "", district: int | None = None
) -> Response:
    return _registry(request, me, place_for(request, me, district), q.strip())


@router.post("/checkpoints/import")
async def checkpoints_import(request: Request, me: Me) -> Response:
    form = await posted(request, me)
    me.official.require_manage()
    place = place_for(request, me, None)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        error = bilingual("choose a CSV file")
        return _registry(request, me, place, "", status=400, error=error)
    data = await upload.read(CSV_LIMIT + 1)
    try:
        if len(data) > CSV_LIMIT:
            raise UserError("csv_too_large", bilingual("the CSV file is larger than 16 MiB"))
        summary = await run_in_threadpool(import_checkpoints, request.app.state.engine, read_csv_file(data, upload.filename))
    except CsvError as exc:
        return _registry(request, me, place, "", problems=exc.problems[:200], problem_count=len(exc.problems), status=400)
    except UserError as exc:
        return _registry(request, me, place, "", error=exc.message, status=400)
    return _registry(request, me, place, "", imported=summary)


@router.post("/checkpoints/add")
async def checkpoint_add(request: Request, me: Me) -> Response:
    """One checkpoint, by the rules of ``checkpoint-server checkpoint add``, in a commune of the district."""
    form = await posted(request, me)
    me.official.require_manage()
    place = place_for(request, me, None)
    asked = {k: form_field(form, k) for k in ("code", "name", "commune", "created_on")}
    try:
        if asked["commune"] not in communes_of(request, place):
            raise UserError("commune_required", bilingual("choose the checkpoint's commune"))
        created = parse_day(asked["created_on"], "created_on") if asked["created_on"] else reports.today_local()
        where = places.Place(place.province, place.district, asked["commune"])
        row = await run_in_threadpool(
            places.add_checkpoint, request.app.state.engine, asked["code"], asked["name"], where, created, me.official.actor
        )
    except UserError as exc:
        return _registry(request, me, place, "", status=exc.status, error=exc.message, asked=asked)
    return _checkpoint_page(request, me, str(row["code"]), done=words_for(request)(N_("Checkpoint added.")))


@router.post("/checkpoints/{code}/active")
async def checkpoint_active(request: Request, me: Me, code: Annotated[str, Path(max_length=64)]) -> Response:
    """In use or not, as ``checkpoint-server checkpoint activate`` / ``deactivate``."""
    form = await posted(request, me)
    me.official.require_manage()
    cp = _checkpoint(request, me, code)
    active = form_field(form, "active") == "yes"
    await run_in_threadpool(places.set_active, request.app.state.engine, str(cp["code"]), active, me.official.actor)
    done = (
        N_("In use again: counted as registered, and kiosks may enrol.")
        if active
        else N_("Not in use: no longer counted as registered, and no new kiosk may enrol.")
    )
    return _checkpoint_page(request, me, str(cp["code"]), done=words_for(request)(done))


def _checkpoint(request: Request, me: Session, code: str) -> dict[str, object]:
    """The checkpoint, once the official may see it (their district; a commune officer: their commune)."""
    with request.app.state.engine.connect() as conn:
        row = checkpoint_row(conn, code)
        commune_id, district_id = conn.execute(
            sa.select(checkpoints.c.commune_id, communes.c.district_id).join(communes).where(checkpoints.c.id == row["id"])
        ).one()
    me.official.require_district(district_id)
    me.official.require_commune(commune_id)
    return {**row, "district_id": district_id}


def _checkpoint_page(request: Request, me: Session, code: str, status: int = 200, **extra: object) -> Response:
    cp = _checkpoint(request, me, code)
    engine = request.app.state.engine
    days = trend.trend(engine, int(str(cp["district_id"])), reports.today_local(), checkpoint_id=int(str(cp["id"])))
    drawn = chart.render(days, words_for(request)("Visits per day"), words_for(request)("Active ratio per week"))
    kiosks = enrolment.list_devices(engine, str(cp["code"]))
    return render(request, "checkpoint.html", me, status=status, cp=cp, chart=drawn, kiosks=kiosks, nav="checkpoints", **extra)


@router.get("/checkpoints/{code}")
def checkpoint_page(request: Request, me: Me, code: Annotated[str, Path(max_length=64)]) -> Response:
    return _checkpoint_page(request, me, code)


@router.post("/checkpoints/{code}/enroll-code")
async def checkpoint_enroll_code(request: Request, me: Me, code: Annotated[str, Path(max_length=64)]) -> Response:
    form = await posted(request, me)
    me.official.require_manage()
    cp = _checkpoint(request, me, code)
    settings = request.app.state.settings
    try:
        hours = float(form_field(form, "hours") or settings.enrolment.code_valid_hours)
    except ValueError:
        hours = -1
    if not 0 < hours <= 720:
        return _checkpoint_page(request, me, code, status=400, error=bilingual("valid for 1 to 720 hours"))
    url = settings.public_url
    made = enrolment.create_enroll_code(request.app.state.engine, str(cp["code"]), timedelta(hours=hours), url, me.official.actor)
    sheet = code_sheet.sheet_for(made, url)
    page = base64.b64encode(await run_in_threadpool(code_sheet.png, sheet)).decode()
    return render(
        request, "enroll_code.html", me, cp=cp, made=made, sheet=sheet, page=page, expires=code_sheet.local_expiry(made.expires_at)
    )


@router.post("/devices/{device_id}/{action}")
async def device_action(
    request: Request, me: Me, device_id: Annotated[str, Path(max_length=64)], action: Literal["revoke", "rotate"]
) -> Response:
    await posted(request, me)
    me.official.require_manage()
    engine = request.app.state.engine
    with engine.connect() as conn:
        found = conn.execute(sa.select(checkpoints.c.code).join(devices).where(devices.c.id == device_id)).scalar()
    if found is None:
        raise NotFound("device_not_found", bilingual("no device '{device_id}'", device_id=device_id))
    _checkpoint(request, me, found)
    if action == "revoke":
        await run_in_threadpool(enrolment.revoke_device, engine, device_id, me.official.actor)
        return _checkpoint_page(request, me, found, done=words_for(request)(N_("Kiosk revoked: its token no longer works.")))
    token = await run_in_threadpool(enrolment.rotate_device, engine, device_id, me.official.actor)
    return _checkpoint_page(request, me, found, new_token=token, rotated=device_id)
