"""Bulk registration of checkpoints from CSV: districts register thousands at a time.

Dates (``created_at``) are ISO or dd/mm/yyyy, which is what Excel on a Vietnamese PC
writes when it saves a sheet as CSV. The whole file is checked before anything is written, and every problem is reported with
its line and column, so an admin fixes the spreadsheet once instead of row by row.
Importing the same file again changes nothing; a changed row updates its checkpoint.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from kiosk.catalog import bilingual
from server.dates import DateError, parse_day
from server.db import writing
from server.errors import UserError
from server.places import CODE_MAX, Place, clean_name, commune_id
from server.schema import checkpoints

COLUMNS = ("code", "name", "commune", "district", "province", "created_at")
MAX_PROBLEMS_SHOWN = 20


class CsvError(UserError):
    """The file has problems; ``problems`` lists them as (line, column, message)."""

    def __init__(self, problems: list[tuple[int, str, str]]) -> None:
        shown = [
            f"  {bilingual('line')} {line}, {bilingual('column')} {column}: {problem}"
            for line, column, problem in problems[:MAX_PROBLEMS_SHOWN]
        ]
        if len(problems) > MAX_PROBLEMS_SHOWN:
            shown.append("  … " + bilingual("{count} more problems", count=len(problems) - MAX_PROBLEMS_SHOWN))
        header = bilingual("the CSV file has {count} problems; nothing was imported", count=len(problems))
        super().__init__("csv_invalid", "\n".join([header, *shown]))
        self.problems = problems


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    codes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Row:
    line: int
    code: str
    name: str
    place: Place
    created_on: date


def _parse(text: str) -> list[_Row]:
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = [clean_name(h).lower() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise CsvError(
            [(1, ", ".join(missing), bilingual("missing column") + "; " + bilingual("expected") + " " + ",".join(COLUMNS))]
        )
    reader.fieldnames = header
    rows: list[_Row] = []
    problems: list[tuple[int, str, str]] = []
    first_line: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        if None in record:
            problems.append((line, "-", bilingual("more columns than the header")))
            continue
        values = {c: (record.get(c) or "").strip() for c in COLUMNS}
        if not any(values.values()):
            continue
        for column in COLUMNS:
            if not values[column]:
                problems.append((line, column, bilingual("empty")))
        code = values["code"]
        if len(code) > CODE_MAX or not code.isprintable() or any(ch.isspace() for ch in code):
            problems.append(
                (
                    line,
                    "code",
                    f"'{code[:80]}' " + bilingual("invalid: at most {limit} characters, no spaces", limit=CODE_MAX),
                )
            )
        elif code in first_line:
            problems.append((line, "code", f"'{code}' " + bilingual("duplicate of line {line}", line=first_line[code])))
        first_line.setdefault(code, line)
        try:
            created_on = parse_day(values["created_at"], "created_at") if values["created_at"] else None
        except DateError as exc:
            problems.append((line, "created_at", f"'{values['created_at'][:40]}' {exc.problem}"))
            created_on = None
        if created_on and all(values.values()):
            place = Place(values["province"], values["district"], values["commune"]).cleaned()
            rows.append(_Row(line, code, clean_name(values["name"]), place, created_on))
    if problems:
        raise CsvError(problems)
    return rows


def import_checkpoints(engine: Engine, text: str) -> ImportSummary:
    """Create or update the checkpoints of a CSV text with the header in COLUMNS."""
    rows = _parse(text)
    summary = ImportSummary()
    with writing(engine) as conn:
        existing = {
            r.code: r
            for r in conn.execute(
                sa.select(
                    checkpoints.c.id, checkpoints.c.code, checkpoints.c.name, checkpoints.c.commune_id, checkpoints.c.created_on
                )
            )
        }
        communes_seen: dict[Place, int] = {}
        inserts = []
        for row in rows:
            if row.place not in communes_seen:
                communes_seen[row.place] = commune_id(conn, row.place)
            values = {"code": row.code, "name": row.name, "commune_id": communes_seen[row.place], "created_on": row.created_on}
            old = existing.get(row.code)
            summary.codes.append(row.code)
            if old is None:
                inserts.append(values)
                summary.created += 1
            elif (old.name, old.commune_id, old.created_on) == (row.name, values["commune_id"], row.created_on):
                summary.unchanged += 1
            else:
                conn.execute(checkpoints.update().where(checkpoints.c.id == old.id).values(**values))
                summary.updated += 1
        if inserts:
            conn.execute(checkpoints.insert(), inserts)
    return summary


def read_csv_file(data: bytes, where: str) -> str:
    """CSV bytes as text: UTF-8 (with or without BOM) only, said plainly when it is not."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CsvError([(line, "-", f"{where} " + bilingual("not UTF-8; save the sheet as 'CSV UTF-8'"))]) from None
