"""The console's officials pages: a district official manages the officials of their district
(list, add, role and commune, disable and enable, unlock after a lockout, reset a password,
API tokens for scripts). Commune officials and tracers are refused with 403 by the same rule
as the audit log (``Official.require_manage``).

Every change goes through server/officials.py, the functions the CLI calls, so the rules
and the audit record are the CLI's; every form is a CSRF-checked POST. A secret (a
one-time password, an API token) is shown once, on the answer to the POST that made it,
never in a URL. Officials of every district (no ``--district``) are not listed here and
cannot be changed from a district's page: they are the server's, managed with the CLI. A
district official cannot disable themselves, change their own role or reset their own
password here (their own password: the password page), so no one locks the district out
by a slip.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from kiosk.catalog import N_, bilingual
from server import officials
from server.console.pages import render, words_for
from server.console.routes import Me, Place, communes_of, form_field, place_for, posted
from server.errors import NotFound, UserError
from server.places import clean_name
from server.roles import ROLES, Forbidden, Role
from server.sessions import Session

router = APIRouter(include_in_schema=False)
Action = Literal["role", "disable", "enable", "unlock", "password", "token", "token-revoke"]
ON_SELF_REFUSED = ("role", "disable", "password")
TOKEN_DAYS_MAX = 3650  # as the CLI's --token-days
ROLE_LABELS: dict[str, str] = {
    "district": N_("District official"),
    "commune": N_("Commune official"),
    "tracer": N_("Tracer"),
}


def _district_arg(form: FormData) -> int | None:
    value = form_field(form, "district")
    return int(value) if value.isdigit() else None


def _listing(request: Request, me: Session, place: Place, status: int = 200, **extra: Any) -> Response:
    found = officials.list_officials(request.app.state.engine, place.district_id)
    return render(
        request,
        "officials.html",
        me,
        status=status,
        place=place,
        people=found,
        communes=communes_of(request, place),
        roles=ROLES,
        role_labels=ROLE_LABELS,
        nav="officials",
        asked=extra.pop("asked", {"role": "district"}),
        **extra,
    )


def _target(request: Request, me: Session, official_id: int) -> tuple[dict[str, Any], Place]:
    """The official asked for, once the one asking may manage them: of a district that is theirs."""
    me.official.require_manage()
    rows = officials.list_officials(request.app.state.engine)
    target = next((row for row in rows if row["id"] == official_id), None)
    if target is None or target["district_id"] is None:
        raise NotFound("official_not_found", bilingual("no official with number {number} in a district", number=official_id))
    me.official.require_district(target["district_id"])
    return target, place_for(request, me, target["district_id"])


def _official_page(request: Request, me: Session, official_id: int, status: int = 200, **extra: Any) -> Response:
    target, place = _target(request, me, official_id)
    return render(
        request,
        "official.html",
        me,
        status=status,
        person=target,
        place=place,
        communes=communes_of(request, place),
        roles=ROLES,
        role_labels=ROLE_LABELS,
        myself=target["id"] == me.official.id,
        nav="officials",
        **extra,
    )


def _role_and_commune(form: FormData) -> tuple[Role, str | None]:
    role = form_field(form, "role")
    if role not in ROLES:
        raise UserError("role_unknown", bilingual("role must be one of {roles}", roles=", ".join(ROLES)))
    commune = form_field(form, "commune") or None
    if role == "commune" and commune is None:
        raise UserError("commune_required", bilingual("choose the commune of a commune official"))
    return cast(Role, role), commune if role == "commune" else None


def _password_from(form: FormData) -> tuple[str, bool]:
    """(the password, whether it was generated to be shown once): the one typed, else a one-time one."""
    typed = form_field(form, "password")
    return (typed, False) if typed else (officials.one_time_password(), True)


def _token_days(form: FormData) -> int | None:
    text = form_field(form, "token_days")
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= TOKEN_DAYS_MAX:
        raise UserError("token_days", bilingual("the token's days must be a whole number from 1 to {most}", most=TOKEN_DAYS_MAX))
    return int(text)


@router.get("/officials")
def officials_page(request: Request, me: Me, district: int | None = None) -> Response:
    me.official.require_manage()
    return _listing(request, me, place_for(request, me, district))


@router.post("/officials")
async def add_official(request: Request, me: Me) -> Response:
    form = await posted(request, me)
    me.official.require_manage()
    place = place_for(request, me, _district_arg(form))
    asked = {k: form_field(form, k) for k in ("name", "role", "commune", "token", "token_days")}
    try:
        role, commune = _role_and_commune(form)
        password, generated = _password_from(form)
        with_token = form_field(form, "token") == "yes"
        days = _token_days(form)
        token = await run_in_threadpool(
            lambda: officials.add_official(
                request.app.state.engine,
                form_field(form, "name"),
                me.official.actor,
                role=role,
                district=place.district,
                province=place.province,
                commune=commune,
                password=password,
                token_valid_days=days,
                must_change_password=True,
                with_token=with_token,
            )
        )
    except UserError as exc:
        return _listing(request, me, place, status=exc.status, error=exc.message, asked=asked)
    listed = officials.list_officials(request.app.state.engine, place.district_id)
    added = next(row for row in listed if row["name"] == clean_name(asked["name"]))
    return _official_page(
        request,
        me,
        added["id"],
        done=words_for(request)(N_("Official added.")),
        one_time=password if generated else None,
        new_token=token if with_token else None,
    )


@router.get("/officials/{official_id}")
def official_page(request: Request, me: Me, official_id: Annotated[int, Path(ge=1)]) -> Response:
    return _official_page(request, me, official_id)


def _act(request: Request, me: Session, target: dict[str, Any], place: Place, action: Action, form: FormData) -> dict[str, Any]:
    """Do ``action`` to ``target``: what the answer page shows (the words, a secret made)."""
    engine, actor, name = request.app.state.engine, me.official.actor, target["name"]
    if action in ON_SELF_REFUSED and target["id"] == me.official.id:
        raise Forbidden("not_on_yourself", bilingual("not on your own account: another district official can do it"))
    if action == "role":
        role, commune = _role_and_commune(form)
        officials.set_role(engine, name, actor, role=role, district=place.district, province=place.province, commune=commune)
        return {"done": N_("Role changed; their open sessions were signed out.")}
    if action == "disable":
        officials.revoke_official(engine, name, actor)
        return {"done": N_("Disabled: no sign-in and no API token until enabled again.")}
    if action == "enable":
        officials.enable_official(engine, name, actor)
        return {"done": N_("Enabled: their password and API token work again.")}
    if action == "unlock":
        officials.unlock(engine, name, actor)
        return {"done": N_("Unlocked: they may sign in again now.")}
    if action == "password":
        password, generated = _password_from(form)
        officials.set_password(engine, name, password, actor, must_change=True)
        return {
            "done": N_("Password set; they choose their own at their next sign-in."),
            "one_time": password if generated else None,
        }
    if action == "token":
        return {
            "done": N_("New API token; the old one no longer works."),
            "new_token": officials.issue_token(engine, name, actor, _token_days(form)),
        }
    officials.revoke_token(engine, name, actor)
    return {"done": N_("API token revoked.")}


@router.post("/officials/{official_id}/{action}")
async def official_action(request: Request, me: Me, official_id: Annotated[int, Path(ge=1)], action: Action) -> Response:
    form = await posted(request, me)
    target, place = _target(request, me, official_id)
    try:
        shown = await run_in_threadpool(_act, request, me, target, place, action, form)
        shown["done"] = words_for(request)(shown["done"])
    except Forbidden:
        raise
    except UserError as exc:
        return _official_page(request, me, official_id, status=exc.status, error=exc.message)
    return _official_page(request, me, official_id, **shown)
