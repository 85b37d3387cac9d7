"""The enrolment code as a page to print: the QR code, and under it everything a commune
officer needs to check it is the right sheet for the right kiosk, readable from a metre.

The sheet travels (by hand, by Zalo photo) to someone who did not make it, so it carries
the checkpoint's code and name, the code itself in large letters (to type when a camera
will not read the QR), the server it points to and the expiry in Vietnam time. A code
whose server is this machine only (127.0.0.1) says so on the page: printed, it would
otherwise look valid and fail at the checkpoint.

Rendered with Pillow in DejaVu (Debian's fonts-dejavu-core, which setup.sh installs for the
server): its glyphs cover Vietnamese, whose stacked diacritics (ặ, ữ, Đ) are exactly what
a font without them drops silently. Without the font the sheet is refused before the code
is made, never printed with empty boxes. Pillow is imported only when a sheet is drawn.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from kiosk.catalog import N_, bilingual, text
from kiosk.clock import LOCAL_TZ
from kiosk.private import write_private
from server.errors import UserError
from sync.transport import is_loopback

if TYPE_CHECKING:
    from PIL import Image, ImageDraw, ImageFont

    from server.enrolment import EnrollCode

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = {"regular": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf", "mono": "DejaVuSansMono-Bold.ttf"}
FONT_PACKAGE = "fonts-dejavu-core"

PAGE = (1240, 1754)  # A4 at 150 dpi, portrait
MARGIN = 90
QR_MAX = 760
LEADING = 8  # between the lines of one block
GAP = 22  # between blocks

Style = Literal["title", "subtitle", "label", "value", "place", "code", "fingerprint", "small", "warning"]
STYLES: dict[Style, tuple[str, int, str]] = {  # font, size in px, colour
    "title": ("bold", 50, "#000000"),
    "subtitle": ("regular", 28, "#444444"),
    "label": ("regular", 26, "#555555"),
    "value": ("bold", 40, "#000000"),
    "place": ("regular", 30, "#000000"),
    "code": ("mono", 104, "#000000"),
    "fingerprint": ("mono", 46, "#000000"),
    "small": ("regular", 26, "#000000"),
    "warning": ("bold", 28, "#b00000"),
}


@dataclass(frozen=True)
class Sheet:
    code: str
    checkpoint: str  # its code, e.g. BD-001
    checkpoint_name: str
    place: str  # commune · district · province
    server: str
    expires_at: datetime
    qr_text: str
    local_only: bool = False  # the server is 127.0.0.1: only a kiosk on this machine can use it


TITLE = N_("Kiosk enrolment code")


def local_expiry(moment: datetime) -> str:
    """``08:00 ngày 24/11/2026 (giờ Việt Nam)``: the way the sheet's readers read a time."""
    local = moment.astimezone(LOCAL_TZ)
    return text("{time} on {date} (Vietnam time, UTC+7)", "vi", time=f"{local:%H:%M}", date=f"{local:%d/%m/%Y}")


def caption(sheet: Sheet) -> list[tuple[Style, str]]:
    """The words under the QR code, top to bottom, each with its style; a label starts a block."""
    lines: list[tuple[Style, str]] = [
        ("code", sheet.code),
        ("label", bilingual("enrolment code, single use")),
        ("label", bilingual("checkpoint")),
        ("value", f"{sheet.checkpoint} · {sheet.checkpoint_name}"),
        ("place", sheet.place),
        ("label", bilingual("server")),
        ("small", sheet.server),
        ("label", bilingual("expires")),
        ("small", local_expiry(sheet.expires_at)),
    ]
    if sheet.local_only:
        lines.append(
            (
                "warning",
                bilingual("Works only for a kiosk on the server machine itself: set server.public_url and print again."),
            )
        )
    lines.append(
        (
            "small",
            bilingual("On the kiosk: Admin → Enrolment → scan this QR code, or type the server and the code."),
        )
    )
    return lines


def font_paths() -> dict[str, Path]:
    """The DejaVu files, or a UserError naming the package to install."""
    paths = {role: FONT_DIR / name for role, name in FONT_FILES.items()}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise UserError(
            "font_missing",
            bilingual(
                "the font for Vietnamese text is missing ({files}): install {package} and run again",
                files=", ".join(missing),
                package=FONT_PACKAGE,
            ),
        )
    return paths


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy by words; a word wider than the page (a long URL) is cut between characters."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}".strip()
        if draw.textlength(candidate, font=font) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        for char in word:
            if draw.textlength(current + char, font=font) > width and current:
                lines.append(current)
                current = ""
            current += char
    if current:
        lines.append(current)
    return lines


@dataclass(frozen=True)
class Placed:
    """A line of text as drawn: its style and box (left, top, right, bottom) on the page."""

    style: Style
    text: str
    box: tuple[int, int, int, int]


def render(sheet: Sheet) -> tuple[Image.Image, list[Placed]]:
    """The page and where each line went (for tests: nothing outside the page)."""
    return render_page(TITLE, sheet.qr_text, caption(sheet))


def render_page(title: str, qr_text: str, words: list[tuple[Style, str]]) -> tuple[Image.Image, list[Placed]]:
    """An A4 page: ``title`` (a msgid, in Vietnamese then English), the QR code of ``qr_text``
    as large as the page allows, and ``words`` under it; also where each line went."""
    import segno
    from PIL import Image, ImageDraw, ImageFont

    paths = font_paths()
    fonts = {style: ImageFont.truetype(str(paths[role]), size) for style, (role, size, _) in STYLES.items()}
    page = Image.new("RGB", PAGE, "white")
    draw = ImageDraw.Draw(page)
    width = PAGE[0] - 2 * MARGIN

    def block(style: Style, text: str, after: Style | None) -> list[tuple[Style, str, int]]:
        """Its lines and the height each takes; a block ends with a gap unless its label's value follows."""
        font = fonts[style]
        height = int(font.getbbox("ĐẶỮgjy")[3]) + LEADING  # the tallest Vietnamese stack and descenders: nothing overlaps
        lines = _wrap(draw, text, font, width)
        last_gap = 0 if after in ("value", "small", "place", "fingerprint") and style in ("label", "value") else GAP
        return [(style, line, height + (last_gap if i == len(lines) - 1 else 0)) for i, line in enumerate(lines)]

    header = [*block("title", text(title, "vi"), None), *block("subtitle", text(title, "en"), None)]
    body = [
        item
        for i, (style, text) in enumerate(words)
        for item in block(style, text, words[i + 1][0] if i + 1 < len(words) else None)
    ]
    text_height = sum(h for *_, h in header + body) + GAP
    qr = segno.make(qr_text, error="m", micro=False)
    modules = qr.symbol_size(scale=1, border=4)[0]
    room = PAGE[1] - 2 * MARGIN - text_height
    scale = max(1, min(QR_MAX, room) // modules)

    placed: list[Placed] = []
    y = MARGIN

    def put(items: list[tuple[Style, str, int]]) -> None:
        nonlocal y
        for style, line, height in items:
            font = fonts[style]
            centred = style in ("title", "subtitle", "code", "fingerprint")
            x = (PAGE[0] - int(draw.textlength(line, font=font))) // 2 if centred else MARGIN
            draw.text((x, y), line, font=font, fill=STYLES[style][2])
            left, top, right, bottom = draw.textbbox((x, y), line, font=font)
            placed.append(Placed(style, line, (int(left), int(top), int(right), int(bottom))))
            y += height

    put(header)
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=scale, border=4)
    buffer.seek(0)
    qr_image = Image.open(buffer).convert("RGB")
    page.paste(qr_image, ((PAGE[0] - qr_image.width) // 2, y))
    y += qr_image.height + GAP
    put(body)
    return page, placed


def local_only(url: str) -> bool:
    """A server URL only this machine can reach (127.0.0.1, localhost): useless on a printed code."""
    try:
        return is_loopback(urlsplit(url).hostname)
    except ValueError:
        return False


def sheet_for(made: EnrollCode, server_url: str) -> Sheet:
    """The page to print for a code just made (the CLI's --png and the console's print page)."""
    place = made.checkpoint or {}
    return Sheet(
        code=made.code,
        checkpoint=place.get("code", ""),
        checkpoint_name=place.get("name", ""),
        place=" · ".join(place[k] for k in ("commune", "district", "province") if place.get(k)),
        server=server_url,
        expires_at=made.expires_at,
        qr_text=made.qr,
        local_only=local_only(server_url),
    )


def png(sheet: Sheet) -> bytes:
    page, _placed = render(sheet)
    out = io.BytesIO()
    page.save(out, format="PNG", dpi=(150, 150))
    return out.getvalue()


def save(sheet: Sheet, path: Path) -> list[Placed]:
    """The page as a PNG at ``path``, mode 0600: until it is printed, the code on it enrols a kiosk."""
    page, placed = render(sheet)
    png = io.BytesIO()
    page.save(png, format="PNG", dpi=(150, 150))
    write_private(path, png.getvalue())
    return placed
