"""Rendering a console page: the template, the official, the language, the CSRF token, and
``Cache-Control: no-store`` on everything (pages show personal data or a district's
figures; a shared office computer's cache must not keep them)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse, Response

from kiosk.clock import LOCAL_TZ
from server.console.security import LANG_COOKIE
from server.console.words import language, translator
from server.sessions import Session

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def local_time(moment: datetime | None, with_seconds: bool = False) -> str:
    if moment is None:
        return ""
    return moment.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M" + (":%S" if with_seconds else ""))


templates.env.filters["local"] = local_time
templates.env.filters["day"] = lambda moment: f"{moment.astimezone(LOCAL_TZ) if isinstance(moment, datetime) else moment:%d/%m/%Y}"


def number(value: float | int) -> str:
    return f"{value:,}".replace(",", ".") if isinstance(value, int) else f"{value:.2f}".replace(".", ",")


templates.env.filters["num"] = number


def words_for(request: Request) -> Callable[[str], str]:
    return translator(language(request.cookies.get(LANG_COOKIE)))


def render(request: Request, template: str, session: Session | None, status: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        template,
        {
            "_": words_for(request),
            "lang": language(request.cookies.get(LANG_COOKIE)),
            "me": session.official if session else None,
            "csrf": session.csrf if session else context.pop("login_csrf", ""),
            **context,
        },
        status_code=status,
        headers=NO_STORE,
    )


def download(payload: bytes, filename: str, media_type: str) -> Response:
    return Response(
        payload,
        media_type=media_type,
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'},
    )
