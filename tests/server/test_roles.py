"""Officials' roles and token expiry on the API, and `official add` with a role and a console
password through the real CLI: the same rules the console's browser tests see."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from server import officials, places, sessions
from server.app import create_app
from server.cli import main
from server.config import Settings
from server.schema import audit_log
from server.schema import officials as officials_table
from tests.server.conftest import PLACE, add_checkpoint, bearer

DISTRICT = "Huyện Bù Đăng"
OTHER = places.Place(PLACE.province, PLACE.district, "Xã Minh Hưng")
COMMUNES = f"/api/v1/reports/communes?district={DISTRICT}"
TRACE = "/api/v1/trace/person"
PLACE_DAY = date(2026, 11, 1)
WINDOW = {"start": "2026-11-01T00:00:00+07:00", "end": "2026-12-01T00:00:00+07:00"}


def _district(engine: Engine) -> None:
    add_checkpoint(engine, "BD-001")
    add_checkpoint(engine, "MH-001", OTHER)


def test_a_commune_officials_token_sees_their_commune_and_traces_nothing(client: TestClient, engine: Engine) -> None:
    _district(engine)
    token = officials.add_official(engine, "Điểu Thị Hằng", "test", role="commune", district=DISTRICT, commune="Minh Hưng")
    report = client.get(COMMUNES, headers=bearer(token))
    assert report.status_code == 200
    assert [r["commune"] for r in report.json()["rows"]] == ["Xã Minh Hưng"] and report.json()["total"]["registered"] == 1
    other = client.get(f"/api/v1/reports/checkpoints?district={DISTRICT}&commune=Xã Đăk Nhau", headers=bearer(token))
    assert (other.status_code, other.json()["error"]) == (403, "other_commune")
    mine = client.get(f"/api/v1/reports/checkpoints?district={DISTRICT}", headers=bearer(token))
    assert [r["code"] for r in mine.json()["rows"]] == ["MH-001"]
    traced = client.post(TRACE, json={**WINDOW, "phone": "0912345678", "reason": "thử truy vết"}, headers=bearer(token))
    assert (traced.status_code, traced.json()["error"]) == (403, "role_no_tracing")
    code = client.post("/api/v1/checkpoints/MH-001/enroll-code", headers=bearer(token))
    assert (code.status_code, code.json()["error"]) == (403, "role_not_district")


def test_a_tracer_traces_and_a_district_official_elsewhere_is_refused(client: TestClient, engine: Engine) -> None:
    _district(engine)
    places.add_checkpoint(engine, "BG-001", "Chốt", places.Place(PLACE.province, "Huyện Bù Gia Mập", "Xã Phú Văn"), PLACE_DAY)
    tracer = officials.add_official(engine, "Lê Quốc Việt", "test", role="tracer", district=DISTRICT)
    traced = client.post(TRACE, json={**WINDOW, "phone": "0912345678", "reason": "F1 của BN1234"}, headers=bearer(tracer))
    assert traced.status_code == 200 and traced.json()["count"] == 0
    elsewhere = officials.add_official(engine, "Phạm Văn Tâm", "test", district="Huyện Bù Gia Mập")
    refused = client.get(COMMUNES, headers=bearer(elsewhere))
    assert (refused.status_code, refused.json()["error"]) == (403, "other_district")


def test_an_expired_token_is_refused_and_an_old_official_keeps_every_district(client: TestClient, engine: Engine) -> None:
    _district(engine)
    token = officials.add_official(engine, "Trần Văn Bình", "test", token_valid_days=1)
    assert client.get(COMMUNES, headers=bearer(token)).status_code == 200  # no district: every district
    with engine.begin() as conn:
        conn.execute(officials_table.update().values(token_expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    refused = client.get(COMMUNES, headers=bearer(token))
    assert refused.status_code == 401 and "hết hạn" in refused.json()["message"]


def test_official_add_with_a_role_and_a_console_password(db_url: str, engine: Engine) -> None:
    _district(engine)
    runner = CliRunner()
    args = ["official", "add", "Điểu Thị Hằng", "--role", "commune", "--district", "bù đăng", "--commune", "minh hưng"]
    done = runner.invoke(main, [*args, "--password", "--token-days", "30", "--db", db_url], input="mật khẩu thật dài\n" * 2)
    assert done.exit_code == 0, done.output
    assert done.output.strip().splitlines()[-1].startswith("off_")
    _token, session = sessions.sign_in(engine, "điểu thị hằng", "mật khẩu thật dài")
    assert (session.official.role, session.official.commune_id is not None) == ("commune", True)
    short = runner.invoke(main, ["official", "set-password", "Điểu Thị Hằng", "--db", db_url], input="ngắn\nngắn\n")
    assert short.exit_code != 0 and "ít nhất 10 ký tự" in short.output and "Traceback" not in short.output
    wrong = runner.invoke(main, ["official", "add", "Ai Đó", "--role", "commune", "--db", db_url])
    assert wrong.exit_code != 0 and "--commune" in wrong.output
    listed = runner.invoke(main, ["official", "list", "--json", "--db", db_url])
    assert '"role": "commune"' in listed.output and '"commune": "Xã Minh Hưng"' in listed.output
    with engine.connect() as conn:
        assert conn.execute(sa.select(officials_table.c.token_expires_at)).scalar() is not None
        assert sessions.session_for(conn, _token) is not None
    revoked = runner.invoke(main, ["official", "revoke", "Điểu Thị Hằng", "--db", db_url])
    assert revoked.exit_code == 0, revoked.output
    with engine.connect() as conn:
        assert sessions.session_for(conn, _token) is None  # signed out everywhere at once


def _cookies_after_sign_in(client: TestClient) -> str:
    page = client.get("/login")
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    answer = client.post(
        "/login", data={"csrf": csrf, "name": "Trần Văn Bình", "password": "mật khẩu thật dài"}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    return answer.headers["set-cookie"]


def test_the_session_cookie_is_secure_behind_tls_and_never_readable_by_scripts(settings: Settings, engine: Engine) -> None:
    officials.add_official(engine, "Trần Văn Bình", "test", password="mật khẩu thật dài")
    # the fixture's public_url is https://…: behind Caddy the cookie must never travel in clear
    with TestClient(create_app(settings, engine), base_url="https://trungtam.budang.example") as client:
        cookie = _cookies_after_sign_in(client)
    assert "cps_session=" in cookie and "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    plain = settings.with_overrides(public_url="http://127.0.0.1:8080")  # a laptop demo on this machine
    with TestClient(create_app(plain, engine)) as client:
        cookie = _cookies_after_sign_in(client)
    assert "cps_session=" in cookie and "Secure" not in cookie and "HttpOnly" in cookie


def test_official_set_role_enable_unlock_and_tokens_from_the_cli(db_url: str, engine: Engine, client: TestClient) -> None:
    """The CLI's side of the console's officials pages: the same functions, the same audit entries."""
    _district(engine)
    officials.add_official(engine, "Lê Quốc Việt", "test", role="tracer", district="bù đăng", password="mật khẩu thật dài")
    runner = CliRunner()

    def run(*args: str) -> str:
        done = runner.invoke(main, [*args, "--db", db_url])
        assert done.exit_code == 0, done.output
        return done.output

    run("official", "set-role", "Lê Quốc Việt", "--role", "commune", "--district", "bù đăng", "--commune", "minh hưng")
    refused = runner.invoke(main, ["official", "set-role", "Lê Quốc Việt", "--role", "commune", "--db", db_url])
    assert refused.exit_code != 0 and "--commune" in refused.output and "Traceback" not in refused.output
    token = run("official", "token", "Lê Quốc Việt", "--token-days", "7").strip().splitlines()[-1]
    assert client.get(COMMUNES, headers=bearer(token)).status_code == 200
    run("official", "revoke-token", "Lê Quốc Việt")
    assert client.get(COMMUNES, headers=bearer(token)).status_code == 401
    run("official", "revoke", "Lê Quốc Việt")
    with pytest.raises(sessions.SignInRefused):
        sessions.sign_in(engine, "Lê Quốc Việt", "mật khẩu thật dài")
    run("official", "enable", "Lê Quốc Việt")
    for _ in range(sessions.MAX_FAILURES):
        with pytest.raises(sessions.SignInRefused):
            sessions.sign_in(engine, "lê quốc việt", "sai mật khẩu")
    with pytest.raises(sessions.SignInRefused):
        sessions.sign_in(engine, "Lê Quốc Việt", "mật khẩu thật dài")  # locked
    run("official", "unlock", "Lê Quốc Việt")
    _cookie, session = sessions.sign_in(engine, "Lê Quốc Việt", "mật khẩu thật dài")
    assert (session.official.role, session.official.commune_id is not None) == ("commune", True)
    with engine.connect() as conn:
        actions = set(conn.execute(sa.select(audit_log.c.action)).scalars())
    assert {"official.role", "official.token", "official.token_revoke", "official.enable", "official.unlock"} <= actions
