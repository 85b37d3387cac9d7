"""The district server's kiosk API through one ``requests.Session``: TLS verified, timeouts on every call.

Each answer is sorted into what the caller can act on: a parsed result; ``Refused`` (the
device must be enrolled again); ``TooLarge`` (split the batch); ``RateLimited`` (wait as
told); ``Transient`` (no answer, a cut-off one, a 5xx: try again later); or a ``SyncError``
that retrying cannot fix (a TLS failure, an unexpected 4xx, a bad enrolment code, a plain
http:// server off this machine, refused before anything is sent: see sync/transport.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

import requests
from pydantic import BaseModel, ValidationError

from sync.backoff import Backoff, pause
from sync.errors import SyncError
from sync.health import app_version
from sync.protocol import (
    BATCH_PATH,
    DEVICE_PATH,
    ENROLL_PATH,
    HEALTH_PATH,
    BatchResponse,
    DeviceInfo,
    EnrollResponse,
    ErrorBody,
    Health,
)
from sync.transport import refused

M = TypeVar("M", bound=BaseModel)
DEFAULT_RETRY_AFTER_S = 1.0
ENROLL_BACKOFF_BASE_S = 0.5
# What a refused token's ``error`` means for the kiosk; anything else: enrol again.
REFUSALS = {"token_revoked": "token_revoked", "token_rotated": "token_rotated"}


class Transient(Exception):
    """Worth trying again: ``status`` is the HTTP status when the server did answer (a 5xx);
    ``tries``: how many tries failed like this before giving up."""

    def __init__(self, code: str, status: int | None = None, *, tries: int = 1) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.tries = tries


class Refused(Exception):
    """401/403: the server will not take anything from this device until it is enrolled again."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class TooLarge(Exception):
    """413: the batch is over the server's limits."""


class RateLimited(Exception):
    status: int | None = 429

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(retry_after_s)
        self.retry_after_s = retry_after_s


def _user_agent() -> str:
    running = app_version()
    return f"checkpoint-kiosk/{running}" if running else "checkpoint-kiosk"


def _error_code(response: requests.Response) -> str | None:
    try:
        return ErrorBody.model_validate_json(response.content).error
    except ValidationError:
        return None


def _retry_after(response: requests.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return DEFAULT_RETRY_AFTER_S


class ServerClient:
    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout_s: float,
        read_timeout_s: float,
        ca_file: str = "",
        allow_insecure_http: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.allow_insecure_http = allow_insecure_http
        self.timeout = (connect_timeout_s, read_timeout_s)
        self.session = requests.Session()
        self.session.verify = ca_file or True
        self.session.headers["User-Agent"] = _user_agent()

    def close(self) -> None:
        self.session.close()

    def health(self) -> datetime:
        """The server's clock, from the cheapest call there is."""
        return self._call("GET", HEALTH_PATH, Health).server_time

    def whoami(self, token: str) -> DeviceInfo:
        """The device the server takes ``token`` for; changes nothing there. Refused when the token is not accepted."""
        return self._call("GET", DEVICE_PATH, DeviceInfo, headers={"Authorization": f"Bearer {token}"})

    def enroll(
        self,
        code: str,
        nonce: str | None = None,
        *,
        signing_key: str | None = None,
        retries: int = 0,
        backoff_max_s: float = 4.0,
    ) -> EnrollResponse:
        """Redeem ``code``. With a ``nonce`` the call is idempotent (the server answers the same
        code and nonce with the same device), so no answer, a cut-off one or a 5xx is tried
        again, at most ``retries`` times with backoff; without one, a retry could only hear 409."""
        body = {"code": code} if nonce is None else {"code": code, "nonce": nonce}
        if signing_key is not None:
            body["signing_key"] = signing_key
        backoff = Backoff(ENROLL_BACKOFF_BASE_S, backoff_max_s)
        tries_left = retries if nonce is not None else 0
        while True:
            try:
                return self._call("POST", ENROLL_PATH, EnrollResponse, json=body)
            except Transient as exc:
                if tries_left <= 0:
                    raise SyncError(exc.code, server=self.base_url, status=exc.status) from None
                tries_left -= 1
                pause(backoff.next_delay(), None)
            except (Refused, TooLarge, RateLimited):  # not answers an enrolment can get from our server
                raise SyncError("server_bad_answer", server=self.base_url) from None

    def upload(self, token: str, body_gzip: bytes) -> BatchResponse:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Content-Encoding": "gzip"}
        return self._call("POST", BATCH_PATH, BatchResponse, data=body_gzip, headers=headers)

    def _call(self, method: str, path: str, model: type[M], **kwargs: Any) -> M:
        if refused(self.base_url, self.allow_insecure_http):  # every call, so no path can send in clear
            raise SyncError("server_http_refused", server=self.base_url)
        try:
            # verify given on each call: requests lets $REQUESTS_CA_BUNDLE override a Session's own
            # verify (psf/requests#3829), which would silently ignore [server] ca_file
            response = self.session.request(
                method, self.base_url + path, timeout=self.timeout, verify=self.session.verify, **kwargs
            )
        except requests.exceptions.SSLError:
            raise SyncError("tls_error", server=self.base_url) from None
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema):
            raise SyncError("server_url_invalid", server=self.base_url) from None
        except requests.RequestException:  # refused, reset, timed out, cut off mid-answer
            raise Transient("server_unreachable") from None
        return self._read(response, model)

    def _read(self, response: requests.Response, model: type[M]) -> M:
        status = response.status_code
        if status == 200:
            try:
                return model.model_validate_json(response.content)
            except ValidationError:  # not our server, or an answer cut short by a proxy
                raise Transient("server_bad_answer") from None
        code = _error_code(response)
        if status in (401, 403):
            raise Refused(REFUSALS.get(code or "", "token_unknown"))
        if status == 413:
            raise TooLarge()
        if status == 429:
            raise RateLimited(_retry_after(response))
        if status >= 500:
            raise Transient("server_error", status)
        if code in ("enroll_code_unknown", "enroll_code_used", "enroll_code_expired"):
            raise SyncError(code)
        raise SyncError("server_error", status=status)
