"""Dates and times as people type them: ISO, or dd/mm/yyyy as Excel writes on a Vietnamese PC.

Accepted: ``2026-11-23`` (ISO 8601) and ``23/11/2026`` (day first, as in Vietnam; one
digit for the day or month is fine: ``3/1/2026``). A time may follow either (``T`` or a
space, then ``HH:MM`` or ``HH:MM:SS``) where a moment is asked for. Refused, with a
message that names the field and both forms: a year of two digits (``23/11/26``: which
century, and is it day/month/year?), any other order or separator, and a date that does
not exist (``31/02/2026``, or ``11/23/2026``, month first).

Standard library only: the CLI parses its options with this before it loads the server.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

from kiosk.catalog import bilingual
from server.errors import UserError

FORMS = "YYYY-MM-DD, dd/mm/yyyy"
_DAY_FIRST = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})", re.ASCII)
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", re.ASCII)
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


class DateError(UserError):
    """A date or time that is not one, naming the field (never echoing the value: API errors never do)."""

    status = 422

    def __init__(self, field: str, with_time: bool = False) -> None:
        forms = f"{FORMS} (+ HH:MM)" if with_time else FORMS
        self.field = field
        self.problem = bilingual("not a valid date; use {forms}", forms=forms)
        super().__init__("date_invalid", f"{field}: {self.problem}")


def parse_day(text: str, field: str) -> date:
    """``text`` as a date, ISO or dd/mm/yyyy; DateError naming ``field`` otherwise."""
    text = text.strip()
    try:
        if _ISO_DAY.fullmatch(text):
            return date.fromisoformat(text)
        found = _DAY_FIRST.fullmatch(text)
        if found:
            day, month, year = (int(part) for part in found.groups())
            return date(year, month, day)
    except ValueError:
        pass
    raise DateError(field)


def parse_moment(text: str, field: str) -> datetime:
    """A date or a date and time, ISO or dd/mm/yyyy [HH:MM[:SS]]; naive unless ISO gave a zone.

    A date alone is its midnight.
    """
    text = text.strip()
    day_part, _, rest = text.replace("T", " ", 1).partition(" ")
    if _DAY_FIRST.fullmatch(day_part):
        day = parse_day(day_part, field)
        if not rest:
            return datetime.combine(day, time(0))
        clock = _TIME.fullmatch(rest.strip())
        if clock:
            hour, minute, second = (int(part or 0) for part in clock.groups())
            try:
                return datetime.combine(day, time(hour, minute, second))
            except ValueError:
                pass
        raise DateError(field, with_time=True)
    if len(text) >= 10 and _ISO_DAY.fullmatch(text[:10]):
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    raise DateError(field, with_time=True)
