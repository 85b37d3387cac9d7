"""Sealing one visit to the district key: HPKE (cryptography) against libsodium's sealed box (PyNaCl).

The choice kiosk/seal.py made: both seal to an X25519 public key with a fresh ephemeral
key per seal, so both pay one key generation and one Diffie-Hellman per scan; this
script measures what each costs per visit, on realistic visit fields (a CCCD with a
Vietnamese name and address), against the floor of the bare X25519 work both must do
(one key generation plus one exchange, through cryptography), in alternating blocks.

    .venv/bin/python bench/seal_choice.py [--seals N] [--blocks B] [--json]

PyNaCl is only a bench dependency (``[dev]``); the kiosk does not import it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey  # noqa: E402
from nacl.public import PrivateKey, SealedBox  # noqa: E402

from kiosk.seal import SUITE  # noqa: E402

FIELDS = {
    "fields": {
        "id_number": "070185004321",
        "old_id_number": None,
        "name": "Nguyễn Thị Ánh Tuyết",
        "date_of_birth": "1985-07-14",
        "sex": "Nữ",
        "address": "Thôn 3, Xã Đăk Nhau, Huyện Bù Đăng, Tỉnh Bình Phước",
        "issue_date": "2021-05-10",
    },
    "raw": None,
}


def timed(action: Callable[[], object], count: int, out: list[int]) -> None:
    clock = time.perf_counter_ns
    for _ in range(count):
        t0 = clock()
        action()
        out.append(clock() - t0)


def p50_ms(samples: list[int]) -> float:
    return statistics.median(samples) / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seals", type=int, default=5000, help="seals per method (default 5000)")
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    plain = json.dumps(FIELDS, ensure_ascii=False).encode()
    district = X25519PrivateKey.generate()
    public = district.public_key()
    box = SealedBox(PrivateKey(district.private_bytes_raw()).public_key)
    info = b"checkpoint-kiosk visit v1:3f0e2a3c-0000-4000-8000-000000000001"

    def floor() -> object:
        return X25519PrivateKey.generate().exchange(public)

    methods: dict[str, Callable[[], object]] = {
        "floor: X25519 keygen + exchange": floor,
        "HPKE (cryptography)": lambda: SUITE.encrypt(plain, public, info=info),
        "sealed box (PyNaCl)": lambda: box.encrypt(plain),
    }
    samples: dict[str, list[int]] = {name: [] for name in methods}
    for action in methods.values():
        timed(action, 200, [])  # warm-up
    per_block = max(1, args.seals // args.blocks)
    for block in range(args.blocks):
        order = list(methods) if block % 2 == 0 else list(reversed(methods))
        for name in order:
            timed(methods[name], per_block, samples[name])
    figures = {name: p50_ms(s) for name, s in samples.items()}
    sizes = {"HPKE (cryptography)": len(SUITE.encrypt(plain, public, info=info)), "sealed box (PyNaCl)": len(box.encrypt(plain))}
    if args.json:
        print(json.dumps({"p50_ms": figures, "sealed_bytes": sizes, "plain_bytes": len(plain)}, indent=2))
        return 0
    print(f"{per_block * args.blocks} seals each of {len(plain)} B of visit fields, {args.blocks} alternating blocks")
    for name, value in figures.items():
        size = f"  sealed {sizes[name]} B" if name in sizes else ""
        print(f"{name:34} p50 {value:.4f} ms{size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
