"""The camera source, run on generated recordings through the real OpenCV capture code."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers.camera import CameraSource
from drivers.capture import Frame, open_recording
from drivers.decoder import decode_frame
from drivers.frame_slot import FrameSlot
from drivers.source import SourceState, SourceStatus
from kiosk.config import CameraScannerConfig
from kiosk.scan import ScanEvent
from tests.conftest import FakeClock
from tests.qrframes import CCCD_DUC, CCCD_TUYET, cccd_payloads, scene, write_video
from tests.test_scan import make_service

DEADLINE_S = 60.0  # only a guard against hanging; no test depends on speed


def wait_for(condition: Callable[[], bool]) -> None:
    end = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < end, "gave up waiting"
        time.sleep(0.02)


def replay(device: Path, sink: Callable[[ScanEvent], object] | None = None) -> tuple[list[ScanEvent], SourceStatus]:
    """Run a camera source on a recording until it has decoded every frame; its final status."""
    events: list[ScanEvent] = []
    source = CameraSource(CameraScannerConfig(device=str(device)), sink or events.append)
    source.start()
    try:
        wait_for(lambda: source.status.state is SourceState.STOPPED)
        return events, source.status
    finally:
        source.stop()


def blank(n: int) -> list[np.ndarray]:
    return [scene(None, seed=50 + i) for i in range(n)]


@pytest.fixture(scope="module")
def checkpoint_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 fps: card 1 held up (moving, one frame too blurred to read), card 2 right after,
    1.5 s of nothing, card 2 again."""
    unreadable = scene(CCCD_DUC, angle=12, blur_sigma=7.0, seed=9)
    assert decode_frame(unreadable) == []
    duc = [scene(CCCD_DUC, width_px=180 + 6 * i, angle=3 * i, seed=i) for i in range(4)]
    duc += [unreadable] + [scene(CCCD_DUC, width_px=200, angle=15 + i, seed=20 + i) for i in range(3)]
    tuyet = [scene(CCCD_TUYET, width_px=220, angle=-5 * i, seed=30 + i) for i in range(6)]
    again = [scene(CCCD_TUYET, width_px=160, angle=90, blur_sigma=1.0, seed=40 + i) for i in range(4)]
    frames = blank(3) + duc + tuyet + blank(15) + again
    return write_video(tmp_path_factory.mktemp("camera") / "checkpoint.avi", frames, fps=10.0)


def test_video_gives_one_scan_per_code_appearance_with_exact_vietnamese(checkpoint_video: Path) -> None:
    events, status = replay(checkpoint_video)
    assert status.detail == "hết đoạn ghi: 36 khung hình, 3 lần thấy mã (end of recording: 36 frames, 3 code appearances)"
    assert [e.text for e in events] == [CCCD_DUC, CCCD_TUYET, CCCD_TUYET]
    assert all(e.raw == e.text.encode("utf-8") for e in events)
    assert {(e.source, e.device) for e in events} == {("camera", str(checkpoint_video))}


def test_a_code_shown_again_within_the_camera_window_is_amber(checkpoint_video: Path, tmp_path: Path, clock: FakeClock) -> None:
    service = make_service(tmp_path, clock)
    results = []
    replay(checkpoint_video, lambda event: results.append(service.handle(event)))
    assert [(r.status, r.kind) for r in results] == [("accepted", "cccd"), ("accepted", "cccd"), ("repeat", "cccd")]


def test_image_folder_of_sizes_rotations_blur_and_noise(tmp_path: Path) -> None:
    payloads = cccd_payloads()[:8]
    looks = [
        dict(width_px=130, angle=0),
        dict(width_px=240, angle=37),
        dict(width_px=180, angle=90, blur_sigma=1.2),
        dict(width_px=200, angle=200, noise=20),
        dict(width_px=150, angle=315, blur_sigma=1.0, noise=12),
        dict(width_px=300, angle=5, dark=90, light=150),
        dict(width_px=170, angle=135),
        dict(width_px=220, angle=270),
    ]
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, (text, look) in enumerate(zip(payloads, looks, strict=True)):
        for repeat in range(2):  # each card in two consecutive images: still one scan
            suffix = ".jpg" if i % 2 else ".png"
            cv2.imwrite(str(folder / f"frame_{2 * i + repeat:03d}{suffix}"), scene(text, seed=i + repeat, **look))
    (folder / "notes.txt").write_text("not an image", "utf-8")
    events, status = replay(folder)
    assert [e.text for e in events] == payloads
    assert status.detail == "hết đoạn ghi: 16 khung hình, 8 lần thấy mã (end of recording: 16 frames, 8 code appearances)"


def test_the_slot_hands_over_the_newest_frame_never_a_backlog(checkpoint_video: Path) -> None:
    capture = open_recording(checkpoint_video, fps=10.0)
    slot: FrameSlot[Frame] = FrameSlot()
    first = [capture.read() for _ in range(5)]
    for frame in first:
        slot.put(frame)
    assert slot.take(0) is first[-1]
    assert slot.take(0) is None  # nothing newer yet: nothing old is replayed
    for frame in capture.frames():  # the camera runs on while the decoder is busy
        slot.put(frame)
    newest = slot.take(0)
    assert newest is not None and newest.index == capture.frames_read - 1
    assert slot.peek() is newest and slot.take(0) is None
    capture.release()


def test_a_slow_decoder_only_ever_sees_newer_frames(checkpoint_video: Path) -> None:
    capture = open_recording(checkpoint_video, fps=10.0)
    slot: FrameSlot[Frame] = FrameSlot()

    def produce() -> None:
        for frame in capture.frames():
            slot.put(frame)
        slot.close()

    producer = threading.Thread(target=produce)
    producer.start()
    seen = []
    while (frame := slot.take(DEADLINE_S)) is not None:
        decode_frame(frame.image)  # real decoding work between takes
        seen.append(frame.index)
    producer.join()
    assert seen == sorted(set(seen)) and seen[-1] == capture.frames_read - 1
    capture.release()


@pytest.mark.parametrize(
    ("device", "detail"),
    [
        ("57", "no camera at /dev/video57 (unplugged?)"),
        ("/dev/video99", "no camera at /dev/video99 (unplugged?)"),
        ("/nonexistent/replay.avi", "no such file or folder"),
    ],
)
def test_missing_camera_is_waiting_with_a_clear_detail(device: str, detail: str) -> None:
    events: list[ScanEvent] = []
    source = CameraSource(CameraScannerConfig(device=device), events.append)
    source.start()
    try:
        wait_for(lambda: source.status.state is SourceState.WAITING)
        assert detail in source.status.detail and source.status.device == device
        assert source.latest_frame() is None
    finally:
        source.stop()
    assert source.status.state is SourceState.STOPPED and events == []


def test_a_source_that_was_waiting_picks_the_device_up_when_it_appears(tmp_path: Path) -> None:
    target = tmp_path / "arrives.avi"
    events: list[ScanEvent] = []
    source = CameraSource(CameraScannerConfig(device=str(target)), events.append)
    source.start()
    try:
        wait_for(lambda: source.status.state is SourceState.WAITING)
        os.replace(write_video(tmp_path / "partial.avi", blank(2) + [scene(CCCD_TUYET)] * 3), target)
        wait_for(lambda: source.status.state is SourceState.STOPPED)
    finally:
        source.stop()
    assert [e.text for e in events] == [CCCD_TUYET]
