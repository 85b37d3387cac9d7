"""Who may see what, for the console and the API alike.

- ``district``: everything in their district (no district: every district on this server);
- ``commune``: the reports and checkpoints of one commune, no tracing;
- ``tracer``: tracing, always with a reason (server/tracing.py audits it), and the reports.

One ``Official`` value is what both an API token and a console session resolve to, so a
rule is written once and holds on both doors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from kiosk.catalog import bilingual
from server.errors import UserError

Role = Literal["district", "commune", "tracer"]
ROLES: tuple[str, ...] = get_args(Role)


class Forbidden(UserError):
    status = 403


@dataclass(frozen=True)
class Official:
    id: int
    name: str
    role: Role
    district_id: int | None  # None: every district (an official from before roles)
    commune_id: int | None  # only for the commune role

    @property
    def actor(self) -> str:
        """How the audit log names them."""
        return f"official:{self.name}"

    @property
    def may_trace(self) -> bool:
        return self.role in ("district", "tracer")

    @property
    def may_manage(self) -> bool:
        """Checkpoints, kiosks, enrolment codes, the audit log."""
        return self.role == "district"

    def require_tracing(self) -> None:
        if not self.may_trace:
            raise Forbidden("role_no_tracing", bilingual("your role may not trace"))

    def require_manage(self) -> None:
        if not self.may_manage:
            raise Forbidden("role_not_district", bilingual("only district officials may do this"))

    def require_district(self, district_id: int) -> None:
        if self.district_id is not None and self.district_id != district_id:
            raise Forbidden("other_district", bilingual("this is not your district"))

    def require_commune(self, commune_id: int) -> None:
        if self.role == "commune" and self.commune_id != commune_id:
            raise Forbidden("other_commune", bilingual("this is not your commune"))
