"""Keyboard-wedge readers: recorded evdev sequences through the real decoder, read loop and hot-plug."""

from __future__ import annotations

import errno
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from evdev import ecodes as e

from drivers.hid import HidSource, InputDeviceInfo, choose, list_input_devices, read_loop
from drivers.keymap import KeyDecoder, alt_code
from drivers.source import SourceState
from kiosk.config import Config, HidScannerConfig
from kiosk.scan import ScanEvent
from tests.evdev_replay import Recording, ReplayCatalog, ReplayDevice
from tests.waiting import WAIT_S, wait_for


class Loop:
    """The real read loop on a replayed device, in its own thread as the kiosk runs it."""

    def __init__(self, recording: str, **decoder: float | bool) -> None:
        self.device = ReplayDevice(Recording(recording), "replay")
        self.decoder = KeyDecoder(**decoder)  # type: ignore[arg-type]
        self.scans: list[str] = []
        self.error: OSError | None = None
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run)
        self.device.release()
        self._thread.start()

    def _run(self) -> None:
        try:
            read_loop(self.device, self.decoder, self.scans.append, self._wake_r, self._stop.is_set)
        except OSError as exc:
            self.error = exc

    def until(self, count: int) -> list[str]:
        """Wait for ``count`` scans, stop the loop, and return every scan it produced."""
        wait_for(lambda: len(self.scans) >= count or self.error is not None, f"{count} scans")
        self._stop.set()
        os.write(self._wake_w, b"x")
        self._thread.join(WAIT_S)
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)
        self.device.close()
        return self.scans


def test_shift_capslock_and_symbols() -> None:
    assert Loop("shift_capslock.jsonl").until(4) == [
        "Hello, World! #42",
        "ABC-defg",
        "https://tokhaiyte.vn/?qr=AbC_123&x={1}|~",
        "A1\tB2",
    ]


def test_tab_can_end_a_scan() -> None:
    assert Loop("shift_capslock.jsonl", tab_ends_scan=True).until(5)[-2:] == ["A1", "B2"]


def test_keypad_operators_alt_codes_and_control_characters() -> None:
    assert Loop("keypad_altcodes.jsonl").until(4) == [
        "0912345678",  # ended by the keypad's Enter
        "12+34-5*6/7.8",
        "0109501101530003\x1d17250101\x1d10AB-12",  # GS1 fields separated by Alt+029 and Alt+0029
        "Café é\x1dx",  # Alt+0233 (cp1252), Alt+130 (cp437), Ctrl+] (GS)
    ]


def test_a_batch_holding_two_scans_loses_neither_and_silence_ends_a_scan() -> None:
    # QR-1 and QR-2 have no suffix: the 1 s gap in the recording ends QR-1, and the
    # device going quiet ends QR-2.
    assert Loop("one_batch_and_no_suffix.jsonl", key_timeout_s=0.2).until(4) == ["0912345678", "0987654321", "QR-1", "QR-2"]


def test_without_a_key_timeout_only_enter_or_stop_ends_a_scan() -> None:
    loop = Loop("one_batch_and_no_suffix.jsonl", key_timeout_s=0)
    wait_for(lambda: len(loop.scans) == 2 and loop.decoder.pending, "the unfinished third scan")
    assert loop.until(2) == ["0912345678", "0987654321", "QR-1QR-2"]  # stopping ends it


def test_a_vanished_device_ends_its_loop_with_enodev() -> None:
    loop = Loop("unplugged_mid_scan.jsonl")
    scans = loop.until(2)
    assert scans == ["0911111111"]
    assert loop.error is not None and loop.error.errno == errno.ENODEV


def test_alt_codes() -> None:
    assert [alt_code(d) for d in ("029", "0029", "29", "065", "0233", "130", "321", "0")] == [
        "\x1d",
        "\x1d",
        "\x1d",
        "A",
        "é",
        "é",
        "A",
        None,
    ]


def test_events_lost_by_the_kernel_discard_the_scan() -> None:
    decoder = KeyDecoder()

    def tap(code: int) -> list[str]:
        return decoder.feed(e.EV_KEY, code, 1, 0.0) + decoder.feed(e.EV_KEY, code, 0, 0.0)

    tap(e.KEY_1)
    decoder.feed(e.EV_KEY, e.KEY_LEFTSHIFT, 1, 0.0)
    decoder.feed(e.EV_SYN, e.SYN_DROPPED, 0, 0.0)
    assert tap(e.KEY_2) == [] and not decoder.pending  # ignored until the next report
    decoder.feed(e.EV_SYN, e.SYN_REPORT, 0, 0.0)
    tap(e.KEY_3)
    assert tap(e.KEY_ENTER) == ["3"]  # shift was forgotten, the broken scan dropped


# --- choosing devices ---------------------------------------------------------------------

KEYBOARD = InputDeviceInfo("/dev/input/event0", "AT Translated Set 2 keyboard", "0001", "0001")
HONEYWELL = InputDeviceInfo(
    "/dev/input/event5",
    "Honeywell Imaging & Mobility 1900",
    "0c2e",
    "0b61",
    ("/dev/input/by-id/usb-Honeywell_Imaging___Mobility_1900-event-kbd",),
)
GENERIC = InputDeviceInfo("/dev/input/event6", "USB Barcode Reader", "1a86", "e026")
NAMELESS = InputDeviceInfo("/dev/input/event7", "HID 0483:5750", "0483", "5750")


def test_default_takes_readers_and_never_an_ordinary_keyboard() -> None:
    defaults = HidScannerConfig()
    assert [choose(d, defaults).use for d in (KEYBOARD, HONEYWELL, GENERIC, NAMELESS)] == [False, True, True, False]
    assert "devices" in choose(KEYBOARD, defaults).reason


@pytest.mark.parametrize(
    "entry, chosen",
    [
        ("/dev/input/by-id/usb-Honeywell_Imaging___Mobility_1900-event-kbd", [HONEYWELL]),
        ("/dev/input/by-id/*Honeywell*-event-kbd", [HONEYWELL]),
        ("/dev/input/event7", [NAMELESS]),
        ("0483:5750", [NAMELESS]),
        ("0C2E:0B61", [HONEYWELL]),
        ("hid 0483", [NAMELESS]),
        ("*barcode*", [GENERIC]),
        ("AT Translated*", [KEYBOARD]),  # told to: then even a keyboard is taken
    ],
)
def test_configured_devices_by_path_usb_id_or_name(entry: str, chosen: list[InputDeviceInfo]) -> None:
    config = HidScannerConfig(devices=[entry])
    assert [d for d in (KEYBOARD, HONEYWELL, GENERIC, NAMELESS) if choose(d, config).use] == chosen


def test_devices_are_listed_from_sysfs_with_their_stable_names(tmp_path: Path) -> None:
    sys_root, dev_root = tmp_path / "sys", tmp_path / "dev"
    for number, name, vendor in ((3, "Honeywell Imaging & Mobility 1900", "0c2e"), (12, "Power Button", "0000")):
        ids = sys_root / f"event{number}" / "device" / "id"
        ids.mkdir(parents=True)
        (ids.parent / "name").write_text(name + "\n")
        (ids / "vendor").write_text(vendor + "\n")
        (ids / "product").write_text("0B61\n")
        (dev_root / f"event{number}").parent.mkdir(exist_ok=True)
        (dev_root / f"event{number}").touch()
    (dev_root / "by-id").mkdir()
    (dev_root / "by-id" / "usb-Honeywell-event-kbd").symlink_to(dev_root / "event3")
    found = list_input_devices(sys_root, dev_root)
    assert [(d.name, d.usb_id, d.label) for d in found] == [
        ("Honeywell Imaging & Mobility 1900", "0c2e:0b61", str(dev_root / "by-id" / "usb-Honeywell-event-kbd")),
        ("Power Button", "0000:0b61", str(dev_root / "event12")),
    ]


# --- the source: selection, grabbing, hot-plug --------------------------------------------


@pytest.fixture
def hid() -> Iterator[Callable[..., tuple[HidSource, ReplayCatalog, queue.Queue[ScanEvent]]]]:
    sources: list[HidSource] = []

    def start(**hid_config: object) -> tuple[HidSource, ReplayCatalog, queue.Queue[ScanEvent]]:
        catalog = ReplayCatalog()
        events: queue.Queue[ScanEvent] = queue.Queue()
        config = Config.model_validate({"scanners": {"hid": {"enabled": True, **hid_config}}})
        source = HidSource(events.put, config, catalog=catalog, poll_s=0.05)
        sources.append(source)
        return source, catalog, events

    yield start
    for source in sources:
        source.stop()


def test_source_reads_readers_only_and_grabs_them(hid: Callable[..., tuple]) -> None:
    source, catalog, events = hid()
    catalog.plug(KEYBOARD, Recording("shift_capslock.jsonl"))
    catalog.plug(HONEYWELL, Recording("keypad_altcodes.jsonl"))
    source.start()
    got = [events.get(timeout=WAIT_S) for _ in range(4)]
    assert [g.text for g in got][:2] == ["0912345678", "12+34-5*6/7.8"]
    assert {(g.source, g.device) for g in got} == {("hid", HONEYWELL.label)}
    assert catalog.opened == [(HONEYWELL.path, True)]
    assert source.status.state is SourceState.CONNECTED and "tiếng Việt" in source.status.detail


def test_grab_can_be_turned_off(hid: Callable[..., tuple]) -> None:
    source, catalog, events = hid(grab=False, devices=["0c2e:0b61"])
    catalog.plug(HONEYWELL, Recording("keypad_altcodes.jsonl"))
    source.start()
    events.get(timeout=WAIT_S)
    assert catalog.opened == [(HONEYWELL.path, False)]


def test_unplugged_reader_is_dropped_and_picked_up_again(hid: Callable[..., tuple]) -> None:
    source, catalog, events = hid()
    newland = Recording("unplugged_mid_scan.jsonl")
    info = newland.info(9)
    catalog.plug(info, newland)
    source.start()
    assert events.get(timeout=WAIT_S).text == "0911111111"
    wait_for(lambda: source.status.state is SourceState.WAITING, "the reader to be dropped")
    time.sleep(0.3)  # several discovery rounds while it is away
    assert catalog.opened == [(info.path, True)]  # gone means gone: nothing reopened it
    assert events.empty()  # the scan cut off by the unplug was not stored half
    catalog.plug(info, newland)  # the same reader comes back
    assert events.get(timeout=WAIT_S).text == "0911111111"
    assert len(catalog.opened) == 2


def test_stopping_twice_is_harmless(hid: Callable[..., tuple]) -> None:
    """The app and the runtime can both stop the readers on the way out: the second stop
    once wrote to the closed wake-up pipe (OSError: Bad file descriptor, exit 1)."""
    source, catalog, events = hid()
    catalog.plug(HONEYWELL, Recording("keypad_altcodes.jsonl"))
    source.start()
    events.get(timeout=WAIT_S)
    source.stop()
    source.stop()
    source.close()
