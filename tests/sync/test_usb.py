"""USB export → checkpoint-server import → receipt or sync: every visit delivered once, files sealed."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.enrolment import read_enrolment
from server import enrolment
from server.schema import device_tokens
from sync.sealed import VISITS, SealedWriter
from tests.sync.conftest import CHECKPOINT, Kiosk, Server, assert_delivered_exactly_once, cccd
from tests.test_private_modes import UMASKS, mode, under_umask


def exported(server: Server, tmp_path: Path, visits: int) -> tuple[Kiosk, list[str], Path]:
    """An enrolled kiosk with ``visits`` visits, all written to a USB stick: (kiosk, visit ids, file)."""
    kiosk = Kiosk(tmp_path)
    kiosk.enroll(server)
    ids = kiosk.record(visits)
    usb = tmp_path / "usb"
    usb.mkdir()
    result = kiosk.cli("export", "--to", str(usb), "--json")
    assert result.code == 0, result.stderr
    return kiosk, ids, Path(result.json()["file"])


def test_export_import_twice_then_sync_reconciles(server: Server, tmp_path: Path) -> None:
    kiosk, ids, file = exported(server, tmp_path, 1200)  # more than one frame (at most 1,000 visits each)
    data = file.read_bytes()
    assert cccd(0)[:12].encode() not in data and "Nguyễn".encode() not in data  # not readable on the stick
    status = kiosk.cli("status", "--json").json()
    assert (status["pending"], status["sync"]["exported_awaiting_confirmation"]) == (1200, 1200)

    first = server.cli("import", str(file), "--json")
    assert first.code == 0, first.stderr
    assert (first.json()["created"], first.json()["duplicate"], first.json()["rejected"]) == (1200, 0, 0)
    again = server.cli("import", str(file))
    assert again.code == 0 and "mới 0, trùng 1200, bị từ chối 0" in again.stdout
    assert set(server.visit_ids()) == set(ids) and sum(server.visit_ids().values()) == 1200

    later = kiosk.record(10, start=5000)
    synced = kiosk.cli("sync", "--json").json()  # the exported visits are confirmed by the normal sync
    assert synced == {
        "sent": 1210,
        "created": 10,
        "duplicate": 1200,
        "rejected": 0,
        "pending": 0,
        "error": None,
        "rejected_by_code": {},
        "rejected_kept": 0,
    }
    assert set(server.visit_ids()) == set(ids + later)
    assert_delivered_exactly_once(server, kiosk)


def test_the_receipt_confirms_exported_visits_without_a_network(server: Server, tmp_path: Path) -> None:
    kiosk, _, file = exported(server, tmp_path, 40)
    imported = server.cli("import", str(file), "--json").json()
    receipt = Path(imported["receipt"])
    assert receipt.parent == file.parent and receipt.suffix == ".cpr"
    confirmed = kiosk.cli("import-receipt", str(receipt), "--json")
    assert (confirmed.code, confirmed.json()["created"], confirmed.json()["pending"]) == (0, 40, 0)
    assert kiosk.cli("status", "--json").json()["sync"]["exported_awaiting_confirmation"] == 0
    nothing = kiosk.cli("export", "--to", str(file.parent))
    assert nothing.code == 0 and "Không có lượt nào chờ gửi" in nothing.stdout
    assert kiosk.cli("sync", "--json").json()["sent"] == 0
    assert_delivered_exactly_once(server, kiosk)


def test_altered_cut_short_and_foreign_files_are_refused(server: Server, tmp_path: Path) -> None:
    kiosk, _, file = exported(server, tmp_path, 30)
    data = file.read_bytes()
    flip = len(data) // 2  # inside the frame of visits
    cases = {
        "altered": data[:flip] + bytes([data[flip] ^ 1]) + data[flip + 1 :],
        "altered_end": data[:-5] + bytes([data[-5] ^ 1]) + data[-4:],
        "cut": data[: len(data) - 20],
        "plain": b'{"id": "3f0e2a3c-0000-4000-8000-000000000001"}\n',
        "foreign": data.replace(read_enrolment(kiosk.data_dir).device_id.encode(), _other_device(server).encode()),
    }
    words = {
        "altered": "đã bị sửa",
        "altered_end": "hỏng",
        "cut": "cắt ngang",
        "plain": "không phải tệp xuất",
        "foreign": "không phải của thiết bị đó",
    }
    for name, content in cases.items():
        bad = tmp_path / f"{name}.cpk"
        bad.write_bytes(content)
        result = server.cli("import", str(bad))
        assert (result.code, words[name] in result.stderr, "Traceback" in result.stderr) == (1, True, False), (name, result)
    assert sum(server.visit_ids().values()) == 30  # only "altered_end": its frame of visits was genuine

    receipt = tmp_path / "usb" / "not-a-receipt.cpr"
    receipt.write_bytes(data)  # an export is not a receipt
    refused = kiosk.cli("import-receipt", str(receipt))
    assert refused.code == 1 and "biên nhận" in refused.stderr

    enrolment.revoke_device(server.engine, read_enrolment(kiosk.data_dir).device_id, "test")
    revoked = server.cli("import", str(file))
    assert revoked.code == 1 and "thu hồi" in revoked.stderr


def _other_device(server: Server) -> str:
    return enrolment.redeem(server.engine, server.enroll_code()).device_id


def test_a_copy_of_the_server_database_forges_no_import(server: Server, tmp_path: Path) -> None:
    """The token hash the server keeps opens an export but cannot sign one (issue 13)."""
    kiosk, _, file = exported(server, tmp_path, 3)
    device_id = read_enrolment(kiosk.data_dir).device_id
    with server.engine.connect() as conn:  # what a stolen database gives: the token hashes
        hashes = [bytes.fromhex(h) for h in conn.execute(sa.select(device_tokens.c.token_hash)).scalars()]
    forged_visit = {**_a_visit(), "checkpoint": CHECKPOINT}
    for name, signer in (("unsigned", None), ("forged", Ed25519PrivateKey.generate())):
        forged = tmp_path / f"{name}.cpk"
        with forged.open("wb") as fh:
            writer = SealedWriter(fh, VISITS, {"device_id": device_id, "checkpoint": CHECKPOINT}, hashes[0], signer)
            writer.add(forged_visit)
            writer.close()
        result = server.cli("import", str(forged))
        assert (result.code, "Traceback" in result.stderr) == (1, False), result
        assert ("không có chữ ký" if name == "unsigned" else "tệp giả") in result.stderr
    assert server.visit_ids() == {}
    genuine = server.cli("import", str(file), "--json")
    assert (genuine.code, genuine.json()["created"]) == (0, 3), genuine.stderr


def _a_visit() -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "direction": "in",
        "source": "cli",
        "kind": "phone",
        "scanned_at": datetime.now(timezone.utc).isoformat(),
        "fields": {"phone": "0912345678"},
        "clock_synchronised": True,
    }


@pytest.mark.parametrize("mask", UMASKS)
def test_usb_exports_and_backups_are_0600_whatever_the_umask(server: Server, tmp_path: Path, mask: str) -> None:
    """A FAT stick ignores modes, but the same commands also write to the kiosk's own disks."""
    kiosk = Kiosk(tmp_path)
    kiosk.enroll(server)
    kiosk.record(3)
    usb = tmp_path / "usb"
    usb.mkdir()
    exported = under_umask(mask, *kiosk.argv("export", "--to", str(usb), "--json"))
    assert exported.returncode == 0, exported.stderr
    backed_up = under_umask(mask, *kiosk.argv("backup", "--to", str(usb), "--json"))
    assert backed_up.returncode == 0, backed_up.stderr
    files = {Path(json.loads(done.stdout)["file"]) for done in (exported, backed_up)}
    assert files == set(usb.iterdir())  # no .part left behind
    assert {path.name: mode(path) for path in files} == {path.name: 0o600 for path in files}
