"""Camera-like test frames with real QR codes, for the camera tests and bench/decode_frame.py.

The codes hold Vietnamese UTF-8 text in byte mode with no ECI marker, exactly as chip ID
cards carry it, so a decoder that guesses the character set is caught. The scenes are
640×480 BGR with clutter and noise, because a clean white page flatters every decoder.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np
import segno

REPO = Path(__file__).resolve().parents[1]
DCC_SAMPLES = REPO.parent / "shared" / "samples" / "dcc"
FRAME_W, FRAME_H = 640, 480

CCCD_DUC = "079203001234|123456789|Nguyễn Văn Đức|01022003|Nam|Số 12 Lê Lợi, Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh|15062021"
CCCD_TUYET = "070185004321||Nguyễn Thị Ánh Tuyết|14071985|Nữ|Thôn 3, Xã Đăk Nhau, Huyện Bù Đăng, Tỉnh Bình Phước|10052021"

# Real Vietnamese names, including the short ones zbar's charset guessing garbles.
NAMES = (
    "Lê Anh Sơn",
    "Nguyễn Văn Đức",
    "Trần Thị Ngọc Ánh",
    "Phạm Minh Tuấn",
    "Hoàng Thị Thu Hà",
    "Huỳnh Văn Lợi",
    "Phan Thị Hồng Nhung",
    "Vũ Đức Thắng",
    "Võ Thị Mỹ Dung",
    "Đặng Quốc Bảo",
    "Bùi Thị Hường",
    "Đỗ Văn Hùng",
    "Hồ Thị Lệ Thủy",
    "Ngô Quang Vinh",
    "Dương Thị Thảo",
    "Lý Văn Phúc",
    "Đinh Thị Ngà",
    "Trương Công Định",
    "Mai Thị Xuân",
    "Lưu Đình Trọng",
    "Tạ Thị Yến",
    "Cao Văn Khải",
    "Châu Ngọc Hân",
    "Quách Thị Ơn",
    "Kiều Thị Oanh",
    "Lâm Vĩnh Phước",
    "Triệu Thị Nguyệt",
    "Đoàn Văn Hậu",
    "La Thị Ửng",
    "Nguyễn Thị Ánh Tuyết",
    "Đàm Vĩnh Hưng",
    "Ông Văn Ích",
    "Tô Thị Ẩn",
    "Ứng Hoàng Phúc",
    "Hà Thị Ưng",
    "Giáp Văn Ất",
    "Lò Văn Pảo",
    "Y Moan Ênuôl",
    "H'Hen Niê",
    "Sầm Thị Đượm",
)
ADDRESSES = (
    "Số 12 Lê Lợi, Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh",
    "Thôn 3, Xã Đăk Nhau, Huyện Bù Đăng, Tỉnh Bình Phước",
    "Tổ 5, Phường Quyết Thắng, TP. Lai Châu, Tỉnh Lai Châu",
    "Ấp Phú Hữu, Xã Phước Hưng, Huyện Long Điền, Tỉnh Bà Rịa - Vũng Tàu",
)


def short_payloads() -> list[str]:
    """``name|sex``: short, almost all non-ASCII — where charset guessing fails most."""
    return [f"{name}|{'Nữ' if ' Thị ' in name else 'Nam'}" for name in NAMES]


def cccd_payloads() -> list[str]:
    """Full 7-field CCCD strings, one per name, with plausible distinct numbers."""
    out = []
    for i, name in enumerate(NAMES):
        female = " Thị " in name
        ident = f"0{79 - i % 60:02d}{3 if female else 2}{85 + i % 15:02d}{1234 + 37 * i:06d}"
        old = f"{285000000 + 7919 * i}" if i % 3 else ""
        dob = f"{1 + i % 28:02d}{1 + i % 12:02d}19{60 + i % 40}"
        out.append(f"{ident}|{old}|{name}|{dob}|{'Nữ' if female else 'Nam'}|{ADDRESSES[i % len(ADDRESSES)]}|1506202{1 + i % 2}")
    return out


def qr_modules(text: str) -> np.ndarray:
    """The code's module matrix (1 = dark) with a 4-module quiet zone; UTF-8 byte mode, no ECI."""
    code = segno.make(text, encoding="utf-8", mode="byte", eci=False, micro=False)
    return np.pad(np.array(code.matrix, dtype=np.uint8), 4)


def code_image(text: str, width_px: int, dark: int = 20, light: int = 235) -> np.ndarray:
    """The code as a grayscale square ``width_px`` wide (quiet zone included)."""
    modules = qr_modules(text)
    img = np.where(modules == 1, dark, light).astype(np.uint8)
    return cv2.resize(img, (width_px, width_px), interpolation=cv2.INTER_AREA)


def background(seed: int = 0) -> np.ndarray:
    """A cluttered 640×480 BGR scene: gradient, boxes, text and sensor noise."""
    rng = np.random.default_rng(seed)
    x = np.linspace(60, 170, FRAME_W, dtype=np.float32)
    y = np.linspace(0, 40, FRAME_H, dtype=np.float32)[:, None]
    frame = np.dstack([x + y, x * 0.9 + y, x * 0.8 + y]).astype(np.uint8)
    for _ in range(12):
        x0, y0 = int(rng.integers(0, FRAME_W - 60)), int(rng.integers(0, FRAME_H - 40))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.rectangle(frame, (x0, y0), (x0 + int(rng.integers(20, 160)), y0 + int(rng.integers(10, 90))), colour, -1)
    for row in range(6):
        cv2.putText(frame, "CHOT KIEM SOAT 0912 345 678", (10, 40 + 75 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (30, 30, 30), 2)
    return add_noise(frame, 6.0, rng)


def add_noise(frame: np.ndarray, sigma: float, rng: np.random.Generator | None = None) -> np.ndarray:
    rng = rng or np.random.default_rng(1)
    noisy = frame.astype(np.float32) + rng.normal(0.0, sigma, frame.shape).astype(np.float32)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def blur(frame: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(frame, (0, 0), sigma) if sigma > 0 else frame


def scene(
    text: str | None,
    *,
    width_px: int = 200,
    angle: float = 0.0,
    blur_sigma: float = 0.0,
    noise: float = 4.0,
    dark: int = 20,
    light: int = 235,
    centre: tuple[int, int] = (FRAME_W // 2, FRAME_H // 2),
    seed: int = 0,
) -> np.ndarray:
    """A 640×480 BGR frame with the code (or none) pasted rotated by ``angle`` degrees."""
    frame = background(seed)
    if text is not None:
        code = code_image(text, width_px, dark, light)
        side = int(math.ceil(width_px * math.sqrt(2))) + 2
        canvas = np.zeros((side, side), np.uint8)
        mask = np.zeros((side, side), np.uint8)
        off = (side - width_px) // 2
        canvas[off : off + width_px, off : off + width_px] = code
        mask[off : off + width_px, off : off + width_px] = 255
        turn = cv2.getRotationMatrix2D((side / 2, side / 2), angle, 1.0)
        canvas = cv2.warpAffine(canvas, turn, (side, side), flags=cv2.INTER_LINEAR)
        mask = cv2.warpAffine(mask, turn, (side, side), flags=cv2.INTER_NEAREST)
        x0, y0 = centre[0] - side // 2, centre[1] - side // 2
        region = frame[y0 : y0 + side, x0 : x0 + side]
        region[mask > 0] = cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR)[mask > 0]
    return add_noise(blur(frame, blur_sigma), noise, np.random.default_rng(seed + 7))


def write_video(path: Path, frames: Iterable[np.ndarray], fps: float = 10.0) -> Path:
    """Motion-JPEG in AVI: the opencv-python-headless wheel both writes and reads it."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (FRAME_W, FRAME_H))
    if not writer.isOpened():
        raise RuntimeError(f"cannot write {path}")
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def dcc_samples() -> list[tuple[str, bytes, str]]:
    """(name, PNG bytes, expected text) for every shared DCC test vector that has a QR image."""
    out = []
    for path in sorted(DCC_SAMPLES.glob("*.json")):
        case = json.loads(path.read_text("utf-8"))
        if "2DCODE" in case:
            out.append((path.stem, base64.b64decode(case["2DCODE"]), case["PREFIX"]))
    return out
