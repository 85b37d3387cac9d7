"""Frames from a camera or a recording, all read through ``cv2.VideoCapture``.

The camera section's ``device`` may name a live camera (an index such as ``0`` or a
``/dev/video*`` path) or a recording: a video file, an image file, or a folder of images
(read in name order, one ``VideoCapture`` per image). Recordings go through the same
reader as the camera, so tests and field staff can replay real footage through exactly
the code the kiosk runs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}

# OpenCV and its FFmpeg write to stderr at every failed open or broken file; the kiosk
# reports those in its own words. (FFmpeg's level is read when it is first used.)
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET


class CaptureError(Exception):
    """The source cannot be read now; ``absent`` when it is simply not there (yet)."""

    def __init__(self, detail: str, *, absent: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.absent = absent


@dataclass(frozen=True)
class Frame:
    """One frame: its number, its time in seconds (position in a recording, or the
    monotonic clock for a live camera) and the BGR image (never modified once made)."""

    index: int
    time_s: float
    image: np.ndarray


class Capture:
    """Reads frames from a list of ``VideoCapture`` targets, one after the other.

    A camera or a video file is one target; a folder of images is one target per image
    (an image OpenCV cannot read is passed over).
    """

    def __init__(self, targets: Sequence[int | str], *, live: bool, fps: float, description: str) -> None:
        self.live = live
        self.description = description
        self._targets = list(targets)
        self._fps = fps
        self._index = 0
        self._cap: cv2.VideoCapture | None = None
        self._held: Frame | None = None  # read ahead to prove a recording has a frame

    def open_next(self) -> bool:
        """Open the next target; False when none is left."""
        self.release()
        while self._targets:
            cap = cv2.VideoCapture(self._targets.pop(0))
            if cap.isOpened():
                self._cap = cap
                return True
            cap.release()
        return False

    def ask_camera_format(self, width: int, height: int, fps: float) -> None:
        """Ask a live camera for a format and a one-frame driver buffer (no stale frames).

        Drivers ignore what they cannot do, so the description says what was granted.
        """
        assert self._cap is not None
        for prop, value in (
            (cv2.CAP_PROP_BUFFERSIZE, 1),
            (cv2.CAP_PROP_FRAME_WIDTH, width),
            (cv2.CAP_PROP_FRAME_HEIGHT, height),
            (cv2.CAP_PROP_FPS, fps),
        ):
            self._cap.set(prop, value)
        granted = f"{int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))}×{int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))}"
        self.description += f", {granted} at {self._cap.get(cv2.CAP_PROP_FPS):g} fps ({self._cap.getBackendName()})"

    def use_recorded_rate(self) -> None:
        """Time a video's frames by its own frame rate, when it has one."""
        recorded = self._cap.get(cv2.CAP_PROP_FPS) if self._cap is not None else 0.0
        if recorded > 0:
            self._fps = recorded

    def read(self) -> Frame | None:
        """The next frame; None at the end of a recording or when the camera stops delivering."""
        if self._held is not None:
            held, self._held = self._held, None
            return held
        while self._cap is not None or (not self.live and self.open_next()):
            assert self._cap is not None
            ok, image = self._cap.read()
            if ok and image is not None:
                stamp = time.monotonic() if self.live else self._index / self._fps
                self._index += 1
                return Frame(self._index - 1, stamp, image)
            if self.live:
                break
            self.release()
        return None

    def read_ahead(self) -> bool:
        """Read the first frame now, kept for ``read``: False when there is none."""
        self._held = self.read()
        return self._held is not None

    @property
    def frames_read(self) -> int:
        return self._index

    def frames(self) -> Iterator[Frame]:
        while (frame := self.read()) is not None:
            yield frame

    def release(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def camera_node(device: str) -> str | None:
    """The ``/dev`` node of a live camera spec (``0`` → ``/dev/video0``), None for a recording."""
    if device.isdigit():
        return f"/dev/video{int(device)}"
    return device if device.startswith("/dev/") else None


def open_capture(device: str, *, width: int, height: int, fps: float) -> Capture:
    """Open the camera or recording named by the config's ``device``; raises CaptureError."""
    node = camera_node(device)
    if node is None:
        return open_recording(Path(device), fps=fps)
    if not os.path.exists(node):
        raise CaptureError(f"no camera at {node} (unplugged?)", absent=True)
    if not os.access(node, os.R_OK | os.W_OK):
        raise CaptureError(f"no permission to open {node}: add the kiosk's user to the 'video' group", absent=False)
    capture = Capture([int(device) if device.isdigit() else node], live=True, fps=fps, description=node)
    if not capture.open_next():
        raise CaptureError(f"{node} cannot be opened as a camera (in use by another program, or not a camera)", absent=False)
    capture.ask_camera_format(width, height, fps)
    return capture


def open_recording(path: Path, *, fps: float) -> Capture:
    """A video file, an image file, or a folder of images (name order, ``fps`` frames per second)."""
    if path.is_dir():
        images = sorted(str(p) for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not images:
            raise CaptureError(f"{path}: no images in this folder ({', '.join(sorted(IMAGE_SUFFIXES))})", absent=True)
        capture = Capture(images, live=False, fps=fps, description=f"replaying {len(images)} images at {fps:g} fps")
    elif path.is_file():
        capture = Capture([str(path)], live=False, fps=fps, description="replaying a recording, every frame")
    elif path.exists():
        raise CaptureError(f"{path}: not a file or folder", absent=False)
    else:
        raise CaptureError(f"{path}: no such file or folder", absent=True)
    if not os.access(path, os.R_OK):
        raise CaptureError(f"{path}: no permission to read it", absent=False)
    if path.is_file() and capture.open_next():
        capture.use_recorded_rate()
    if not capture.read_ahead():
        kind = "no image in this folder" if path.is_dir() else "not an image or video"
        raise CaptureError(f"{path}: {kind} that OpenCV can read", absent=False)
    return capture
