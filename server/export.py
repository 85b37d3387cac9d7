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
from typing import Any

from kiosk.catalog import gettext

Cell = str | int | float | Decimal | date | datetime | bool | None
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMATS = ("table", "csv", "xlsx", "json")


@dataclass(frozen=True)
class Table:
    headings: list[str]
    rows: Sequence[Sequence[Cell]]  # read only: any rows whose cells are Cells
    title: str = ""
    total_rows: int = 0  # the last rows are totals: bold in XLSX
    percent_columns: frozenset[int] = frozenset()  # numbers in percent (66.67 is 66.67 %): shown as such in XLSX


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return gettext("yes" if value else "no", "vi")
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
    numeric = [
        bool(table.rows) and all(_is_number(row[i]) or row[i] is None for row in table.rows) for i in range(len(table.headings))
    ]

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


XLSX_MIN_WIDTH, XLSX_MAX_WIDTH = 8, 45
HEADING_LINES = 3  # a heading wraps onto at most this many lines when its column can be that narrow
LINE_HEIGHT = 15  # points, Calibri 11
XLSX_NUMBER_FORMATS = {"count": "#,##0", "percent": "0.00 %", "date": "dd/mm/yyyy"}


def _kind(table: Table, col: int, value: Cell) -> str:
    if _is_number(value):
        return "percent" if col in table.percent_columns else "count"
    if isinstance(value, date) and not isinstance(value, datetime):
        return "date"
    return "text"


def _shown(kind: str, value: Cell) -> str:
    """Roughly what the cell displays, to size its column."""
    if kind == "count":
        return f"{value:,.0f}"
    if kind == "percent":
        return f"{value:.2f} %"
    return "00/00/0000" if kind == "date" else _text(value)


def _wrapped_lines(text: str, width: int) -> int:
    """How many lines ``text`` takes when wrapped at spaces to ``width`` characters."""
    lines, used = 1, 0
    for word in text.split():
        size = _width(word)
        if used and used + 1 + size > width:
            lines, used = lines + 1, size
        else:
            used += size + (1 if used else 0)
    return lines


def _column_width(table: Table, col: int) -> int:
    heading = table.headings[col]
    longest_word = max((_width(w) for w in heading.split()), default=0)
    heading_width = max(longest_word, -(-_width(heading) // HEADING_LINES))
    data_width = max((_width(_shown(_kind(table, col, row[col]), row[col])) for row in table.rows), default=0)
    return (
        min(max(heading_width, data_width) + 2, XLSX_MAX_WIDTH)
        if data_width
        else min(max(heading_width + 2, XLSX_MIN_WIDTH), XLSX_MAX_WIDTH)
    )


def to_xlsx(table: Table, sheet: str = "") -> bytes:
    """The table as a district letter's table: the title merged across it, wrapped headings,
    counts as numbers (``#,##0``), ratios as percentages (the fraction, shown ``66.67 %``),
    dates as dates, the total row bold, the header frozen, A4 landscape one page wide.
    Text is always a string cell: XlsxWriter is told never to turn text into formulas,
    numbers or links."""
    import xlsxwriter  # only for XLSX: the server's CLI offers FORMATS without loading it

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}
    )
    ws = book.add_worksheet((sheet or gettext("Report", "vi"))[:31])
    cell_formats: dict[tuple[str, bool], Any] = {}

    def cell_format(kind: str, bold: bool = False) -> Any:
        if (kind, bold) not in cell_formats:
            spec: dict[str, Any] = {
                "border": 1,
                "valign": "vcenter",
                "bold": bold,
                "num_format": XLSX_NUMBER_FORMATS.get(kind, "@"),
            }
            if kind == "text":
                spec["text_wrap"] = True
            cell_formats[kind, bold] = book.add_format(spec)
        return cell_formats[kind, bold]

    columns = len(table.headings)
    widths = [_column_width(table, col) for col in range(columns)]
    for col, width in enumerate(widths):
        ws.set_column(col, col, width)
    header = 0
    if table.title:
        title = book.add_format(
            {"bold": True, "font_size": 13, "align": "center", "valign": "vcenter", "text_wrap": True, "num_format": "@"}
        )
        if columns > 1:
            ws.merge_range(0, 0, 0, columns - 1, "", title)
        ws.write_string(0, 0, table.title, title)
        ws.set_row(0, 2 + 18 * _wrapped_lines(table.title, max(sum(widths) * 10 // 13, 1)))
        header = 1
    heading = book.add_format(
        {
            "bold": True,
            "text_wrap": True,
            "align": "center",
            "valign": "vcenter",
            "border": 1,
            "bg_color": "#F2F2F2",
            "num_format": "@",
        }
    )
    for col, text in enumerate(table.headings):
        ws.write_string(header, col, text, heading)
    lines = max((_wrapped_lines(text, width - 1) for text, width in zip(table.headings, widths, strict=True)), default=1)
    ws.set_row(header, 3 + LINE_HEIGHT * lines)
    first_total = len(table.rows) - table.total_rows
    for index, row in enumerate(table.rows):
        r, bold = header + 1 + index, index >= first_total
        for col, value in enumerate(row):
            kind = _kind(table, col, value)
            if kind == "percent":
                ws.write_number(r, col, float(Decimal(str(value)) / 100), cell_format(kind, bold))
            elif kind == "count":
                ws.write_number(r, col, float(value), cell_format(kind, bold))  # type: ignore[arg-type]
            elif kind == "date":
                ws.write_datetime(r, col, value, cell_format(kind, bold))
            else:
                ws.write_string(r, col, _text(value), cell_format(kind, bold))
    ws.freeze_panes(header + 1, 0)
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)  # one page wide, as many tall as it takes
    ws.repeat_rows(header)
    ws.center_horizontally()
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    book.close()
    return buffer.getvalue()


def render(table: Table, fmt: str) -> bytes:
    """The table as bytes in ``fmt`` (table, csv or xlsx)."""
    if fmt == "csv":
        return to_csv(table)
    if fmt == "xlsx":
        return to_xlsx(table)
    return to_text(table).encode("utf-8")
