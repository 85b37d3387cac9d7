"""The camera as a scan source: frames → QR codes → one ScanEvent per code appearance.

Two threads: a capture thread reads frames into a one-frame slot (the newest frame only,
so decoding never lags behind the scene), and the source's own thread decodes the newest
frame on grayscale and emits a scan when a code comes into view. A recording (video
file, image file or folder) replaces the camera through the same code, every frame of it
decoded once, in its own time base, so a replay gives the same scans on any machine.
"""

from __future__ import annotations

import threading

import numpy as np

from drivers.appearances import Appearances
from drivers.capture import Capture, CaptureError, Frame, open_capture
from drivers.decoder import decode_frame
from drivers.frame_slot import FrameSlot
from drivers.source import Sink, Source, SourceState
from kiosk.catalog import bilingual
from kiosk.config import CameraScannerConfig
from kiosk.scan import ScanEvent

POLL_S = 0.5  # how often a waiting decode loop looks at ``stopping``


class CameraSource(Source):
    """A camera (or a recording standing in for one) feeding the scan queue.

    Construct with the ``[scanners.camera]`` config section and the sink that takes
    ScanEvents: ``CameraSource(config.scanners.camera, sink)``; then ``start()`` and
    ``stop()``. ``status`` is CONNECTED while frames arrive, WAITING (with the reason,
    retrying) while the camera is missing or unplugged, ERROR when it is there but
    unusable. A recording ends in STOPPED once every frame was decoded.
    ``latest_frame()`` gives the newest frame for a preview. Events carry the code's
    exact bytes (``raw``) and zxing-cpp's text, with ``source="camera"`` and
    ``device`` set to the configured device.
    """

    kind = "camera"

    def __init__(self, config: CameraScannerConfig, sink: Sink) -> None:
        super().__init__(sink)
        self.config = config
        self._slot: FrameSlot[Frame] = FrameSlot()

    def latest_frame(self) -> np.ndarray | None:
        """The newest BGR frame while the camera is connected, else None. Do not modify it."""
        frame = self._slot.peek()
        return frame.image if frame is not None and self.status.state is SourceState.CONNECTED else None

    def run_once(self) -> None:
        device = self.config.device
        try:
            capture = open_capture(device, width=self.config.width, height=self.config.height, fps=self.config.fps)
        except CaptureError as exc:
            self.set_status(SourceState.WAITING if exc.absent else SourceState.ERROR, device, f"{exc.detail}; retrying")
            return
        self._slot.reopen()
        self.set_status(SourceState.CONNECTED, device, capture.description)
        grabber = threading.Thread(target=self._grab, args=(capture,), name="camera-capture", daemon=True)
        grabber.start()
        try:
            codes = self._decode_until_closed()
        finally:
            self._slot.close()
            grabber.join()
            capture.release()
        if self.stopping:
            return
        if capture.live:
            self.set_status(SourceState.WAITING, device, bilingual("the camera stopped sending frames (unplugged?); reopening"))
            return
        recorded = bilingual("end of recording: {frames} frames, {codes} code appearances", frames=capture.frames_read, codes=codes)
        self.set_status(SourceState.STOPPED, device, recorded)
        while not self.wait(3600.0):  # a recording plays once; stay put until the kiosk stops
            pass

    def _grab(self, capture: Capture) -> None:
        """Capture thread: the newest frame into the slot; every frame for a recording."""
        while not self.stopping and (frame := capture.read()) is not None:
            if not self._slot.put(frame, wait_taken=not capture.live):
                break
        self._slot.close()

    def _decode_until_closed(self) -> int:
        """Decode the newest frame, emit each code that came into view; the count emitted."""
        seen = Appearances(self.config.gone_after_s)
        emitted = 0
        while not self.stopping:
            frame = self._slot.take(POLL_S)
            if frame is None:
                if self._slot.closed:
                    break
                continue
            for code in seen.new(decode_frame(frame.image), frame.time_s):
                self.emit(ScanEvent(source="camera", raw=code.raw, text=code.text, device=self.config.device))
                emitted += 1
        return emitted

    def close(self) -> None:
        self._slot.close()
