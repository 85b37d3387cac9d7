"""Decode time per 640×480 camera frame and robustness, per QR decoder.

Candidates: zxing-cpp as the kiosk uses it (``drivers.decoder.decode_gray``: QR only,
inverted codes tried), zxing-cpp also looking for Aztec codes (to show what that costs),
pyzbar (zbar, QR only; a dev dependency kept for this comparison) and OpenCV's
``QRCodeDetector``, which costs no extra dependency.

Floor: ``cv2.cvtColor(frame, COLOR_BGR2GRAY)`` of the same frame. Every decoder here reads
grayscale, so this conversion is a cost the camera pays per frame whatever decoder it
uses, and it touches every pixel once: no decoder can be cheaper than that.

Timing: each decoder gets the same grayscale frames, (a) with a CCCD code (200 px wide,
cluttered background, sensor noise) and (b) the same scene with no code, which is the
slow case (the decoder searches the whole frame in vain). Decoders are measured in
interleaved rounds so host drift hits all alike; the table gives the median and p90 in ms.

Robustness: frames with CCCD payloads holding real Vietnamese names and addresses,
small (70-120 px wide, i.e. 1.2-2 px per module), rotated, blurred, low-contrast, noisy,
all three of small, rotated and blurred at once, and inverted (light on dark, as a phone
in dark mode shows it). A read counts only when the text is exactly the encoded payload;
``wrong`` counts reads with different text (charset garbling). Exactness: 40 ``name|sex``
payloads (short, mostly non-ASCII: the case zbar's charset guessing gets wrong) and 40
full CCCD payloads, encoded as UTF-8 byte mode without ECI, as ID cards carry them.

    .venv/bin/python bench/decode_frame.py [--repeat N] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import zxingcpp  # noqa: E402
from pyzbar import pyzbar  # noqa: E402

from drivers.decoder import decode_gray  # noqa: E402
from tests.qrframes import CCCD_DUC, CCCD_TUYET, cccd_payloads, scene, short_payloads  # noqa: E402

TARGET_MS = 10.0
Reader = Callable[[np.ndarray], list[str]]


def zxing_kiosk(gray: np.ndarray) -> list[str]:
    return [code.text for code in decode_gray(gray)]


def zxing_with_aztec(gray: np.ndarray) -> list[str]:
    formats = (zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.Aztec)
    found = zxingcpp.read_barcodes(gray, formats=formats, try_invert=True, text_mode=zxingcpp.TextMode.Plain)
    return [code.text for code in found]


def zbar(gray: np.ndarray) -> list[str]:
    return [code.data.decode("utf-8", "replace") for code in pyzbar.decode(gray, symbols=[pyzbar.ZBarSymbol.QRCODE])]


_OPENCV = cv2.QRCodeDetector()


def opencv(gray: np.ndarray) -> list[str]:
    text, _points, _straight = _OPENCV.detectAndDecode(gray)
    return [text] if text else []


DECODERS: dict[str, Reader] = {
    "zxing-cpp (kiosk: QR, invert)": zxing_kiosk,
    "zxing-cpp (QR + Aztec, invert)": zxing_with_aztec,
    "pyzbar (zbar 0.23, QR only)": zbar,
    "opencv QRCodeDetector": opencv,
}


def gray(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timing(repeat: int) -> dict[str, dict[str, dict[str, float]]]:
    """Median and p90 ms per frame, with and without a code, for the floor and each decoder."""
    frames = {"with code": scene(CCCD_DUC, seed=3), "no code": scene(None, seed=3)}
    grays = {case: gray(frame) for case, frame in frames.items()}
    floor: Reader = lambda frame: [gray(frame)]  # noqa: E731 - timed like the decoders
    subjects: dict[str, tuple[Reader, dict[str, np.ndarray]]] = {"floor: cvtColor BGR→gray": (floor, frames)}
    subjects |= {name: (reader, grays) for name, reader in DECODERS.items()}
    samples: dict[str, dict[str, list[float]]] = {name: {case: [] for case in frames} for name in subjects}
    for reader, inputs in subjects.values():  # warm-up: first calls allocate
        for image in inputs.values():
            reader(image)
    rounds = 10
    for _ in range(rounds):
        for name, (reader, inputs) in subjects.items():
            for case, image in inputs.items():
                for _ in range(max(1, repeat // rounds)):
                    start = time.perf_counter_ns()
                    reader(image)
                    samples[name][case].append((time.perf_counter_ns() - start) / 1e6)
    return {
        name: {case: {"median": statistics.median(s), "p90": percentile(s, 0.9)} for case, s in cases.items()}
        for name, cases in samples.items()
    }


def robustness_sets() -> dict[str, list[tuple[np.ndarray, str]]]:
    payloads = (CCCD_DUC, CCCD_TUYET)
    sets: dict[str, list[tuple[np.ndarray, str]]] = {
        "small (70-120 px)": [(scene(p, width_px=w, seed=w), p) for p in payloads for w in (70, 78, 85, 92, 100, 120)],
        "rotated (10-315°)": [
            (scene(p, angle=a, seed=int(a)), p) for p in payloads for a in (10, 20, 30, 45, 60, 90, 135, 180, 225, 315)
        ],
        "blurred (σ 1-3.5 px)": [
            (scene(p, blur_sigma=s, seed=int(10 * s)), p) for p in payloads for s in (1.0, 1.5, 2.0, 2.5, 3.0, 3.5)
        ],
        "low contrast": [
            (scene(p, dark=d, light=lt, seed=d), p)
            for p in payloads
            for d, lt in ((90, 150), (100, 150), (110, 150), (120, 155), (125, 150), (130, 150))
        ],
        "noisy (σ 15-40)": [(scene(p, noise=n, seed=int(n)), p) for p in payloads for n in (15, 20, 25, 30, 35, 40)],
        "small+rotated+blurred": [
            (scene(p, width_px=130, angle=a, blur_sigma=1.0, seed=int(a)), p) for p in payloads for a in (15, 40, 70, 110, 160, 200)
        ],
        "inverted (dark mode)": [(255 - scene(p, width_px=w, seed=w), p) for p in payloads for w in (120, 160, 200)],
    }
    sets["exact: 40 short 'name|sex'"] = [(scene(p, width_px=160, seed=i), p) for i, p in enumerate(short_payloads())]
    sets["exact: 40 full CCCD"] = [(scene(p, width_px=240, seed=i), p) for i, p in enumerate(cccd_payloads())]
    return sets


def robustness() -> dict[str, dict[str, dict[str, int]]]:
    """Per set and decoder: exact reads, wrong text, and misses."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for label, cases in robustness_sets().items():
        out[label] = {}
        for name, reader in DECODERS.items():
            tally = {"exact": 0, "wrong": 0, "missed": 0, "of": len(cases)}
            for frame, expected in cases:
                texts = reader(gray(frame))
                tally["exact" if expected in texts else "wrong" if texts else "missed"] += 1
            out[label][name] = tally
    return out


def report(times: dict[str, dict[str, dict[str, float]]], robust: dict[str, dict[str, dict[str, int]]]) -> str:
    lines = [
        f"{platform.machine()}, Python {platform.python_version()}, OpenCV {cv2.__version__}",
        "",
        f"{'ms per 640×480 frame':40} {'with code: median':>18} {'p90':>7} {'no code: median':>16} {'p90':>7}",
    ]
    for name, cases in times.items():
        w, n = cases["with code"], cases["no code"]
        lines.append(f"{name:40} {w['median']:18.2f} {w['p90']:7.2f} {n['median']:16.2f} {n['p90']:7.2f}")
    kiosk = times[next(iter(DECODERS))]
    worst = max(kiosk["with code"]["median"], kiosk["no code"]["median"])
    lines.append(f"target: kiosk decoder median ≤ {TARGET_MS} ms in both cases → {'PASS' if worst <= TARGET_MS else 'MISS'}")
    lines += ["", "exact reads / cases (wrong text, missed)"]
    short = {name: name.split(" (")[0] + (" +Aztec" if "Aztec" in name else "") for name in DECODERS}
    lines.append(f"{'':28}" + "".join(f"{short[name]:>22}" for name in DECODERS))
    for label, per in robust.items():
        cells = "".join(f"{'{exact}/{of} ({wrong}, {missed})'.format(**t):>22}" for t in per.values())
        lines.append(f"{label:28}{cells}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=200, help="timed calls per decoder and frame (default 200)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = parser.parse_args()
    times, robust = timing(args.repeat), robustness()
    print(json.dumps({"ms": times, "robustness": robust}, indent=2) if args.json else report(times, robust))


if __name__ == "__main__":
    main()
