"""A stolen kiosk reveals no one (issue 13): personal data is sealed to the district key at the scan.

The done-when test: over a hundred generated people are scanned through the real paths of
an enrolled kiosk (a serial reader on a pty and the camera on a recorded video, both in a
real ``run --headless``; the CLI's manual entry and ``scan``), then every byte the kiosk
left behind (the data directory with its database, WAL and SHM, a USB backup, a USB
export, the kiosk's and the server's logs) is searched for every ID number, phone number
and name, in UTF-8 and UTF-16 (both byte orders), NFC and NFD: not one hit. After a sync,
tracing on the district server finds every one of them. The same holds for a kiosk that
records before it has any key, once the key is loaded: its backlog is sealed in place.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlite_utils

from kiosk.salvage import salvage
from kiosk.scan import ScanService
from kiosk.seal import DistrictKey, UnusableKey, open_sealed, seal
from kiosk.store import MIGRATIONS, VisitStore
from server import tracing
from server.keys import Keyring
from tests.conftest import CLI
from tests.ptyscanner import PtyScanner
from tests.qrframes import scene, write_video
from tests.sync.conftest import CHECKPOINT, Kiosk, Server
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(240)

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương"]
MIDDLE = ["Văn", "Thị", "Đức", "Ngọc", "Minh", "Thu", "Quốc", "Hữu", "Thị Ánh", "Công"]
GIVEN = ["Đức", "Tuyết", "Hằng", "Việt", "Ánh", "Lộc", "Thủy", "Khải", "Hường", "Thắng", "Nhung", "Phúc", "Ngà", "Trọng", "Yến"]
MOBILE = ["032", "033", "034", "035", "036", "037", "038", "039", "086", "088", "090", "091", "094", "096", "098"]
ADDRESS = "Thôn 3, Xã Đăk Nhau, Huyện Bù Đăng, Tỉnh Bình Phước"


@dataclass(frozen=True)
class Person:
    name: str
    id_number: str
    phone: str

    def cccd(self) -> str:
        return f"{self.id_number}||{self.name}|14071985|Nữ|{ADDRESS}|10052021"

    def secrets(self) -> list[str]:
        return [self.id_number, self.phone, self.name]


def people(count: int, seed: int) -> list[Person]:
    """Distinct people: real Vietnamese names with diacritics, 12-digit IDs, mobile numbers."""
    rng = random.Random(seed)
    made: dict[str, Person] = {}
    while len(made) < count:
        name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
        if name in {p.name for p in made.values()}:
            continue
        id_number = f"0{rng.randint(1, 96):02d}{rng.randint(0, 3)}{rng.randint(40, 99):02d}{rng.randint(0, 999999):06d}"
        phone = rng.choice(MOBILE) + f"{rng.randint(0, 9999999):07d}"
        made[id_number] = Person(name, id_number, phone)
    return list(made.values())


def forms(text: str) -> set[bytes]:
    """Every way the text could sit on disk: UTF-8 and UTF-16 (LE, BE), NFC and NFD."""
    shapes = {unicodedata.normalize(form, text) for form in ("NFC", "NFD")}
    return {shape.encode(codec) for shape in shapes for codec in ("utf-8", "utf-16-le", "utf-16-be")}


def files_under(*roots: Path) -> list[Path]:
    found = []
    for root in roots:
        found += [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
    return found


def hits(everyone: list[Person], files: list[Path]) -> list[str]:
    """Which secret (its kind and position, never the value) is found in which file."""
    blobs = {path: path.read_bytes() for path in files}
    found = []
    for n, person in enumerate(everyone):
        for kind, secret in zip(("id", "phone", "name"), person.secrets(), strict=True):
            for path, blob in blobs.items():
                if any(shape in blob for shape in forms(secret)):
                    found.append(f"person {n} {kind} in {path.name}")
    return found


def wait_headless(proc: subprocess.Popen[bytes], data_dir: Path, count: int) -> None:
    def stored() -> int:
        if not (data_dir / "visits.sqlite3").exists():
            return 0
        with VisitStore.in_dir(data_dir) as store:
            return len(store.visits(limit=None))

    wait_for(lambda: stored() >= count or proc.poll() is not None, f"{count} visits")
    assert proc.poll() is None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path / "server")
    yield running
    running.stop()
    running.engine.dispose()


def scan_everyone(kiosk: Kiosk, tmp_path: Path, everyone: list[Person]) -> Path:
    """Serial and camera in a headless run, then manual entry and ``scan`` from the CLI; the run's log."""
    serial, camera, manual, typed = everyone[:70], everyone[70:95], everyone[95:100], everyone[100:]
    frames = []
    for n, person in enumerate(camera):
        frames += [scene(person.cccd(), width_px=300, seed=n)] * 2 + [scene(None, seed=n)]
    video = write_video(tmp_path / "camera.avi", frames)
    reader = PtyScanner(tmp_path / "reader")
    log = tmp_path / "run.log"
    argv = kiosk.argv(
        "--set", "scanners.serial.enabled=true", "--set", f"scanners.serial.port={reader.link}",
        "--set", "scanners.camera.enabled=true", "--set", f"scanners.camera.device={video}",
        "run", "--headless",
    )  # fmt: skip
    try:
        with log.open("wb") as sink:
            proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT)
            wait_for(lambda: b"serial: connected" in log.read_bytes() or proc.poll() is not None, "the reader")
            for person in serial:
                reader.write(person.cccd().encode() + b"\r\n")
            wait_headless(proc, kiosk.data_dir, len(serial) + len(camera))
            # as a thief would find it mid-shift: the WAL full of this shift's pages, the SHM beside it
            shutil.copytree(kiosk.data_dir, tmp_path / "pulled-sd-card")
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0, log.read_text()
    finally:
        reader.close()
    for person in manual:
        done = kiosk.cli("manual", "--phone", person.phone, "--name", person.name, "--id-number", person.id_number)
        assert done.code == 0, done.stderr
    for person in typed:
        assert kiosk.cli("record", person.cccd()).code == 0
    return log


def test_a_hundred_people_scanned_on_an_enrolled_kiosk_leave_no_trace_and_all_reach_the_district(
    server: Server, tmp_path: Path
) -> None:
    everyone = people(105, seed=13)
    kiosk = Kiosk(tmp_path / "kiosk", server.url)
    kiosk.enroll(server)
    run_log = scan_everyone(kiosk, tmp_path, everyone)
    with VisitStore.in_dir(kiosk.data_dir) as store:
        rows = store.visits(limit=None)
        assert len(rows) == len(everyone) and all(row["sealed"] for row in rows)
        assert store.unsealed() == 0
    for stick in ("usb-backup", "usb-export"):
        (tmp_path / stick).mkdir()
    backup = kiosk.cli("backup", "--to", str(tmp_path / "usb-backup"), "--json")
    export = kiosk.cli("export", "--to", str(tmp_path / "usb-export"), "--json")
    assert (backup.code, export.code) == (0, 0), backup.stderr + export.stderr
    card = tmp_path / "pulled-sd-card"
    places = [kiosk.data_dir, card, tmp_path / "usb-backup", tmp_path / "usb-export", run_log, server.log]
    searched = files_under(*places)
    assert {"visits.sqlite3", "visits.sqlite3-wal", "visits.sqlite3-shm"} <= {p.name for p in files_under(card)}
    assert (card / "visits.sqlite3-wal").stat().st_size > 0
    assert hits(everyone, searched) == []
    assert hits(everyone[:1], [run_log]) == [] and b"***" in run_log.read_bytes()  # the log shows masked summaries

    synced = kiosk.cli("sync", "--json")
    assert (synced.code, synced.json()["pending"]) == (0, 0), synced.stderr  # the run's background sync sent most
    assert len(server.visit_ids()) == len(everyone)
    start, end = datetime.now(timezone.utc) - timedelta(hours=1), datetime.now(timezone.utc) + timedelta(hours=1)
    for person in everyone:
        found = tracing.person(server.engine, "test", "Truy vết ca F0 (test)", start, end, id_number=person.id_number)
        assert len(found.visits) == 1, person.id_number[-4:]
        assert found.visits[0].name == person.name and found.visits[0].checkpoint == CHECKPOINT
    for person in everyone[95:100]:
        assert len(tracing.person(server.engine, "test", "Truy vết ca F0 (test)", start, end, phone=person.phone).visits) == 1


def test_a_kiosk_without_a_key_records_then_seals_its_backlog_leaving_no_clear_copy(server: Server, tmp_path: Path) -> None:
    everyone = people(40, seed=31)
    kiosk = Kiosk(tmp_path / "kiosk", server.url)
    status = kiosk.cli("doctor", "--json", "--timeout", "3").json()
    with VisitStore.in_dir(kiosk.data_dir) as store:  # the scan service in process: 40 CLI starts would cost minutes
        service = ScanService(kiosk.config(), store)
        for person in everyone:
            assert service.manual(person.phone, name=person.name, id_number=person.id_number).accepted
    sealing = [f for f in kiosk.cli("doctor", "--json", "--timeout", "3").json()["findings"] if f["check"] == "sealing"]
    assert [f["level"] for f in sealing] == ["warn"] and "district-key" in sealing[0]["fix"], status
    assert hits(everyone[:3], files_under(kiosk.data_dir)) != []  # the guard was told: it is there until a key comes

    exported = tmp_path / "district.key"
    printed = subprocess.run(
        [str(Path(CLI).with_name("checkpoint-server")), "keys", "export", str(exported), "--config", str(server.config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert printed.returncode == 0, printed.stderr
    fingerprint = printed.stderr.split(":")[1].split("(")[0].strip()  # as the admin reads it: groups of four
    wrong = kiosk.cli("district-key", str(exported), "--fingerprint", "0" * 40)
    assert wrong.code == 1 and "không khớp" in wrong.stderr and "does not match" in wrong.stderr
    loaded = kiosk.cli("district-key", str(exported), "--fingerprint", fingerprint)
    assert loaded.code == 0 and "40" in loaded.stdout, loaded.stderr
    assert hits(everyone, files_under(kiosk.data_dir)) == []
    sealing = [f for f in kiosk.cli("doctor", "--json", "--timeout", "3").json()["findings"] if f["check"] == "sealing"]
    assert [f["level"] for f in sealing] == ["ok"]

    kiosk.enroll(server)
    synced = kiosk.cli("sync", "--json")
    assert synced.json()["rejected_by_code"] == {"wrong_checkpoint": 40}  # recorded as the demo checkpoint: opened, then checked
    rejected = kiosk.cli("visits", "--rejected", "--full", "--json")
    assert "không mở được" in rejected.stderr and len(rejected.json()) == 40
    assert all(row["sealed"] and "***" in row["summary"] for row in rejected.json())


def test_a_seal_opens_only_with_its_key_and_for_its_own_visit(tmp_path: Path) -> None:
    ring = Keyring(tmp_path / "keys")
    ring.init()
    first = ring.district_key()
    sealed = seal(first, "visit-1", {"fields": {"name": "Lê Anh Sơn"}})
    ring.rotate()
    second = ring.district_key()
    assert second.fingerprint != first.fingerprint
    assert open_sealed(ring.opening_key(first.fingerprint), "visit-1", sealed) == {"fields": {"name": "Lê Anh Sơn"}}
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidTag: the wrong visit
        open_sealed(ring.opening_key(first.fingerprint), "visit-2", sealed)
    with pytest.raises(Exception):  # noqa: B017 - and the wrong key
        open_sealed(ring.opening_key(second.fingerprint), "visit-1", sealed)
    with pytest.raises(UnusableKey):
        DistrictKey.from_text(first.text(), second.fingerprint)
    assert [(k.purpose, k.current) for k in ring.list()] == [
        ("encryption", True),
        ("encryption", False),
        ("signing", True),
    ]


def test_private_keys_are_0600_and_their_folders_0700_whatever_the_umask(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            "sh",
            "-c",
            'umask 000 && "$0" keys init --config "$1"',
            str(Path(CLI).with_name("checkpoint-server")),
            str(_config(tmp_path)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "mất khoá riêng là mất mọi lượt ghi còn niêm phong" in done.stdout
    keys = tmp_path / "keys"
    assert {p.stat().st_mode & 0o777 for p in keys.rglob("*.pem")} == {0o600}
    assert {p.stat().st_mode & 0o777 for p in [keys, *(p for p in keys.iterdir() if p.is_dir())]} == {0o700}
    listed = subprocess.run(
        [str(Path(CLI).with_name("checkpoint-server")), "keys", "list", "--json", "--config", str(_config(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert [k["purpose"] for k in json.loads(listed.stdout)] == ["encryption", "signing"]


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "server.toml"
    config.write_text(f'[server]\nkeys_dir = "{tmp_path / "keys"}"\ndb = "sqlite:///{tmp_path / "s.sqlite3"}"\n')
    return config


def test_visits_recovered_from_a_pre_sealing_file_are_sealed_before_they_are_stored(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite3"  # a damaged file kept aside by a kiosk from before sealing (schema 3)
    db = sqlite_utils.Database(old)
    for number, migrate in enumerate(MIGRATIONS[:3]):
        migrate(db)
        db.execute(f"PRAGMA user_version = {number + 1}")
    fields = {"phone": "0912345678", "name": "Điểu Thị Hằng", "id_number": "070185004321"}
    row = {"id": str(uuid.uuid4()), "checkpoint_code": "BD-001", "device_id": "d", "direction": "in", "source": "manual"}
    row |= {"kind": "phone", "credential_key": "phone:0912345678", "fields": json.dumps(fields, ensure_ascii=False)}
    row |= {"scanned_at": "2026-11-20T01:00:00.000000+00:00", "monotonic_ns": 1, "boot_id": "b", "clock_synchronised": 1}
    db["visits"].insert(row)
    db.close()
    ring = Keyring(tmp_path / "keys")
    ring.init()
    with VisitStore.in_dir(tmp_path / "data") as store:
        store.set_district_key(ring.district_key())
        assert salvage(store, old).recovered == 1
        stored = store.db.execute("SELECT fields, clear, sealed, key_id FROM visits").fetchone()
        store.scrub()
    assert json.loads(stored[0]) == {"phone": "***5678", "name": "Điểu T. H.", "id_number": "***4321"}
    assert stored[1] is None and stored[3] == ring.district_key().fingerprint
    assert open_sealed(ring.opening_key(stored[3]), row["id"], stored[2])["fields"] == fields
    assert hits([Person("Điểu Thị Hằng", "070185004321", "0912345678")], files_under(tmp_path / "data")) == []
