"""Tables for people: aligned terminal text, CSV and XLSX that open safely in Excel.

Excel turns a CSV field starting with ``=``, ``+``, ``-``, ``@``, TAB or CR into a
formula (the Luca incident); such text gets a leading apostrophe in CSV. In XLSX every
text is written as a string cell, which is never evaluated, so ``+84…`` and ``0912…``
stay exactly as they are. Counts stay numbers in both. CSV is UTF-8 with a BOM, because
Excel reads Vietnamese correctly only then.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

Cell = str | int | float | Decimal | date | datetime | bool | None
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMATS = ("table", "csv", "xlsx", "json")


@dataclass(frozen=True)
class Table:
    headings: list[str]
    rows: Sequence[Sequence[Cell]]  # read only: any rows whose cells are Cells
    title: str = ""


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, Decimal | float):
        return f"{value:.2f}"
    return str(value)


def _is_number(value: Cell) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def csv_safe(text: str) -> str:
    """Text that no spreadsheet will run as a formula; unchanged unless it starts like one."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _width(text: str) -> int:
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def to_text(table: Table) -> str:
    """Columns aligned for a terminal; numbers to the right."""
    cells = [[_text(v) for v in row] for row in table.rows]
    widths = [max([_width(h)] + [_width(row[i]) for row in cells]) for i, h in enumerate(table.headings)]
    numeric = [bool(table.rows) and all(_is_number(row[i]) or row[i] is None for row in table.rows)
               for i in range(len(table.headings))]

    def line(values: list[str]) -> str:
        parts = []
        for i, text in enumerate(values):
            pad = " " * (widths[i] - _width(text))
            parts.append(pad + text if numeric[i] else text + pad)
        return "  ".join(parts).rstrip()

    out = [table.title] if table.title else []
    out += [line(table.headings), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in cells]
    return "\n".join(out) + "\n"


def to_csv(table: Table) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_safe(h) for h in table.headings])
    for row in table.rows:
        writer.writerow([_text(v) if _is_number(v) else csv_safe(_text(v)) for v in row])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


def to_xlsx(table: Table, sheet: str = "Báo cáo") -> bytes:
    import xlsxwriter  # only for XLSX: the server's CLI offers FORMATS without loading it

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
                                        "strings_to_urls": False})
    ws = book.add_worksheet(sheet[:31])
    text_format = book.add_format({"num_format": "@"})
    bold = book.add_format({"bold": True, "text_wrap": True, "valign": "top", "num_format": "@"})
    first = 0
    if table.title:
        ws.write_string(0, 0, table.title, bold)
        first = 1
    for col, heading in enumerate(table.headings):
        ws.write_string(first, col, heading, bold)
        width = max([_width(heading) // 2] + [_width(_text(row[col])) for row in table.rows]) + 2
        ws.set_column(col, col, min(width, 60), text_format)
    for r, row in enumerate(table.rows, start=first + 1):
        for col, value in enumerate(row):
            if _is_number(value):
                ws.write_number(r, col, float(value))  # type: ignore[arg-type]
            else:
                ws.write_string(r, col, _text(value), text_format)
    book.close()
    return buffer.getvalue()


def render(table: Table, fmt: str) -> bytes:
    """The table as bytes in ``fmt`` (table, csv or xlsx)."""
    if fmt == "csv":
        return to_csv(table)
    if fmt == "xlsx":
        return to_xlsx(table)
    return to_text(table).encode("utf-8")
