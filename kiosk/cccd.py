"""Chip-based citizen ID card (CCCD) QR: ``ID|old CMND|name|DOB|sex|address|issue date``.

Cards and readers differ (6 or 7 fields: the old CMND or the issue date may be absent),
so fields are recognised by their shape in order, not by fixed position.
"""

from __future__ import annotations

import re
from datetime import date

from kiosk.catalog import N_, Word
from kiosk.credentials import Cccd, Rejection

# [0-9], not \d: \d matches every script's digits, and an ID number in Arabic-Indic or
# fullwidth digits could never be traced (the caller has folded fullwidth forms by NFKC).
ID_NUMBER = re.compile(r"^[0-9]{12}$")
OLD_ID_NUMBER = re.compile(r"^[0-9]{9}$")
ID_LIKE = re.compile(r"[0-9]{9,13}")  # an ID number with a digit too many or too few: still a CCCD attempt
DATE = re.compile(r"^[0-9]{8}$")
SEXES = {"nam": "Nam", "nữ": "Nữ"}
FIRST_DATE = date(1900, 1, 1)
DATE_FIELDS = {"date_of_birth": Word(N_("date of birth")), "issue_date": Word(N_("issue date"))}


def looks_like_cccd(fields: list[str]) -> bool:
    """Six or seven fields with a 12-digit-ish ID first, or a Nam/Nữ field: a CCCD attempt."""
    if len(fields) not in (6, 7):
        return False
    return bool(ID_LIKE.fullmatch(fields[0])) or any(f.lower() in SEXES for f in fields)


def _date(text: str, field: str, today: date) -> date | Rejection:
    if DATE.match(text):
        try:
            value = date(int(text[4:]), int(text[2:4]), int(text[:2]))
        except ValueError:
            pass
        else:
            if FIRST_DATE <= value <= today:
                return value
    return Rejection("cccd_bad_date", {"field": DATE_FIELDS[field]})


def parse_cccd(fields: list[str], today: date) -> Cccd | Rejection:
    """Fields already split on ``|`` and NFC-normalised; ``today`` bounds the dates."""
    rest = [f.strip() for f in fields]
    id_number = rest.pop(0)
    if not ID_NUMBER.match(id_number):
        return Rejection("cccd_bad_id")
    old_id = None
    if len(rest) == 6 or (rest and (rest[0] == "" or rest[0].isdigit())):
        old_id = rest.pop(0) or None
        if old_id is not None and not OLD_ID_NUMBER.match(old_id):
            return Rejection("cccd_bad_old_id")
    if len(rest) not in (4, 5):
        return Rejection("cccd_bad_name")
    name, dob_text, sex_text, address = rest[:4]
    issue_text = rest[4] if len(rest) == 5 else ""
    if not name or any(map(str.isdigit, name)):
        return Rejection("cccd_bad_name")
    dob = _date(dob_text, "date_of_birth", today)
    if isinstance(dob, Rejection):
        return dob
    sex = SEXES.get(sex_text.lower())
    if sex is None:
        return Rejection("cccd_bad_sex")
    issue_date = None
    if issue_text:
        issued = _date(issue_text, "issue_date", today)
        if isinstance(issued, Rejection):
            return issued
        issue_date = issued
    return Cccd(
        id_number=id_number,
        old_id_number=old_id,
        name=" ".join(name.split()),
        date_of_birth=dob,
        sex=sex,
        address=" ".join(address.split()) or None,
        issue_date=issue_date,
    )
