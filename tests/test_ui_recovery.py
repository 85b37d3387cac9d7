"""The touchscreen app started on a damaged database, for real in a subprocess: it records on a
fresh one, the guard sees a red banner naming the kept file, and the log says it at error level."""

from __future__ import annotations

import os
from pathlib import Path

from kiosk.store import DB_NAME, VisitStore, quarantined_databases
from tests.conftest import run_cli
from tests.ui_harness import running_app


def test_damaged_database_shows_a_banner_and_the_kiosk_records_on(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    VisitStore.in_dir(data_dir).close()
    (data_dir / DB_NAME).write_bytes(os.urandom(40960))
    with running_app(tmp_path, "ui.result_seconds=1") as app:
        state = app.wait_state(lambda s: s["alert"] != "", "the banner")
        (kept,) = quarantined_databases(data_dir)
        assert state["alert"] == (
            f"CƠ SỞ DỮ LIỆU BỊ HỎNG: đã tạo cơ sở dữ liệu mới, tệp cũ được giữ lại là {kept.name}. Báo quản trị viên."
        )
        logged = [line for line in app.log if "ERROR" in line and str(kept) in line]  # Kivy's format: "[first words] rest"
        assert len(logged) == 1 and "CƠ SỞ DỮ LIỆU BỊ HỎNG" in logged[0] and "DATABASE DAMAGED" in logged[0], app.log
        app.call("type", text="0912345678")
        app.wait_state(lambda s: s["panel"]["state"] == "accepted", "the green panel")
        assert app.state()["alert"]  # it stays until an admin has dealt with the kept file
        shot = Path(app.call("shot", path=str(tmp_path / "shots" / "scan-damaged-database-800x480.png")))
        assert shot.is_file()
    assert run_cli("status", "--json", data_dir=data_dir).json()["pending"] == 1
