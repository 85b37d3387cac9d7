"""The console's cookies and CSRF check.

- Session cookie: HttpOnly (no script reads it), SameSite=Lax (another site's form post
  carries no session), Secure when the server is reached over TLS — ``public_url`` is
  https (the README's Caddy setup) or the request itself came over https.
- CSRF: every form carries the session's token (server/sessions.py keeps it with the
  session); a POST without the right one is refused before it does anything. The sign-in
  form has no session yet: it uses a double-submit cookie, a random value in a cookie and
  the same value in the form, which another site can neither read nor set.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from starlette.responses import Response

from kiosk.catalog import bilingual
from server.errors import UserError

SESSION_COOKIE = "cps_session"
LOGIN_CSRF_COOKIE = "cps_login_csrf"
LANG_COOKIE = "cps_lang"


class CsrfRefused(UserError):
    status = 403

    def __init__(self) -> None:
        super().__init__(
            "csrf_refused",
            bilingual("the form is stale or did not come from this site: reload the page and try again"),
        )


def over_tls(request: Request) -> bool:
    return request.app.state.settings.public_url.startswith("https://") or request.url.scheme == "https"


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, secure=over_tls(request), samesite="lax", path="/")


def same(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


def require_csrf(expected: str | None, given: str | None) -> None:
    if not same(expected, given):
        raise CsrfRefused


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)
