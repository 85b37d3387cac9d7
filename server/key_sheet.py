"""The district's encryption key as a page to print, for kiosks that load it by QR code.

A kiosk that has never been enrolled (or only ever syncs by USB) needs the district's
public key before its first visit is sealed (``checkpoint-kiosk district-key --qr``). The
page carries the key as a QR code in the wedge-safe ``DK1`` form (kiosk/seal.py), the
key's fingerprint in groups of four (the kiosk's admin types it, and the kiosk refuses a
key that does not match it: a QR code pasted over the printed one does not pass), the
district's name, and the command to run. The same A4 layout and fonts as the enrolment
sheet (server/code_sheet.py). A public key is no secret: the file gets the usual mode.
"""

from __future__ import annotations

import io
from pathlib import Path

from kiosk.catalog import N_, bilingual
from kiosk.seal import DistrictKey, grouped
from server.code_sheet import Placed, Style, render_page

TITLE = N_("District encryption key")


def words(key: DistrictKey, district: str) -> list[tuple[Style, str]]:
    """The lines under the QR code, top to bottom, each with its style."""
    return [
        ("label", bilingual("fingerprint")),
        *(("fingerprint", half) for half in fingerprint_lines(key)),
        ("label", bilingual("district")),
        ("value", district),
        (
            "small",
            bilingual(
                'On the kiosk: checkpoint-kiosk district-key --qr --fingerprint "{fingerprint}", then scan this '
                "QR code with the kiosk's reader. The kiosk refuses a key whose fingerprint is not the one printed here.",
                fingerprint=grouped(key.fingerprint),
            ),
        ),
    ]


def fingerprint_lines(key: DistrictKey) -> tuple[str, str]:
    """The fingerprint's ten groups of four as two lines of five, large enough to compare at arm's length."""
    groups = grouped(key.fingerprint).split(" ")
    return " ".join(groups[:5]), " ".join(groups[5:])


def save(key: DistrictKey, district: str, path: Path) -> list[Placed]:
    """The page as an A4 PNG (150 dpi) at ``path``; where each line went."""
    page, placed = render_page(TITLE, key.qr_text(), words(key, district))
    out = io.BytesIO()
    page.save(out, format="PNG", dpi=(150, 150))
    path.write_bytes(out.getvalue())
    return placed
