"""A database error during ingest never copies personal data into the server's log.

A real ``checkpoint-server serve`` on SQLite and on PostgreSQL, a trigger that makes the
database refuse one person's row (quoting the row, as PostgreSQL does in its messages),
and one that makes the database fail as a lock timeout would. The refused visit is
rejected alone (``database_refused``), the failing batch is a 503 to retry, and neither
the answers nor the log hold an ID number, a name or a date of birth.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import timedelta

from server import enrolment
from tests.server.conftest import CCCD_FIELDS, visit
from tests.sync.conftest import CHECKPOINT, Server

REFUSED = "Điểu Bá Khải"
LOCKED = "Đặng Thị Hằng"
PERSONAL = (CCCD_FIELDS["id_number"], CCCD_FIELDS["old_id_number"], "1985-07-14", CCCD_FIELDS["name"], REFUSED, LOCKED, "Đăk Nhau")


def post(server: Server, device: tuple[str, str], items: list[dict]) -> tuple[int, dict, dict[str, str]]:
    body = json.dumps({"device_id": device[0], "visits": items}).encode()
    request = urllib.request.Request(
        f"{server.url}/api/v1/visits/batch",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {device[1]}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read()), {k.lower(): v for k, v in answer.headers.items()}
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), {k.lower(): v for k, v in error.headers.items()}


def install_triggers(server: Server) -> None:
    with server.engine.begin() as conn:
        if server.engine.dialect.name == "postgresql":
            conn.exec_driver_sql(
                "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.person_name = '{REFUSED}' THEN RAISE EXCEPTION USING ERRCODE = 'check_violation', "
                "MESSAGE = 'refused ' || NEW.person_name || ' ' || NEW.id_number; END IF; "
                f"IF NEW.person_name = '{LOCKED}' THEN RAISE EXCEPTION USING ERRCODE = 'lock_not_available', "
                "MESSAGE = 'lock timeout on ' || NEW.person_name || ' ' || NEW.id_number; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            conn.exec_driver_sql("CREATE TRIGGER refuse BEFORE INSERT ON visits FOR EACH ROW EXECUTE FUNCTION refuse()")
        else:
            conn.exec_driver_sql(
                f"CREATE TRIGGER refuse BEFORE INSERT ON visits WHEN NEW.person_name = '{REFUSED}' "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
            conn.exec_driver_sql(
                f"CREATE TRIGGER locked BEFORE INSERT ON visits WHEN NEW.person_name = '{LOCKED}' "
                "BEGIN SELECT json('not json: ' || NEW.person_name || NEW.id_number); END"
            )  # a runtime error


def test_database_errors_during_ingest_leave_no_personal_data_in_the_log(any_server: Server) -> None:
    code = enrolment.create_enroll_code(any_server.engine, CHECKPOINT, timedelta(hours=1), any_server.url, "test").code
    answer = enrolment.redeem(any_server.engine, code)
    device = (answer.device_id, answer.token)
    install_triggers(any_server)

    good, refused, also_good = visit(), visit(fields={**CCCD_FIELDS, "name": REFUSED}), visit()
    status, body, _ = post(any_server, device, [good, refused, also_good])
    assert status == 200, body
    assert [(r["status"], r.get("code")) for r in body["results"]] == [
        ("created", None),
        ("rejected", "database_refused"),
        ("created", None),
    ]

    status, body, headers = post(any_server, device, [visit(), visit(fields={**CCCD_FIELDS, "name": LOCKED})])
    assert (status, body["error"]) == (503, "database_unavailable")
    assert int(headers["retry-after"]) > 0
    assert any_server.count() == 2  # the failing batch stored nothing: the kiosk sends it again later

    any_server.stop()
    log = any_server.log.read_text(encoding="utf-8")
    assert "database refused visit" in log and "database error, answered 503" in log
    leaked = [p for p in PERSONAL if p in log]
    assert not leaked, log
    assert "parameters" not in log.lower() or "hidden" in log.lower()
