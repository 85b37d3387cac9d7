"""A card revoked at the district is refused at a kiosk after its next sync: a real
``checkpoint-server serve`` with a signing key, the real ``checkpoint-kiosk`` enrol, record and sync."""

from __future__ import annotations

import json
from pathlib import Path

from kiosk.card_trust_file import card_trust_path, read_card_trust
from server import cards
from tests.cardfixtures import DISTRICT_KEY, pem
from tests.sync.conftest import Kiosk, Server


def keyed(server: Server, home: Path) -> None:
    """The district's signing key in the server's config, and the server restarted with it."""
    key = home / "card-signing-key.pem"
    key.write_bytes(pem(DISTRICT_KEY))
    key.chmod(0o600)
    server.config.write_text(server.config.read_text() + f'\n[cards]\nsigning_key = "{key}"\n')
    server.stop()
    server.start()


def test_enrolment_brings_the_key_a_sync_brings_each_revocation(server: Server, tmp_path: Path) -> None:
    keyed(server, tmp_path)
    issued = cards.issue(
        server.engine,
        DISTRICT_KEY,
        "cli:test",
        "Xã Đăk Nhau",
        cards.parse_residents("name,birth_year\nĐiểu Thị Hằng,1970\nBùi Hữu Lộc,1988\n"),
    )
    kiosk = Kiosk(tmp_path / "k")
    kiosk.enroll(server)
    assert read_card_trust(kiosk.data_dir).to_wire()["public_keys"] == [DISTRICT_KEY.public_key().public_bytes_raw().hex()]
    first = kiosk.cli("record", issued[0].payload).json()
    assert (first["status"], first["kind"], first["card"]) == ("accepted", "card", "valid")

    cards.revoke(server.engine, "cli:test", issued[0].number)
    assert kiosk.cli("sync").code == 0  # delivers the visit; the answer brings the revocation
    assert read_card_trust(kiosk.data_dir).revoked == {issued[0].number}
    again = kiosk.cli("--set", "kiosk.repeat_window_s=0", "record", issued[0].payload).json()
    assert (again["status"], again["card"]) == ("accepted", "revoked")  # recorded, orange, with the reason

    assert kiosk.cli("sync").code == 0
    cards.revoke(server.engine, "cli:test", issued[1].number)
    idle = kiosk.cli("sync", "--json")  # nothing to send: an empty batch still asks
    assert idle.code == 0 and idle.json()["sent"] == 0
    assert read_card_trust(kiosk.data_dir).revoked == {issued[0].number, issued[1].number}
    assert json.loads(card_trust_path(kiosk.data_dir).read_text())["revoked"] == [1, 2]
    assert card_trust_path(kiosk.data_dir).stat().st_mode & 0o077 == 0
    assert server.visits()  # the card visits reached the district
    assert {v["card_number"] for v in server.visits().values()} == {issued[0].number}


def test_a_kiosk_that_never_goes_online_gets_the_revocations_in_its_usb_receipt(server: Server, tmp_path: Path) -> None:
    keyed(server, tmp_path)
    issued = cards.issue(
        server.engine, DISTRICT_KEY, "cli:test", "Xã Đăk Nhau", cards.parse_residents("name,birth_year\nĐỗ Bá Khải,1979\n")
    )
    kiosk = Kiosk(tmp_path / "k")
    kiosk.enroll(server)  # once, at the commune office; from then on only USB sticks
    assert kiosk.cli("record", issued[0].payload).json()["card"] == "valid"
    cards.revoke(server.engine, "cli:test", issued[0].number)
    usb = tmp_path / "usb"
    usb.mkdir()
    exported = kiosk.cli("export", "--to", str(usb), "--json")
    assert exported.code == 0, exported.stderr
    imported = server.cli("import", exported.json()["file"], "--config", str(server.config), "--json")
    assert imported.code == 0, imported.stderr
    receipt = Path(imported.json()["receipt"])

    tampered = tmp_path / "tampered.cpr"  # a stick passed through other hands: the list unrevoked
    tampered.write_bytes(receipt.read_bytes().replace(f'"revoked": [{issued[0].number}]'.encode(), b'"revoked": []'))
    assert tampered.read_bytes() != receipt.read_bytes()
    assert kiosk.cli("import-receipt", str(tampered)).code != 0
    assert read_card_trust(kiosk.data_dir).revoked == frozenset()

    assert kiosk.cli("import-receipt", str(receipt)).code == 0
    assert read_card_trust(kiosk.data_dir).revoked == {issued[0].number}
    again = kiosk.cli("--set", "kiosk.repeat_window_s=0", "record", issued[0].payload).json()
    assert (again["status"], again["card"]) == ("accepted", "revoked")
