"""Find and decode the codes in one camera frame, with zxing-cpp.

zxing-cpp was chosen over pyzbar by measurement (``bench/decode_frame.py``, figures in the
README): it is about 8× faster on 640×480 frames with and without a code, reads more
small, blurred, low-contrast and inverted codes (and as many rotated ones), and returns
Vietnamese UTF-8 text exactly, where zbar's character-set guessing garbles short names
such as ``Lê Anh Sơn|Nam``.

Only QR codes are looked for: every credential the kiosk knows (chip ID card, EU DCC
vaccine certificate as Vietnam issues it, PC-Covid, a phone number in a QR) is a QR code.
Aztec (which the DCC specification also allows) was measured and left out: no Vietnamese
credential uses it, and it doubles the decode time, which matters on a Raspberry Pi.
Linear barcodes are left out too: no credential uses them, and a frame full of packaging
and printed text would produce false reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import zxingcpp

FORMATS = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


@dataclass(frozen=True)
class Decoded:
    """One code: its format name, the decoder's text, and the bytes exactly as encoded."""

    format: str
    text: str
    raw: bytes


def to_gray(frame: np.ndarray) -> np.ndarray:
    """Decoders read one channel; a BGR frame handed over as-is is read as its blue channel."""
    if frame.ndim == 2:
        return frame
    code = cv2.COLOR_BGRA2GRAY if frame.shape[2] == 4 else cv2.COLOR_BGR2GRAY
    return cv2.cvtColor(frame, code)


def decode_gray(gray: np.ndarray) -> list[Decoded]:
    """Every QR code in a grayscale image; an empty list when there is none.

    ``try_invert`` stays on: phone screens in dark mode show light-on-dark codes.
    ``TextMode.Plain`` keeps control characters (GS in some codes) as they are.
    """
    found = zxingcpp.read_barcodes(gray, formats=FORMATS, try_invert=True, text_mode=zxingcpp.TextMode.Plain)
    return [Decoded(code.format.name, code.text, bytes(code.bytes)) for code in found if code.valid]


def decode_frame(frame: np.ndarray) -> list[Decoded]:
    """Every code in a camera frame (BGR, BGRA or grayscale)."""
    return decode_gray(to_gray(frame))
