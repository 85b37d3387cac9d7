"""Decode rate of printed district cards as the photograph gets worse, next to its floor.

A card sheet (server/card_sheet.py, 10 cards a page, the worst-case long name included) is
rendered by pdftoppm at 150 and 300 dpi, each card is cut out of the page image, and the
kiosk's decoder (drivers/decoder.py: zxing-cpp, as the camera uses it) reads every card
under growing trouble: blur, glare, tilt, angle (tests/cardprint.py). A read counts only if
the card also verifies against the district key and gives the name exactly.

The floor is the same cards cut out of the same rendering and read with no distortion at
all: what the printing itself allows. The rows say how far each kind of trouble moves the
rate from it. Run: .venv/bin/python bench/card_decode.py [--seeds 3]  (about 5 minutes per seed on 2 busy cores).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from drivers.decoder import decode_frame  # noqa: E402
from kiosk.credentials import Card  # noqa: E402
from kiosk.recognise import recognise  # noqa: E402
from server.card_sheet import card_pdf  # noqa: E402
from server.cards import CardFace  # noqa: E402
from tests.cardfixtures import COMMUNE, ISSUED, NAMES, card_text, trust, worst_case_name  # noqa: E402
from tests.cardprint import Look, cut_cards, photograph, render_pages  # noqa: E402

TROUBLES: list[tuple[str, Look]] = [
    ("turned 30°", Look(angle=30)),
    ("tilted 25 %", Look(angle=10, tilt=0.25)),
    ("blur σ 0.8 px", Look(blur_sigma=0.8)),
    ("blur σ 1.2 px", Look(blur_sigma=1.2)),
    ("blur σ 1.6 px", Look(blur_sigma=1.6)),
    ("glare +80", Look(glare=80)),
    ("glare +140", Look(glare=140)),
    ("noise σ 15", Look(noise=15)),
    ("all at once (mild)", Look(angle=-40, tilt=0.15, blur_sigma=0.8, glare=70, noise=8)),
    ("all at once (hard)", Look(angle=-40, tilt=0.3, blur_sigma=1.3, glare=120, noise=12)),
]


def sheet(out: Path) -> tuple[Path, list[str]]:
    names = [*NAMES, worst_case_name()]
    faces = [
        CardFace(i, name, 1940 + i % 60, COMMUNE, "Huyện Quảng Điền", "Tỉnh Thừa Thiên Huế", ISSUED, card_text(i, name), False)
        for i, name in enumerate(names, 1)
    ]
    pdf = out / "cards.pdf"
    pdf.write_bytes(card_pdf(faces))
    return pdf, names


def good(frame: np.ndarray, name: str) -> bool:
    for code in decode_frame(frame):
        card = recognise(code.text, cards=trust())
        if isinstance(card, Card) and card.check == "valid" and card.name == name:
            return True
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1, help="photographs per card and trouble (default 1)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pdf, names = sheet(Path(tmp))
        for dpi in (150, 300):
            pages = render_pages(pdf, dpi, Path(tmp) / f"p{dpi}")
            cards = []
            for number, page in enumerate(pages):
                cards += cut_cards(cv2.imread(str(page)), dpi, len(names) - 10 * number)
            floor = sum(good(card, name) for card, name in zip(cards, names, strict=True))
            print(f"\n{dpi} dpi, {len(cards)} cards on {len(pages)} pages")
            print(f"  {'floor: cut out, no distortion':32} {floor:3d}/{len(cards)}  {100 * floor / len(cards):5.1f} %")
            for label, look in TROUBLES:
                total = len(cards) * args.seeds
                ok = sum(
                    good(photograph(card, look, seed=seed), name)
                    for seed in range(args.seeds)
                    for card, name in zip(cards, names, strict=True)
                )
                print(f"  {label:32} {ok:3d}/{total}  {100 * ok / total:5.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
