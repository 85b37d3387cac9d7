"""Many kiosks at once through a real uvicorn server: nothing lost, nothing doubled.

Each device sends its own visits plus a share of visit ids that every other device also
sends, in several threads, each batch twice (a retry after a lost answer). Afterwards
every distinct visit is stored exactly once and exactly one answer said ``created`` for
it; for a shared id, the device that won hears ``duplicate`` on its retry and every other
device hears ``conflict`` (rejected) both times: never a silent ``duplicate``. The daily
counts reports read, all added to the same key at once, still equal a full recount.
"""

from __future__ import annotations

import http.client
import json
import threading
import uuid
from collections import Counter
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine

from server import daily_counts
from server.app import create_app
from server.config import Settings
from server.ingest import count_visits
from tests.inprocess import running
from tests.server.conftest import add_checkpoint, enrol, visit

DEVICES, BATCHES, PER_BATCH, SHARED = 6, 4, 100, 40


def post(base: str, token: str, body: dict) -> dict:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request(
            "POST",
            "/api/v1/visits/batch",
            json.dumps(body),
            {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        data = json.loads(response.read())
        assert response.status == 200, data
        return data
    finally:
        conn.close()


def test_concurrent_devices_lose_and_double_nothing(settings: Settings, engine: Engine) -> None:
    add_checkpoint(engine)
    devices = [enrol(engine) for _ in range(DEVICES)]
    shared = [str(uuid.uuid4()) for _ in range(SHARED)]
    plans = []
    for device_id, token in devices:
        batches = []
        for _ in range(BATCHES):
            own = [visit() for _ in range(PER_BATCH - SHARED // BATCHES)]
            batches.append(own)
        for i, visit_id in enumerate(shared):  # every device also sends every shared visit
            batches[i % BATCHES].append(visit(id=visit_id))
        plans.append((device_id, token, batches))
    created: Counter[str] = Counter()
    answered: Counter[str] = Counter()
    verdicts: dict[tuple[str, str], list[str]] = {}
    lock = threading.Lock()
    errors: list[BaseException] = []

    def run(device_id: str, token: str, batches: list[list[dict]]) -> None:
        try:
            for batch in batches + batches:  # each batch twice: a retry after a lost answer
                results = post(base, token, {"device_id": device_id, "visits": batch})["results"]
                with lock:
                    for r in results:
                        answered[r["id"]] += 1
                        if r["status"] == "created":
                            created[r["id"]] += 1
                        verdicts.setdefault((device_id, r["id"]), []).append(r.get("code") or r["status"])
                        assert r["status"] in ("created", "duplicate") or r.get("code") == "conflict", r
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    with running(create_app(settings, engine)) as base:
        threads = [threading.Thread(target=run, args=plan) for plan in plans]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert not errors, errors[0]
    distinct = SHARED + DEVICES * BATCHES * (PER_BATCH - SHARED // BATCHES)
    assert count_visits(engine) == distinct
    assert daily_counts.recount(engine) == []  # every batch added to the same daily count at once
    assert len(created) == distinct and set(created.values()) == {1}
    assert answered[shared[0]] == 2 * DEVICES
    for visit_id in shared:
        heard = sorted(tuple(verdicts[(device_id, visit_id)]) for device_id, _ in devices)
        assert heard == sorted([("created", "duplicate")] + [("conflict", "conflict")] * (DEVICES - 1)), heard
