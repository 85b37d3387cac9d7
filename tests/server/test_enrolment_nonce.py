"""A lost enrolment answer: the same code and nonce get the same device back; orphans listed and removed.

Every test runs on SQLite and PostgreSQL (the ``db_url`` fixture), through the real API
(TestClient on the app) and the real ``checkpoint-server`` commands.
"""

from __future__ import annotations

import json
import secrets
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from kiosk.catalog import gettext
from server import audit, enrolment
from server.cli import main
from server.errors import UserError
from server.schema import device_tokens, devices, enroll_codes
from server.tokens import digest
from tests.server.conftest import add_checkpoint, bearer, visit

ENROLL = "/api/v1/enroll"


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def new_code(engine: Engine, checkpoint: str = "BD-001") -> str:
    return enrolment.create_enroll_code(engine, checkpoint, timedelta(hours=1), "https://x.example", "test").code


def nonce() -> str:
    return secrets.token_urlsafe(32)


def enroll(client: TestClient, code: str, nonce_: str | None = None) -> Any:
    return client.post(ENROLL, json={"code": code} if nonce_ is None else {"code": code, "nonce": nonce_})


def batch(client: TestClient, device_id: str, token: str) -> Any:
    return client.post("/api/v1/visits/batch", json={"device_id": device_id, "visits": [visit()]}, headers=bearer(token))


def whoami(client: TestClient, token: str) -> tuple[int, str | None]:
    answer = client.get("/api/v1/device", headers=bearer(token))
    return answer.status_code, answer.json().get("error")


def test_same_nonce_gets_the_same_device_with_a_fresh_token_and_retires_the_old(client: TestClient, engine: Engine) -> None:
    add_checkpoint(engine)
    code, mine = new_code(engine), nonce()
    first = enroll(client, code, mine)
    assert first.status_code == 200, first.text
    # typed the second time, lower case and spaces: the same code
    again = enroll(client, code.lower().replace("-", " "), mine)
    assert again.status_code == 200, again.text
    assert again.json()["device_id"] == first.json()["device_id"]
    assert again.json()["checkpoint"] == first.json()["checkpoint"]
    assert again.json()["token"] != first.json()["token"]
    assert whoami(client, first.json()["token"]) == (401, "token_rotated")
    device_id, token = again.json()["device_id"], again.json()["token"]
    assert batch(client, device_id, token).status_code == 200
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(devices)).scalar() == 1
        stored = conn.execute(sa.select(enroll_codes.c.nonce_hash)).scalar_one()
        assert stored == digest(mine) and mine not in str(conn.execute(sa.select(enroll_codes)).all())
        retired = conn.execute(sa.select(device_tokens.c.retired_because).order_by(device_tokens.c.issued_at)).scalars()
        assert sorted(retired, key=str) == sorted(["rotated", None], key=str)
    actions = [e["action"] for e in audit.entries(engine)]
    assert actions.count("device.enroll") == 1 and actions.count("device.enroll_again") == 1


def test_another_nonce_or_none_is_refused_as_used(client: TestClient, engine: Engine) -> None:
    add_checkpoint(engine)
    code, mine = new_code(engine), nonce()
    assert enroll(client, code, mine).status_code == 200
    for other in (nonce(), None):
        refused = enroll(client, code, other)
        assert refused.status_code == 409 and refused.json()["error"] == "enroll_code_used"
    # a code first redeemed without a nonce (an older kiosk) cannot be claimed with one later
    old_style = new_code(engine)
    assert enroll(client, old_style).status_code == 200
    assert enroll(client, old_style, mine).json()["error"] == "enroll_code_used"
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(devices)).scalar() == 2


def test_a_malformed_nonce_is_a_422_that_names_the_field_not_the_value(client: TestClient, engine: Engine) -> None:
    add_checkpoint(engine)
    code = new_code(engine)
    for bad in ("short", "x" * 129, "has space in it!!", "ü" * 20):
        answer = enroll(client, code, bad)
        assert answer.status_code == 422, bad
        assert bad not in answer.text and "nonce" in answer.text
    assert enroll(client, code, nonce()).status_code == 200  # the code was not spent by the refusals


def test_an_expired_code_with_the_right_nonce_is_409_expired(client: TestClient, engine: Engine) -> None:
    add_checkpoint(engine)
    code, mine = new_code(engine), nonce()
    first = enroll(client, code, mine).json()
    with engine.begin() as conn:
        conn.execute(enroll_codes.update().values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    refused = enroll(client, code, mine)
    assert refused.status_code == 409 and refused.json()["error"] == "enroll_code_expired"
    assert enroll(client, code, nonce()).json()["error"] == "enroll_code_used"  # to anyone else it is simply used
    assert whoami(client, first["token"])[0] == 200  # a refused retry changes nothing


def test_a_revoked_device_is_never_revived(client: TestClient, engine: Engine, db_url: str) -> None:
    add_checkpoint(engine)
    code, mine = new_code(engine), nonce()
    first = enroll(client, code, mine).json()
    assert cli("device", "revoke", first["device_id"], "--db", db_url).exit_code == 0
    refused = enroll(client, code, mine)
    assert refused.status_code == 409 and refused.json()["error"] == "enroll_code_used"
    assert whoami(client, first["token"]) == (401, "token_revoked")
    with engine.connect() as conn:  # no token was issued for the revoked device
        assert conn.execute(sa.select(sa.func.count()).select_from(device_tokens)).scalar() == 1


def listed(db_url: str, *flags: str) -> list[dict[str, Any]]:
    shown = cli("device", "list", "--json", *flags, "--db", db_url)
    assert shown.exit_code == 0, shown.output
    return json.loads(shown.stdout)


def test_orphans_are_marked_listed_and_removed(client: TestClient, engine: Engine, db_url: str) -> None:
    add_checkpoint(engine)
    add_checkpoint(engine, "BD-002")
    add_checkpoint(engine, "BD-003")
    lost = enroll(client, new_code(engine)).json()  # an older kiosk whose answer was lost...
    kept = enroll(client, new_code(engine)).json()  # ...enrolled again with a new code, and synced
    assert batch(client, kept["device_id"], kept["token"]).status_code == 200
    waiting = enroll(client, new_code(engine, "BD-002"), nonce()).json()  # enrolled, nothing sent yet
    unseen = enroll(client, new_code(engine, "BD-003"), nonce()).json()
    with engine.begin() as conn:  # never seen for longer than its code was valid (1 h)
        conn.execute(
            devices.update()
            .where(devices.c.id == unseen["device_id"])
            .values(enrolled_at=datetime.now(timezone.utc) - timedelta(hours=2))
        )
    rows = {row["id"]: row for row in listed(db_url)}
    assert {r["id"]: (r["state"], r["synced"], r["orphan"]) for r in rows.values()} == {
        lost["device_id"]: ("orphan", False, True),
        kept["device_id"]: ("active", True, False),
        waiting["device_id"]: ("active", False, False),
        unseen["device_id"]: ("orphan", False, True),
    }
    assert rows[kept["device_id"]]["last_seen_at"] and rows[lost["device_id"]]["last_seen_at"] is None
    assert {r["id"] for r in listed(db_url, "--orphans")} == {lost["device_id"], unseen["device_id"]}
    assert [r["id"] for r in listed(db_url, "--orphans", "--checkpoint", "BD-001")] == [lost["device_id"]]
    table = cli("device", "list", "--db", db_url)
    assert table.exit_code == 0 and gettext("orphan: never used") in table.stdout and gettext("State") in table.stdout

    removed = cli("device", "remove", lost["device_id"], "--db", db_url)
    assert removed.exit_code == 0, removed.output
    assert lost["device_id"] in removed.stdout and "BD-001" in removed.stdout
    assert whoami(client, lost["token"]) == (401, "token_unknown")
    assert {r["id"] for r in listed(db_url, "--orphans")} == {unseen["device_id"]}
    entry = next(e for e in audit.entries(engine) if e["action"] == "device.remove")
    assert entry["params"]["device"] == lost["device_id"] and entry["actor"].startswith("cli:")

    refused = cli("device", "remove", kept["device_id"], "--db", db_url)  # it sent a visit: revoke is for it
    assert refused.exit_code == 1 and "revoke" in refused.stderr and "Traceback" not in refused.output
    assert whoami(client, kept["token"])[0] == 200
    unknown = cli("device", "remove", "no-such-device", "--db", db_url)
    assert unknown.exit_code == 1 and "no-such-device" in unknown.stderr


def test_a_removed_device_is_not_revived_by_its_nonce(client: TestClient, engine: Engine, db_url: str) -> None:
    add_checkpoint(engine)
    code, mine = new_code(engine), nonce()
    first = enroll(client, code, mine).json()
    assert cli("device", "remove", first["device_id"], "--db", db_url).exit_code == 0
    refused = enroll(client, code, mine)
    assert refused.status_code == 409 and refused.json()["error"] == "enroll_code_used"
    assert listed(db_url) == []


def test_racing_redemptions_make_one_device_and_leave_one_live_token(engine: Engine) -> None:
    add_checkpoint(engine)
    code, shared = new_code(engine), nonce()
    nonces = [shared] * 4 + [nonce() for _ in range(4)]
    answers: dict[int, Any] = {}
    start = threading.Barrier(len(nonces))

    def redeem(i: int) -> None:
        start.wait()
        try:
            answers[i] = enrolment.redeem(engine, code, nonces[i])
        except UserError as exc:
            answers[i] = exc.code

    threads = [threading.Thread(target=redeem, args=(i,)) for i in range(len(nonces))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    won = {i: a for i, a in answers.items() if not isinstance(a, str)}
    assert len(answers) == len(nonces) and won
    assert len({nonces[i] for i in won}) == 1  # only the winner's nonce ever got an answer
    assert len({a.device_id for a in won.values()}) == 1
    assert {a for a in answers.values() if isinstance(a, str)} <= {"enroll_code_used"}
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(devices)).scalar() == 1
        live = conn.execute(sa.select(device_tokens.c.token_hash).where(device_tokens.c.retired_at.is_(None))).scalars().all()
    assert len(live) == 1 and live[0] in {digest(a.token) for a in won.values()}
