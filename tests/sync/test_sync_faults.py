"""Flaky networks, a server restarted mid-sync, 503 bursts, kill -9 of the kiosk: nothing lost, nothing doubled."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

from tests.conftest import CliResult
from tests.sync.conftest import Kiosk, Server, assert_delivered_exactly_once
from tests.sync.faultproxy import FaultProxy
from tests.waiting import wait_for


def test_a_flaky_network_loses_and_doubles_nothing(server: Server, proxy: FaultProxy, tmp_path: Path) -> None:
    kiosk = Kiosk(tmp_path, proxy.url)
    kiosk.enroll(server)
    kiosk.record(1500)
    proxy.set_faults(rate=0.6, max_faults=24)  # drops, resets, cut-off answers and stalls, at random bytes
    result = kiosk.cli("--set", "server.batch_size=50", "sync", "--json")
    assert (result.code, result.json()["pending"], result.json()["error"]) == (0, 0, None), result.stderr
    assert result.json()["created"] + result.json()["duplicate"] == 1500
    assert_delivered_exactly_once(server, kiosk)
    assert proxy.faults.total() >= 12 and len(proxy.faults) >= 3, proxy.faults


def test_a_server_restarted_mid_sync_gets_every_visit_once(server: Server, tmp_path: Path) -> None:
    kiosk = Kiosk(tmp_path, server.url)
    kiosk.enroll(server)
    kiosk.record(2000)
    sync = subprocess.Popen(
        kiosk.argv("--set", "server.batch_size=20", "sync", "--json"), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    wait_for(lambda: sum(server.visit_ids().values()) >= 200, "the first batches to arrive")
    server.kill()
    assert sync.poll() is None, "the sync finished before the server went down: give it more visits"
    server.start()
    out, err = sync.communicate(timeout=120)
    assert sync.returncode == 0, err.decode()
    assert_delivered_exactly_once(server, kiosk)


def test_kill_9_of_the_kiosk_at_random_points_loses_and_doubles_nothing(server: Server, tmp_path: Path) -> None:
    kiosk = Kiosk(tmp_path, server.url)
    kiosk.enroll(server)
    kiosk.record(3000)
    rng = random.Random(5)
    for _ in range(6):
        target = server.count() + rng.randrange(25, 400)  # a random point in the backlog, not in time
        sync = subprocess.Popen(
            kiosk.argv("--set", "server.batch_size=25", "sync", "--json"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for(lambda t=target, s=sync: server.count() >= t or s.poll() is not None, "the sync to get that far")
        sync.kill()  # SIGKILL: no handler, no cleanup, mid-batch or mid-transaction
        sync.wait()
        synced = kiosk.ids("synced")
        assert synced <= set(server.visit_ids())  # whatever the kiosk marked delivered really is on the server
        assert kiosk.ids("pending"), "the kills missed the sync: give it more visits"
    last = kiosk.cli("sync", "--json")  # the lock a killed sync held is free again
    assert last.code == 0, last.stderr
    assert_delivered_exactly_once(server, kiosk)


def test_503_bursts_are_retried_and_an_outage_leaves_visits_pending(server: Server, proxy: FaultProxy, tmp_path: Path) -> None:
    kiosk = Kiosk(tmp_path, proxy.url)
    kiosk.enroll(server)
    kiosk.record(300)
    proxy.unavailable(4)
    burst = kiosk.cli("--set", "server.batch_size=50", "sync", "--json")
    assert (burst.code, burst.json()["created"]) == (0, 300), burst.stderr

    kiosk.record(100, start=1000)
    proxy.unavailable(1_000_000)
    outage = kiosk.cli("--set", "server.retries=2", "sync", "--json")
    assert (outage.code, outage.json()["error"], outage.json()["pending"]) == (1, "server_error", 100)
    assert "HTTP 503" in outage.stderr and "Traceback" not in outage.stderr
    assert "Lỗi gần nhất (last error)" in kiosk.cli("status").stdout

    proxy.unavailable(0)
    assert kiosk.cli("sync", "--json").json()["pending"] == 0
    assert_delivered_exactly_once(server, kiosk)
    assert kiosk.cli("status", "--json").json()["sync"]["last_error"] is None


def test_a_visit_the_server_keeps_failing_on_is_left_pending_and_the_queue_moves_on(
    server: Server, proxy: FaultProxy, tmp_path: Path
) -> None:
    kiosk = Kiosk(tmp_path, proxy.url, retries=1)
    kiosk.enroll(server)
    ids = kiosk.record(200)
    proxy.poison = ids[77].encode()  # a server bug: any batch carrying this visit answers 500
    first = kiosk.cli("--set", "server.batch_size=50", "sync", "--json")
    assert (first.code, first.json()) == (
        1,
        {
            "sent": 199,
            "created": 199,
            "duplicate": 0,
            "rejected": 0,
            "pending": 1,
            "error": "server_error",
            "rejected_by_code": {},
            "rejected_kept": 0,
        },
    ), first.stderr
    assert kiosk.ids("pending") == {ids[77]} and proxy.faults["poison"] >= 6  # halved down to the one visit
    proxy.poison = None  # the server is fixed: the visit goes with the next sync
    assert kiosk.cli("sync", "--json").json()["created"] == 1
    assert_delivered_exactly_once(server, kiosk)


def test_an_unreachable_server_is_a_plain_sentence_and_nothing_changes(server: Server, proxy: FaultProxy, tmp_path: Path) -> None:
    kiosk = Kiosk(tmp_path, proxy.url)
    kiosk.enroll(server)
    kiosk.record(10)
    proxy.set_down(True)
    result: CliResult = kiosk.cli("--set", "server.retries=1", "sync")
    assert result.code == 1 and "không kết nối được máy chủ" in result.stderr and "Traceback" not in result.stderr
    assert kiosk.ids("pending") == kiosk.ids() and not server.visit_ids()


def test_two_syncs_at_once_take_turns(server: Server, tmp_path: Path) -> None:
    kiosk = Kiosk(tmp_path, server.url)
    kiosk.enroll(server)
    kiosk.record(600)
    syncs = [
        subprocess.Popen(
            kiosk.argv("--set", "server.batch_size=20", "sync", "--json"), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    outcomes = [s.communicate(timeout=120) for s in syncs]
    assert [s.returncode for s in syncs] == [0, 0], [err.decode() for _, err in outcomes]
    summaries = [json.loads(out) for out, _ in outcomes]
    assert sorted(s["sent"] for s in summaries) == [0, 600]  # one sent everything; the other waited, found nothing
    assert_delivered_exactly_once(server, kiosk)
