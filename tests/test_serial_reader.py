"""Serial readers through the real pyserial code on pty pairs: framing, encodings, unplugging."""

from __future__ import annotations

import queue
import time
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from drivers.serial_reader import Framer, SerialSource
from drivers.source import SourceState, SourceStatus
from kiosk.config import Config
from kiosk.credentials import Cccd
from kiosk.recognise import recognise
from kiosk.scan import ScanEvent
from tests.ptyscanner import PtyScanner
from tests.waiting import WAIT_S, wait_for

NAME = "Nguyễn Thị Ánh Tuyết"
ADDRESS = "Thôn 3, Xã Đăk Nhau, Huyện Bù Đăng, Tỉnh Bình Phước"
CCCD = f"070185004321|285123456|{NAME}|14071985|Nữ|{ADDRESS}|10052021"
CCCD_6 = "079203012345|Trần Văn Ổn|01022003|Nam|Số 12 Lê Lợi, Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh|15062022"


def config_for(port: Path, **serial: object) -> Config:
    return Config.model_validate({"scanners": {"serial": {"enabled": True, "port": str(port), **serial}}})


@pytest.fixture
def scanner(tmp_path: Path) -> Iterator[PtyScanner]:
    pty = PtyScanner(tmp_path / "scanner0")
    yield pty
    pty.close()


class Running:
    """A started SerialSource and the events it emitted."""

    def __init__(self, config: Config) -> None:
        self.events: queue.Queue[ScanEvent] = queue.Queue()
        self.source = SerialSource(self.events.put, config)
        self.source.start()

    def connected(self) -> None:
        wait_for(lambda: self.source.status.state is SourceState.CONNECTED, "the port to open")

    def next(self) -> ScanEvent:
        return self.events.get(timeout=WAIT_S)


@pytest.fixture
def running(scanner: PtyScanner) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(**serial: object) -> Running:
        run = Running(config_for(scanner.link, **serial))
        started.append(run)
        run.connected()
        return run

    yield start
    for run in started:
        run.source.stop()


# --- framing, pure ------------------------------------------------------------------------

ENCODINGS = ["utf-8", "utf-16-be", "utf-16-le", "utf-16"]  # "utf-16": little-endian with a BOM


def encoded(text: str, encoding: str, terminator: str) -> tuple[bytes, bytes]:
    """(payload bytes, bytes on the wire) with the terminator in the payload's encoding."""
    payload = text.encode(encoding)
    unit = terminator.encode("utf-16-le" if encoding == "utf-16" else encoding)
    return payload, payload + unit


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("terminator", ["\r", "\n", "\r\n"])
def test_framer_finds_the_frame_at_every_split(encoding: str, terminator: str) -> None:
    payload, wire = encoded(CCCD, encoding, terminator)
    for cut in range(1, len(wire)):
        framer = Framer()
        frames = framer.feed(wire[:cut]) + framer.feed(wire[cut:])
        assert frames == [payload], (encoding, terminator, cut)
        assert framer.flush() is None


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_framer_separates_frames_arriving_together(encoding: str) -> None:
    first, wire1 = encoded(CCCD, encoding, "\r\n")
    second, wire2 = encoded("0912345678", encoding, "\n")
    assert Framer().feed(wire1 + wire2 + wire1) == [first, second, first]


def test_framer_without_terminator_ends_at_flush() -> None:
    framer = Framer()
    assert framer.feed(CCCD.encode()) == [] and framer.pending
    assert framer.flush() == CCCD.encode() and not framer.pending


def test_framer_with_forced_utf16_order_needs_no_ascii_start() -> None:
    text = "Ánh|070185004321"  # starts with a letter that has no zero byte in UTF-16
    assert Framer("be").feed(text.encode("utf-16-be") + "\r".encode("utf-16-be")) == [text.encode("utf-16-be")]


# --- the real port ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoding, terminator",
    [
        ("utf-8", "\r"),
        ("utf-8", "\n"),
        ("utf-8", "\r\n"),
        ("utf-8", ""),
        ("utf-16-be", "\r\n"),
        ("utf-16-be", ""),
        ("utf-16-le", "\n"),
        ("utf-16", "\r"),
    ],
)
def test_id_card_payload_arrives_exactly(
    scanner: PtyScanner, running: Callable[..., Running], encoding: str, terminator: str
) -> None:
    run = running(quiet_s=0.3)
    payload, wire = encoded(CCCD, encoding, terminator)
    third = len(wire) // 3
    for piece in (wire[:third], wire[third : 2 * third], wire[2 * third :]):  # a reader's packets
        scanner.write(piece)
        time.sleep(0.02)
    event = run.next()
    assert (event.source, event.device, event.raw) == ("serial", str(scanner.link), payload)
    card = recognise(event.payload, fallback_encoding=event.encoding)
    assert isinstance(card, Cccd)
    assert (card.name, card.address, card.id_number) == (NAME, ADDRESS, "070185004321")


def test_six_field_card_and_back_to_back_scans(scanner: PtyScanner, running: Callable[..., Running]) -> None:
    run = running()
    scanner.write(CCCD_6.encode("utf-16-be") + "\r\n".encode("utf-16-be") + b"0912345678\r\n" + CCCD.encode() + b"\n")
    raws = [run.next().raw for _ in range(3)]
    assert raws == [CCCD_6.encode("utf-16-be"), b"0912345678", CCCD.encode()]
    card = recognise(raws[0])
    assert isinstance(card, Cccd) and card.name == "Trần Văn Ổn" and card.address.endswith("TP. Hồ Chí Minh")


TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"


def cp1258(text: str) -> bytes:
    """Vietnamese as Windows-1258 writes it: letters like ê, ư precomposed, tone marks combining."""
    letters: list[list[str]] = []
    for char in unicodedata.normalize("NFD", text):
        if unicodedata.combining(char) and letters:
            letters[-1].append(char)
        else:
            letters.append([char])
    out = ""
    for base, *marks in letters:
        shape = "".join(m for m in marks if m not in TONE_MARKS)
        out += unicodedata.normalize("NFC", base + shape) + "".join(m for m in marks if m in TONE_MARKS)
    return out.encode("cp1258")


def test_configured_code_page_decodes_what_is_neither_utf8_nor_utf16(scanner: PtyScanner, running: Callable[..., Running]) -> None:
    run = running(encoding="cp1258")
    raw = cp1258(CCCD)
    scanner.write(raw + b"\r")
    event = run.next()
    assert event.raw == raw and event.encoding == "cp1258"
    card = recognise(event.payload, fallback_encoding=event.encoding)
    assert isinstance(card, Cccd) and (card.name, card.address) == (NAME, ADDRESS)


def test_unplug_and_replug_reopen_the_same_path(scanner: PtyScanner, running: Callable[..., Running]) -> None:
    run = running()
    scanner.write(b"0912345678\r\n")
    assert run.next().raw == b"0912345678"
    scanner.unplug()
    wait_for(lambda: run.source.status.state is SourceState.WAITING, "the source to notice the unplug")
    assert any(why in run.source.status.detail for why in ("waiting for it to come back", "no such port"))
    time.sleep(0.5)  # the source keeps waiting, reopening on its own schedule
    assert run.source.status.state is SourceState.WAITING
    scanner.plug()
    run.connected()
    scanner.write(CCCD.encode() + b"\r\n")
    assert run.next().raw == CCCD.encode()
    assert run.events.empty()


def test_stop_reads_what_the_reader_already_sent(scanner: PtyScanner, running: Callable[..., Running]) -> None:
    run = running()
    sent = [f"09{n:08d}".encode() for n in range(20)]
    scanner.write(b"".join(s + b"\r\n" for s in sent) + b"0911222333")  # the last one with no terminator
    run.source.stop()
    assert run.source.status.state is SourceState.STOPPED
    got = [run.events.get_nowait().raw for _ in range(run.events.qsize())]
    assert got == [*sent, b"0911222333"]


def first_status(port: Path) -> SourceStatus:
    """Start a source on ``port``, return what it reports first, stop it."""
    source = SerialSource(queue.Queue().put, config_for(port))
    source.start()
    try:
        wait_for(lambda: source.status.state is not SourceState.STARTING, "a status")
        return source.status
    finally:
        source.stop()


def test_a_port_held_by_another_program_is_reported_not_shared(scanner: PtyScanner, running: Callable[..., Running]) -> None:
    first = running()
    second = first_status(scanner.link)
    assert second.state is SourceState.ERROR and "in use" in second.detail
    scanner.write(b"0912345678\r")
    assert first.next().raw == b"0912345678"


def test_missing_port_waits_with_a_reason(tmp_path: Path) -> None:
    status = first_status(tmp_path / "by-id" / "*")
    assert status.state is SourceState.WAITING and "no such port" in status.detail
