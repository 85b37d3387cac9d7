"""Hostile input (issue 14): hypothesis over the parsers a stranger's bytes reach.

QR payloads are covered in tests/test_recognise.py (any bytes, any text, any pipe-separated
fields) and every API body and query by tests/server/test_schemathesis.py. Here: the serial
reader's framing, the keyboard-wedge key decoding, config files, and the sealed USB files
both the kiosk (receipts) and the server (exports) read. The only answers allowed are a
result or the parser's own error, which the callers turn into words for a guard or admin.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from evdev import ecodes as e
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.keymap import KeyDecoder
from drivers.serial_reader import Framer
from kiosk.config import Config
from kiosk.settings import ConfigError, load
from sync.sealed import VISITS, SealedFileError, SealedReader, SealedWriter, key_material, read_header

CARD = "079185012345||Nguyễn Thị Ánh Tuyết|14071985|Nữ|Thôn 3, Xã Đăk Nhau|10052021"


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@given(st.binary(max_size=3000), st.lists(st.integers(min_value=0), max_size=20), st.sampled_from([None, "be", "le"]))
def test_serial_framing_never_raises_and_does_not_depend_on_how_bytes_arrive(
    data: bytes, cuts: list[int], order: str | None
) -> None:
    whole, pieces = Framer(order), Framer(order)
    frames = whole.feed(data)
    frames_in_pieces = [frame for piece in chunked(data, cuts) for frame in pieces.feed(piece)]
    assert frames_in_pieces == frames
    assert pieces.flush() == whole.flush()


@given(
    st.sampled_from(["utf-8", "utf-16-be", "utf-16-le"]),
    st.lists(st.sampled_from(["\r\n", "\r", "\n"]), max_size=8),
    st.lists(st.integers(min_value=0), max_size=20),
)
def test_a_readers_cards_come_out_whole_however_the_bytes_arrive(encoding: str, ends: list[str], cuts: list[int]) -> None:
    """One reader, one encoding (a reader does not switch mid-stream), any terminator."""
    data = b"".join((CARD + end).encode(encoding) for end in ends)
    framer = Framer()
    frames = [frame for piece in chunked(data, cuts) for frame in framer.feed(piece)]
    assert frames == [CARD.encode(encoding)] * len(ends)


EVENT_TYPES = st.sampled_from([e.EV_KEY, e.EV_SYN, e.EV_MSC, e.EV_REL, 0xFF])
KEY_CODES = st.one_of(st.integers(min_value=0, max_value=0x2FF), st.sampled_from(sorted(e.KEY.keys())))


@given(
    st.lists(st.tuples(EVENT_TYPES, KEY_CODES, st.integers(min_value=-1, max_value=3), st.floats(0, 1e6)), max_size=200),
    st.booleans(),
    st.floats(0, 2),
)
def test_key_decoding_of_any_event_stream_gives_text_and_never_raises(
    events: list[tuple[int, int, int, float]], tab_ends: bool, timeout: float
) -> None:
    decoder = KeyDecoder(tab_ends_scan=tab_ends, key_timeout_s=timeout)
    scans = [scan for event in events for scan in decoder.feed(*event)]
    scans.append(decoder.flush() or "")
    assert all(isinstance(scan, str) for scan in scans)


TOML_VALUES = st.recursive(
    st.one_of(st.text(max_size=30), st.integers(), st.floats(allow_nan=False), st.booleans()),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=5,
)
SECTIONS = ["checkpoint", "kiosk", "storage", "scanners.serial", "scanners.hid", "scanners.camera", "server", "ui", "dcc"]


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return '"' + value.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'
    return repr(value)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.text(max_size=400),
        st.lists(st.tuples(st.sampled_from(SECTIONS), st.text(max_size=20), TOML_VALUES), max_size=8).map(
            lambda items: "\n".join(f"[{s}]\n{k!r} = {toml_value(v)}" for s, k, v in items)
        ),
    )
)
def test_any_config_file_gives_a_config_or_an_error_naming_the_problem(tmp_path: Path, text: str) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load(Config, path, "CHECKPOINT_KIOSK_CONFIG_UNUSED", tmp_path / "none.toml")
    except ConfigError as error:
        assert str(error)


MATERIAL = key_material("a-device-token")


def sealed_export() -> bytes:
    out = io.BytesIO()
    writer = SealedWriter(out, VISITS, {"device_id": "d1"}, MATERIAL)
    for n in range(3):
        writer.add({"id": f"v{n}", "fields": {"name": "Nguyễn Thị Ánh Tuyết"}})
    writer.close()
    return out.getvalue()


GENUINE = sealed_export()


def read_all(data: bytes) -> list[dict[str, object]]:
    fh = io.BytesIO(data)
    header = read_header(fh)
    return [record for batch in SealedReader(fh, header, [MATERIAL]).batches() for record in batch]


def test_the_genuine_sealed_file_reads_back() -> None:
    assert [r["id"] for r in read_all(GENUINE)] == ["v0", "v1", "v2"]


@given(st.one_of(st.binary(max_size=2000), st.binary(max_size=200).map(lambda tail: GENUINE[:40] + tail)))
def test_any_file_as_a_sealed_usb_file_is_read_or_refused(data: bytes) -> None:
    with contextlib.suppress(SealedFileError):
        read_all(data)


@given(st.integers(min_value=0, max_value=len(GENUINE) - 1), st.integers(min_value=1, max_value=255), st.booleans())
def test_a_damaged_or_cut_sealed_usb_file_is_refused_never_half_read(at: int, flip: int, cut: bool) -> None:
    damaged = GENUINE[:at] if cut else GENUINE[:at] + bytes([GENUINE[at] ^ flip]) + GENUINE[at + 1 :]
    try:
        records = read_all(damaged)
    except SealedFileError:
        return
    assert records == read_all(GENUINE)  # only a change the format does not read (e.g. header spacing)


def test_a_utf16le_crlf_cut_inside_its_lf_keeps_the_next_card_aligned() -> None:
    """Found by the test above: UTF-16LE "\\r\\0\\n\\0" cut after the "\\n" read the lone byte as a
    one-byte frame, and every card after it came out a byte off."""
    one = (CARD + "\r\n").encode("utf-16-le")
    cut = len(CARD.encode("utf-16-le")) + 3  # "\r\0" and the "\n" of "\n\0"
    framer = Framer()
    frames = framer.feed(one[:cut]) + framer.feed(one[cut:] + one)
    assert frames == [CARD.encode("utf-16-le")] * 2
