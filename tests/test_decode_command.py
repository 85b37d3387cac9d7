"""``checkpoint-kiosk decode``: the real console script on generated and shared QR images."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from tests.conftest import CliResult, run_cli
from tests.qrframes import CCCD_DUC, CCCD_TUYET, FRAME_W, dcc_samples, scene, write_video


def lines(result: CliResult) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_images_png_and_jpeg_including_two_codes_in_one_photo(tmp_path: Path) -> None:
    left = scene(CCCD_DUC, width_px=220, angle=20, centre=(165, 240))
    right = scene("0912345678", width_px=150, angle=-30, centre=(480, 240))
    both = np.hstack([left[:, : FRAME_W // 2], right[:, FRAME_W // 2 :]])
    cv2.imwrite(str(tmp_path / "two.png"), both)
    cv2.imwrite(
        str(tmp_path / "card.jpg"), scene(CCCD_TUYET, width_px=200, angle=45, blur_sigma=1.0), [cv2.IMWRITE_JPEG_QUALITY, 80]
    )
    result = run_cli("decode", str(tmp_path / "two.png"), str(tmp_path / "card.jpg"))
    assert result.code == 0, result.stderr
    found = sorted(lines(result), key=lambda line: (line["file"], line["text"]))
    assert found == [
        {"file": str(tmp_path / "card.jpg"), "frame": 0, "format": "QRCode", "text": CCCD_TUYET, "kind": "cccd"},
        {"file": str(tmp_path / "two.png"), "frame": 0, "format": "QRCode", "text": CCCD_DUC, "kind": "cccd"},
        {"file": str(tmp_path / "two.png"), "frame": 0, "format": "QRCode", "text": "0912345678", "kind": "phone"},
    ]


def test_video_reports_each_code_once_at_the_frame_it_came_into_view(tmp_path: Path) -> None:
    frames = [scene(None)] * 4 + [scene(CCCD_DUC, angle=a) for a in (0, 10, 20)] + [scene("Lê Anh Sơn|Nam")] * 3
    video = write_video(tmp_path / "gate.avi", frames)
    result = run_cli("decode", str(video))
    assert result.code == 0, result.stderr
    assert [(line["frame"], line["text"], line["kind"]) for line in lines(result)] == [
        (4, CCCD_DUC, "cccd"),
        (7, "Lê Anh Sơn|Nam", "opaque"),
    ]


@pytest.mark.parametrize(("name", "png", "prefix"), dcc_samples(), ids=[case[0] for case in dcc_samples()])
def test_shared_dcc_sample_images(tmp_path: Path, name: str, png: bytes, prefix: str) -> None:
    image = tmp_path / f"{name}.png"
    image.write_bytes(png)
    result = run_cli("decode", str(image))
    assert result.code == 0, result.stderr
    assert lines(result) == [{"file": str(image), "frame": 0, "format": "QRCode", "text": prefix, "kind": "dcc"}]


def test_the_shared_samples_are_there() -> None:
    assert len(dcc_samples()) >= 2


def test_a_file_without_a_code_exits_1_after_the_others_are_decoded(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "empty.png"), scene(None))
    cv2.imwrite(str(tmp_path / "card.png"), scene(CCCD_DUC))
    result = run_cli("decode", str(tmp_path / "empty.png"), str(tmp_path / "card.png"))
    assert result.code == 1
    assert [line["text"] for line in lines(result)] == [CCCD_DUC]
    assert result.stderr == f"decode: {tmp_path / 'empty.png'}: không tìm thấy mã QR (no QR code found)\n"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_text("079203001234|Nguyễn Văn Đức", "utf-8"), "not an image or video that OpenCV can read"),
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40), "not an image or video that OpenCV can read"),
        (lambda p: None, "no such file or folder"),
    ],
)
def test_unreadable_files_get_a_clear_message_and_no_traceback(tmp_path: Path, make: Any, message: str) -> None:
    target = tmp_path / "scan.png"
    make(target)
    result = run_cli("decode", str(target))
    assert result.code == 1 and result.stdout == ""
    assert result.stderr == f"decode: {target}: {message}\n"
    assert "Nguyễn" not in result.stderr
