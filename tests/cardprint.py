"""Printed card sheets as a camera sees them: pages rendered by pdftoppm, cards cut out, photographed.

Shared by tests/test_cards_print.py (every card must decode) and bench/card_decode.py (the
decode rate as the distortions grow). The cut follows server/card_sheet.py's geometry; the
distortions are those of the camera corpus (tests/qrframes.py: angle, blur, noise) plus glare,
a bright spot a ceiling light leaves on a laminated card.
"""

from __future__ import annotations

import math
import subprocess
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from server.card_sheet import CARD_H, CARD_W, COLUMNS, GUTTER, PER_PAGE, ROWS
from tests.qrframes import add_noise, blur

A4 = (210.0, 297.0)  # mm


def render_pages(pdf: Path, dpi: int, out: Path) -> list[Path]:
    """The PDF's pages as PNG files at ``dpi``, by poppler's pdftoppm (as a print shop proof)."""
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(out / "page")], check=True, timeout=120)
    return sorted(out.glob("page-*.png"))


def cut_cards(page: np.ndarray, dpi: int, count: int) -> list[np.ndarray]:
    """The first ``count`` cards of a page image, each with a 1 mm white margin."""
    px = dpi / 25.4
    left = (A4[0] - COLUMNS * CARD_W - (COLUMNS - 1) * GUTTER) / 2
    top = (A4[1] - ROWS * CARD_H - (ROWS - 1) * GUTTER) / 2
    cards = []
    for slot in range(min(count, PER_PAGE)):
        x = left + (slot % COLUMNS) * (CARD_W + GUTTER)
        y = top + (slot // COLUMNS) * (CARD_H + GUTTER)
        x0, y0 = round((x - 1) * px), round((y - 1) * px)
        x1, y1 = round((x + CARD_W + 1) * px), round((y + CARD_H + 1) * px)
        cards.append(page[y0:y1, x0:x1].copy())
    return cards


@dataclass(frozen=True)
class Look:
    """How a card is held in front of the camera."""

    angle: float = 0.0  # degrees, in the image plane
    tilt: float = 0.0  # perspective: the far edge this fraction narrower
    blur_sigma: float = 0.0  # out of focus, in pixels of the frame
    glare: float = 0.0  # peak brightness added by a reflection, 0–255
    noise: float = 3.0  # sensor noise
    scale: float = 1.0  # the card's size in the frame relative to its rendering


def photograph(card: np.ndarray, look: Look, seed: int = 0) -> np.ndarray:
    """The card on a desk, as a camera frame: scaled, tilted, turned, blurred, with glare and noise."""
    rng = np.random.default_rng(seed)
    if look.scale != 1.0:
        card = cv2.resize(card, None, fx=look.scale, fy=look.scale, interpolation=cv2.INTER_AREA)
    h, w = card.shape[:2]
    side = int(math.hypot(w, h)) + 80
    frame = np.full((side, side, 3), (96, 110, 120), np.uint8)  # a grey-brown desk
    frame = add_noise(frame, 12.0, rng)
    squeeze = look.tilt * w / 2
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[squeeze, 0], [w - squeeze, 0], [w, h], [0, h]])
    off = np.float32([(side - w) / 2, (side - h) / 2])
    turn = cv2.getRotationMatrix2D((side / 2, side / 2), look.angle, 1.0)
    corners = cv2.transform((dst + off)[None], turn)[0]
    matrix = cv2.getPerspectiveTransform(src, corners.astype(np.float32))
    warped = cv2.warpPerspective(card, matrix, (side, side), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), matrix, (side, side), flags=cv2.INTER_NEAREST)
    frame[mask > 0] = warped[mask > 0]
    if look.glare:
        yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
        cx, cy = side * rng.uniform(0.35, 0.65), side * rng.uniform(0.35, 0.65)
        spot = look.glare * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * (side / 7) ** 2))
        frame = np.clip(frame.astype(np.float32) + spot[..., None], 0, 255).astype(np.uint8)
    return add_noise(blur(frame, look.blur_sigma), look.noise, rng)
