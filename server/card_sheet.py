"""Card sheets to print: A4 pages of ten disease-control cards with cut marks.

Each card is the size of an ID card (85 × 54 mm, so it fits a wallet and a card sleeve):
the QR code 30 mm wide on the left, and beside it the holder's name in large type (a guard
compares it with the face), year of birth, commune, card number, and one line in Vietnamese
(then English, smaller) on how the card is used. Ten cards (2 × 5) fill an A4 page; cut
marks sit outside each card's corners so a paper cutter follows them.

Drawn with fpdf2 rather than reportlab: pure Python with no C extension (the server's
wheels-only install stays so), it embeds a subset of a TrueType font, so the PDF prints the
same on any office PC, and the QR code is drawn as vector squares from segno's matrix, so
it stays sharp at any printer resolution (a raster QR scaled by a printer driver blurs its
modules). The font is DejaVu, which the enrolment sheet already uses (server/code_sheet.py,
``font_paths``): it covers every Vietnamese letter precomposed (ặ, ữ, Đ) and text is NFC, so
no shaping engine is needed. fpdf2 is imported only when a sheet is made.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import segno

from kiosk.catalog import N_, text
from server.cards import CardFace
from server.code_sheet import font_paths

if TYPE_CHECKING:
    from fpdf import FPDF

CARD_W, CARD_H = 85.0, 54.0  # mm, ID-1
COLUMNS, ROWS = 2, 5
PER_PAGE = COLUMNS * ROWS
GUTTER = 6.0  # mm between cards, room for the cut marks
QR_SIZE = 30.0  # mm, the code with its 4-module quiet zone
MARK = 3.0  # mm, length of a cut mark
NAME_SIZES = (15, 13, 11, 9.5, 8)  # pt, the largest that fits two lines
TITLE = N_("DISEASE-CONTROL CARD")
HOW = N_("Show the QR code at checkpoints. Lost card: tell the commune office.")


def card_pdf(cards: Sequence[CardFace]) -> bytes:
    """The printable PDF for ``cards`` (in order, ten to a page)."""
    from fpdf import FPDF  # only when a sheet is made; it loads numpy where numpy is installed

    fonts = font_paths()
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_title(text("Disease-control cards"))
    pdf.set_creator("checkpoint-server cards issue")
    pdf.add_font("DejaVu", "", str(fonts["regular"]))
    pdf.add_font("DejaVu", "B", str(fonts["bold"]))
    left = (pdf.w - COLUMNS * CARD_W - (COLUMNS - 1) * GUTTER) / 2
    top = (pdf.h - ROWS * CARD_H - (ROWS - 1) * GUTTER) / 2
    for i, card in enumerate(cards):
        if i % PER_PAGE == 0:
            pdf.add_page()
        slot = i % PER_PAGE
        x = left + (slot % COLUMNS) * (CARD_W + GUTTER)
        y = top + (slot // COLUMNS) * (CARD_H + GUTTER)
        _cut_marks(pdf, x, y)
        _card(pdf, card, x, y)
    return bytes(pdf.output())


def _cut_marks(pdf: FPDF, x: float, y: float) -> None:
    pdf.set_draw_color(0)
    pdf.set_line_width(0.2)
    for cx, dx in ((x, -1), (x + CARD_W, 1)):
        for cy, dy in ((y, -1), (y + CARD_H, 1)):
            pdf.line(cx + dx * 0.8, cy, cx + dx * (0.8 + MARK), cy)  # horizontal, outside the card
            pdf.line(cx, cy + dy * 0.8, cx, cy + dy * (0.8 + MARK))  # vertical, outside the card
    pdf.set_draw_color(200)
    pdf.set_line_width(0.1)
    pdf.rect(x, y, CARD_W, CARD_H)  # a faint edge: where the card is, if the cut is off by a hair


def _qr(pdf: FPDF, text: str, x: float, y: float, size: float) -> None:
    code = segno.make(text, error="m", micro=False)
    matrix = [list(row) for row in code.matrix_iter(border=4)]
    module = size / len(matrix)
    pdf.set_fill_color(0)
    for row, bits in enumerate(matrix):
        col = 0
        while col < len(bits):  # one rectangle per run of dark modules: a smaller file, no hairline seams
            if bits[col]:
                start = col
                while col < len(bits) and bits[col]:
                    col += 1
                pdf.rect(x + start * module, y + row * module, (col - start) * module, module, style="F")
            else:
                col += 1


def _card(pdf: FPDF, card: CardFace, x: float, y: float) -> None:
    _qr(pdf, card.payload, x + 1.5, y + (CARD_H - QR_SIZE) / 2 - 3, QR_SIZE)
    text_x = x + QR_SIZE + 3
    width = CARD_W - QR_SIZE - 4.5
    pdf.set_text_color(160, 0, 0)
    pdf.set_font("DejaVu", "B", 7.5)
    pdf.set_xy(text_x, y + 2.5)
    pdf.cell(width, 3.5, text(TITLE))
    pdf.set_text_color(90)
    pdf.set_font("DejaVu", "", 6)
    pdf.set_xy(text_x, y + 6)
    pdf.cell(width, 3, f"{card.district} · {card.province}")
    pdf.set_text_color(0)
    size = next((s for s in NAME_SIZES if _lines(pdf, card.name, s, width) <= 2), NAME_SIZES[-1])
    pdf.set_font("DejaVu", "B", size)
    pdf.set_xy(text_x, y + 10.5)
    pdf.multi_cell(width, size * 0.45, card.name, align="L")
    pdf.set_font("DejaVu", "", 7.5)
    pdf.set_xy(text_x, y + 25)
    pdf.multi_cell(width, 3.6, text("Year of birth: {year}", year=card.birth_year) + f"\n{card.commune}", align="L")
    pdf.set_font("DejaVu", "B", 9)
    pdf.set_xy(text_x, y + 33.5)
    pdf.cell(width, 4, text("Card number: {number}", number=f"{card.number:06d}"))
    pdf.set_font("DejaVu", "", 6)
    pdf.set_xy(text_x, y + 38)
    pdf.cell(width, 3, text("Issued {date}", date=f"{card.issued_on:%d/%m/%Y}"))
    pdf.set_xy(x + 2, y + CARD_H - 10)
    pdf.set_font("DejaVu", "", 6.3)
    pdf.multi_cell(CARD_W - 4, 2.7, text(HOW), align="L")
    pdf.set_text_color(90)
    pdf.set_font("DejaVu", "", 5.3)
    pdf.set_x(x + 2)
    pdf.multi_cell(CARD_W - 4, 2.4, text(HOW, "en"), align="L")


def _lines(pdf: FPDF, text: str, size: float, width: float) -> int:
    pdf.set_font("DejaVu", "B", size)
    lines = pdf.multi_cell(width, size * 0.45, text, align="L", dry_run=True, output="LINES")
    assert isinstance(lines, list)
    return len(lines)
