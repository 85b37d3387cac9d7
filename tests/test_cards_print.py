"""Cards from the district's command to the kiosk's camera: issue, print, render, cut, photograph, scan.

The real ``checkpoint-server cards issue`` makes the PDF; pdftoppm renders its pages at 150
and 300 dpi (an office printer's range); each card is cut out of the page image, held up in
front of the camera (turned, tilted, out of focus, with glare: tests/cardprint.py) and the
frames go through the kiosk's real camera source (OpenCV capture of an image folder, the
zxing-cpp decoder). Every card must decode and verify, with the name exactly as issued.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from kiosk.credentials import Card
from kiosk.recognise import recognise
from tests.cardfixtures import COMMUNE, DISTRICT_KEY, NAMES, pem, trust, worst_case_name
from tests.cardprint import Look, cut_cards, photograph, render_pages
from tests.test_camera import replay

SERVER = str(Path(sys.executable).with_name("checkpoint-server"))
RESIDENTS = [*NAMES, worst_case_name()]
# One look per card, cycling: every card of a sheet meets each kind of trouble.
LOOKS = [
    Look(),
    Look(angle=17, blur_sigma=1.0),
    Look(angle=-35, tilt=0.15),
    Look(angle=90, glare=110),
    Look(angle=180, blur_sigma=0.9, noise=8),
    Look(angle=8, tilt=0.25, glare=80),
    Look(angle=-60, blur_sigma=0.8, glare=60),
    Look(angle=270, noise=12),
]


def server(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SERVER, *args], capture_output=True, text=True, timeout=120, env={**os.environ, **env})


@pytest.fixture(scope="module")
def sheet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The PDF the district prints for Thị trấn Sịa's residents."""
    home = tmp_path_factory.mktemp("district")
    key = home / "card-signing-key.pem"
    key.write_bytes(pem(DISTRICT_KEY))
    key.chmod(0o600)
    config = home / "server.toml"
    config.write_text(f'[server]\ndata_dir = "{home}"\n\n[cards]\nsigning_key = "{key}"\n', "utf-8")
    env = {"CHECKPOINT_SERVER_CONFIG": str(config)}
    assert server("migrate", env=env).returncode == 0
    added = server("commune", "add", COMMUNE, "--district", "Huyện Quảng Điền", "--province", "Thừa Thiên Huế", env=env)
    assert added.returncode == 0, added.stderr
    residents = home / "residents.csv"
    rows = [f"{name},{1940 + i}" for i, name in enumerate(RESIDENTS)]
    residents.write_text("\ufeffname,birth_year\n" + "\n".join(rows) + "\n", "utf-8")  # Excel's "CSV UTF-8"
    out = home / "cards.pdf"
    issued = server("cards", "issue", "--commune", "thị trấn sịa", "--from", str(residents), "-o", str(out), env=env)
    assert issued.returncode == 0, issued.stderr
    assert "Đã ghi 17 thẻ, 2 trang" in issued.stdout
    return out


@pytest.mark.parametrize("dpi", [150, 300])
def test_every_printed_card_decodes_through_the_camera_and_verifies(sheet: Path, dpi: int, tmp_path: Path) -> None:
    pages = render_pages(sheet, dpi, tmp_path / "pages")
    assert len(pages) == 2
    cards = []
    for page_no, page in enumerate(pages):
        image = cv2.imread(str(page))
        cards += cut_cards(image, dpi, len(RESIDENTS) - 10 * page_no)
    assert len(cards) == len(RESIDENTS)
    frames = tmp_path / "frames"
    frames.mkdir()
    for i, card in enumerate(cards):
        frame = photograph(card, LOOKS[i % len(LOOKS)], seed=i)
        cv2.imwrite(str(frames / f"frame_{i:03d}.png"), frame)
    events, status = replay(frames)
    read = [recognise(event.text or "", cards=trust()) for event in events]
    decoded = sum(isinstance(r, Card) and r.check == "valid" for r in read)
    print(f"\ndecode rate at {dpi} dpi: {decoded}/{len(RESIDENTS)} cards decoded and verified")
    assert [r.name if isinstance(r, Card) else r for r in read] == RESIDENTS  # exact, in order
    assert all(isinstance(r, Card) and r.check == "valid" and r.commune == COMMUNE for r in read)
    assert [r.number for r in read if isinstance(r, Card)] == list(range(1, len(RESIDENTS) + 1))
    n = len(RESIDENTS)
    assert status.detail == f"hết đoạn ghi: {n} khung hình, {n} lần thấy mã (end of recording: {n} frames, {n} code appearances)"
