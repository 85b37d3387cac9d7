"""Enrolment codes (text, QR, PNG), their exchange for a device token, revoke and rotate."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from server import audit
from server.cli import main
from server.schema import device_tokens, enroll_codes
from sync.protocol import EnrollPayload
from tests.server.conftest import add_checkpoint, bearer, official_token, visit


def cli(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


def batch(client: TestClient, device_id: str, token: str, *visits: dict) -> object:
    return client.post("/api/v1/visits/batch", json={"device_id": device_id, "visits": list(visits)}, headers=bearer(token))


def test_enroll_code_cli_json_qr_png_then_exchange_once(client: TestClient, engine: Engine, db_url: str, tmp_path: Path) -> None:
    add_checkpoint(engine)
    png = tmp_path / "ma.png"
    made = cli("enroll-code", "BD-001", "--json", "--png", str(png), "--server-url", "https://tt.example/", "--db", db_url)
    assert made.exit_code == 0, made.output
    data = json.loads(made.stdout)
    assert set(data) == {"code", "expires_at", "qr"}
    assert EnrollPayload.from_qr_text(data["qr"]) == EnrollPayload(server="https://tt.example", code=data["code"])
    expires = datetime.fromisoformat(data["expires_at"])
    assert timedelta(hours=23) < expires - datetime.now(timezone.utc) <= timedelta(hours=24)
    assert png.read_bytes().startswith(b"\x89PNG")
    with engine.connect() as conn:  # only the hash is kept
        assert data["code"] not in str(conn.execute(sa.select(enroll_codes)).all())

    answer = client.post("/api/v1/enroll", json={"code": data["code"].lower().replace("-", " ")})
    assert answer.status_code == 200, answer.text
    enrolled = answer.json()
    assert enrolled["checkpoint"] == {
        "code": "BD-001",
        "name": "Chốt BD-001",
        "commune": "Xã Đăk Nhau",
        "district": "Huyện Bù Đăng",
        "province": "Tỉnh Bình Phước",
    }
    assert len(enrolled["token"]) >= 40  # ≥ 128 random bits
    with engine.connect() as conn:
        assert enrolled["token"] not in str(conn.execute(sa.select(device_tokens)).all())
    again = client.post("/api/v1/enroll", json={"code": data["code"]})
    assert again.status_code == 409 and again.json()["error"] == "enroll_code_used"
    assert batch(client, enrolled["device_id"], enrolled["token"], visit()).status_code == 200


def test_terminal_output_shows_code_and_qr(engine: Engine, db_url: str) -> None:
    add_checkpoint(engine)
    shown = cli("enroll-code", "BD-001", "--db", db_url)
    assert shown.exit_code == 0
    assert "█" in shown.stdout and "Mã đăng ký (enrolment code):" in shown.stdout and "cpk-enroll:1?" in shown.stdout


def test_wrong_expired_and_unknown_codes_and_checkpoints(client: TestClient, engine: Engine, db_url: str) -> None:
    add_checkpoint(engine)
    assert client.post("/api/v1/enroll", json={"code": "AAAA-BBBB-CCCC"}).json()["error"] == "enroll_code_unknown"
    code = json.loads(cli("enroll-code", "BD-001", "--json", "--db", db_url).stdout)["code"]
    with engine.begin() as conn:
        conn.execute(enroll_codes.update().values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    assert client.post("/api/v1/enroll", json={"code": code}).json()["error"] == "enroll_code_expired"
    missing = cli("enroll-code", "NOPE", "--db", db_url)
    assert missing.exit_code == 1 and "NOPE" in missing.stderr
    assert cli("checkpoint", "deactivate", "BD-001", "--db", db_url).exit_code == 0
    assert "ngừng hoạt động" in cli("enroll-code", "BD-001", "--db", db_url).stderr


def test_revoked_token_gets_a_401_that_says_so_and_rotation_replaces_it(client: TestClient, engine: Engine, db_url: str) -> None:
    add_checkpoint(engine)
    code = json.loads(cli("enroll-code", "BD-001", "--json", "--db", db_url).stdout)["code"]
    first = client.post("/api/v1/enroll", json={"code": code}).json()
    device_id, old = first["device_id"], first["token"]
    rotated = cli("device", "rotate", device_id, "--db", db_url)
    assert rotated.exit_code == 0
    new = rotated.stdout.strip().splitlines()[-1]
    refused = batch(client, device_id, old, visit())
    assert refused.status_code == 401 and refused.json()["error"] == "token_rotated"
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    assert batch(client, device_id, new, visit()).status_code == 200
    assert cli("device", "revoke", device_id, "--db", db_url).exit_code == 0
    revoked = batch(client, device_id, new, visit())
    assert revoked.status_code == 401 and revoked.json()["error"] == "token_revoked"
    assert "revoked" in revoked.json()["message"]
    listed = json.loads(cli("device", "list", "--json", "--db", db_url).stdout)
    assert listed[0]["id"] == device_id and listed[0]["revoked_at"] and listed[0]["last_seen_at"]
    assert cli("device", "rotate", device_id, "--db", db_url).exit_code == 1
    assert {e["action"] for e in audit.entries(engine)} >= {"device.enroll", "device.rotate", "device.revoke"}


def test_official_add_prints_token_last_line_and_gets_codes_over_api(client: TestClient, engine: Engine, db_url: str) -> None:
    add_checkpoint(engine)
    added = cli("official", "add", "Lê Thị Hoa", "--db", db_url)
    assert added.exit_code == 0
    token = added.stdout.strip().splitlines()[-1]
    made = client.post("/api/v1/checkpoints/BD-001/enroll-code", headers=bearer(token))
    assert made.status_code == 200, made.text
    assert set(made.json()) == {"code", "expires_at", "qr"}
    assert EnrollPayload.from_qr_text(made.json()["qr"]).server == "https://trungtam.budang.example"
    assert client.post("/api/v1/checkpoints/NOPE/enroll-code", headers=bearer(token)).status_code == 404
    assert cli("official", "add", "Lê Thị Hoa", "--db", db_url).exit_code == 1
    assert cli("official", "revoke", "Lê Thị Hoa", "--db", db_url).exit_code == 0
    assert client.post("/api/v1/checkpoints/BD-001/enroll-code", headers=bearer(token)).status_code == 401
    other = official_token(engine, "Phạm Văn Cường")
    assert client.post("/api/v1/checkpoints/BD-001/enroll-code", headers=bearer(other)).status_code == 200
