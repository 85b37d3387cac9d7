"""Load shedding: a busy worker answers 429 ``server_busy`` at once, with a jittered Retry-After.

Through a real uvicorn server that takes one batch at a time, many kiosks send at once:
the ones refused hear ``server_busy`` with a Retry-After inside the configured spread,
and when they send again every visit is stored exactly once.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine

from server import daily_counts
from server.admission import Gate
from server.app import create_app
from server.config import LimitsSection, Settings
from server.ingest import count_visits
from tests.inprocess import running
from tests.server.conftest import add_checkpoint, enrol, visit

KIOSKS, PER_BATCH, RETRY_AFTER_S, SPREAD_S = 8, 200, 3, 4


def test_gate_lets_in_up_to_its_limit_and_spreads_the_retry_times() -> None:
    gate = Gate(limit=2, retry_after_s=RETRY_AFTER_S, spread_s=SPREAD_S, rng=random.Random(17))
    assert [gate.enter(), gate.enter(), gate.enter()] == [True, True, False]
    gate.leave()
    assert gate.enter() and not gate.enter()
    waits = [gate.retry_after() for _ in range(200)]
    assert set(waits) == set(range(RETRY_AFTER_S, RETRY_AFTER_S + SPREAD_S + 1))


def post(base: str, token: str, body: bytes) -> tuple[int, str | None, dict]:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request("POST", "/api/v1/visits/batch", body, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, response.getheader("Retry-After"), json.loads(response.read())
    finally:
        conn.close()


def test_a_herd_is_shed_with_server_busy_then_stored_once(settings: Settings, engine: Engine) -> None:
    add_checkpoint(engine)
    limits = LimitsSection(
        device_batches_per_s=1000,
        device_burst=1000,
        batches_in_flight=1,
        busy_retry_after_s=RETRY_AFTER_S,
        busy_retry_spread_s=SPREAD_S,
    )
    kiosks = [enrol(engine) for _ in range(KIOSKS)]
    refusals: list[tuple[str | None, dict]] = []
    problems: list[str] = []
    lock = threading.Lock()

    def kiosk(base: str, token: str, body: bytes) -> None:
        while True:  # sends again when refused, at once: the test checks the answers, not the wait
            status, retry_after, answer = post(base, token, body)
            with lock:
                if status == 200:
                    problems.extend(str(r) for r in answer["results"] if r["status"] != "created")
                    return
                refusals.append((retry_after, answer))

    sent = 0
    with running(create_app(settings.model_copy(update={"limits": limits}), engine)) as base:
        for _ in range(10):  # rounds until the kiosks' batches overlapped at least once
            threads = []
            for device_id, token in kiosks:
                body = json.dumps({"device_id": device_id, "visits": [visit() for _ in range(PER_BATCH)]}).encode()
                threads.append(threading.Thread(target=kiosk, args=(base, token, body)))
            sent += KIOSKS * PER_BATCH
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
            if refusals:
                break
    assert not problems, problems[0]
    assert refusals, "the batches never overlapped"
    assert {answer["error"] for _, answer in refusals} == {"server_busy"}
    assert all("Máy chủ đang bận" in answer["message"] for _, answer in refusals)
    assert {int(wait or 0) for wait, _ in refusals} <= set(range(RETRY_AFTER_S, RETRY_AFTER_S + SPREAD_S + 1))
    assert count_visits(engine) == sent and daily_counts.recount(engine) == []
