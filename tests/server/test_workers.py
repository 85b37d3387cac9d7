"""``checkpoint-server serve --workers N``: several real worker processes, one shared state.

The rate limit is the state a second worker would double if it lived in process memory:
a device with a burst of 5 and almost no refill sends many batches at once through a real
two-worker server, and exactly 5 go through however the kernel spread them, while the
access log (each line carries the worker's process id) shows both workers answered.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from server.cli import main
from tests.server.conftest import enrol, fresh_pg_schema, visit
from tests.sync.conftest import CHECKPOINT, Server

BURST, SENT = 5, 24  # the Server's config: device_burst = 5
BATCH_LINE = re.compile(r"^\[(\d+)\] .*\"POST /api/v1/visits/batch HTTP/1.1\" (\d{3})", re.MULTILINE)


def post(port: int, device_id: str, token: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        body = json.dumps({"device_id": device_id, "visits": [visit(CHECKPOINT)]})
        conn.request("POST", "/api/v1/visits/batch", body, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def at_once(port: int, device_id: str, token: str) -> Counter[int]:
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def send() -> None:
        status = post(port, device_id, token)
        with lock:
            statuses[status] += 1

    threads = [threading.Thread(target=send) for _ in range(SENT)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return statuses


def test_two_workers_draw_from_one_rate_limit(pg_database: str, tmp_path: Path) -> None:
    server = Server(tmp_path, batches_per_s=0.001, db_url=fresh_pg_schema(pg_database), workers=2)
    try:
        workers: set[str] = set()
        for _ in range(10):  # a fresh device a round, until the kernel has handed batches to both workers
            device_id, token = enrol(server.engine, CHECKPOINT)
            assert at_once(server.port, device_id, token) == Counter({200: BURST, 429: SENT - BURST})
            workers = {pid for pid, _ in BATCH_LINE.findall(server.log.read_text())}
            if len(workers) >= 2:
                break
        assert len(workers) == 2, server.log.read_text()
    finally:
        server.stop()


def test_several_workers_on_sqlite_are_refused_in_words(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--workers", "2", "--db", f"sqlite:///{tmp_path}/s.sqlite3"])
    assert result.exit_code == 2, result.output
    assert "SQLite chỉ nhận một người ghi" in result.output and "Use --workers 1, or PostgreSQL" in result.output
    assert "Traceback" not in result.output
