"""The herd: thousands of kiosks reconnect at once after an outage, each with a backlog.

A real ``checkpoint-server serve --workers W`` on a scratch PostgreSQL database, with
--kiosks enrolled devices (6,128 by default: Cao Bằng's checkpoints, one kiosk each).
Every kiosk starts at the same instant and uploads its backlog (--backlog visits in
batches of --batch) over its own keep-alive connection, as the kiosk's sync does: on 429
it waits the Retry-After the server gave, on a timeout or a dropped connection it waits
and sends the same batch again (resending is safe). Reported: drain time (start to the
last batch stored), requests, share answered 429, timeouts, latency p50/p99 of every
answer and of the stored batches, and that every visit was stored exactly once.

The load generator is this file's own asyncio HTTP/1.1 client (one coroutine per kiosk)
rather than locust: locust runs a greenlet and a requests session per simulated user, and
6,128 of them on the same two cores as the server would measure the generator. Its
ceiling is printed as the floor, in the same run: GET /api/v1/health with the same
number of kiosks, the cheapest answer the server has.

    .venv/bin/python bench/server_herd.py [--kiosks 6128] [--backlog 50] [--batch 50] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402

from server import places  # noqa: E402
from server.db import create_db_engine  # noqa: E402
from server.ingest import count_visits  # noqa: E402
from server.migrate import upgrade  # noqa: E402
from server.schema import checkpoints, device_tokens, devices  # noqa: E402
from server.tokens import digest, new_token  # noqa: E402
from tests.inprocess import free_port  # noqa: E402
from tests.pgscratch import scratch_database  # noqa: E402

SERVER = str(Path(sys.executable).with_name("checkpoint-server"))
PLACE = places.Place("Tỉnh Cao Bằng", "Thành phố Cao Bằng", "Phường Hợp Giang")
TIMEOUT_S = 30.0  # the kiosk's read timeout (config: server.read_timeout_s)
RESEND_AFTER_TIMEOUT_S = 5.0


def kiosk_visit(code: str, i: int, now: datetime) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "checkpoint": code,
        "direction": "in" if i % 2 else "out",
        "source": "serial",
        "kind": "cccd",
        "scanned_at": (now - timedelta(hours=30, seconds=i)).isoformat(),  # scanned during the outage
        "clock_synchronised": True,
        "fields": {
            "id_number": f"{4185000000 + i:012d}",
            "name": "Nông Thị Hoà",
            "date_of_birth": "1990-02-03",
            "sex": "Nữ",
            "address": "Phường Hợp Giang, Thành phố Cao Bằng",
            "issue_date": "2021-05-10",
        },
    }


def enrol_kiosks(engine: sa.engine.Engine, kiosks: int) -> list[tuple[str, str, str]]:
    """(checkpoint code, device id, token) for each kiosk, written in bulk (the enrolment path
    itself is tested elsewhere; 6,128 redemptions would only time the setup)."""
    places.add_commune(engine, PLACE)
    commune = places.add_checkpoint(engine, "CB-00000", "Chốt 0", PLACE, date(2021, 10, 1))["id"]
    with engine.connect() as conn:
        commune = conn.execute(sa.select(checkpoints.c.commune_id).where(checkpoints.c.id == commune)).scalar_one()
    now = datetime.now(timezone.utc)
    made = []
    with engine.begin() as conn:
        rows = [
            {"code": f"CB-{n:05d}", "name": f"Chốt {n}", "commune_id": commune, "created_on": date(2021, 10, 1)}
            for n in range(1, kiosks + 1)
        ]
        conn.execute(checkpoints.insert(), rows)
        ids = dict(conn.execute(sa.select(checkpoints.c.code, checkpoints.c.id)).all())
        device_rows, token_rows = [], []
        for row in rows:
            device_id, token = str(uuid.uuid4()), new_token("dev")
            device_rows.append({"id": device_id, "checkpoint_id": ids[row["code"]], "enrolled_at": now})
            token_rows.append({"token_hash": digest(token), "device_id": device_id, "issued_at": now})
            made.append((row["code"], device_id, token))
        conn.execute(devices.insert(), device_rows)
        conn.execute(device_tokens.insert(), token_rows)
    return made


@contextmanager
def server_process(url: str, workdir: Path, workers: int) -> Iterator[int]:
    port = free_port()
    config = workdir / "server.toml"
    config.write_text("[limits]\ndevice_batches_per_s = 100000.0\ndevice_burst = 100000\n")  # the herd, not a loop
    log = (workdir / "server.log").open("wb")
    process = subprocess.Popen(
        [SERVER, "serve", "--config", str(config), "--db", url, "--port", str(port), "--workers", str(workers)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while asyncio.run(_health_once(port)) != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {(workdir / 'server.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


Answer = tuple[int, dict[str, str], bytes]  # status, headers (lower-case names), body


class Http:
    """One keep-alive HTTP/1.1 connection to the server: the smallest client that does the job."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Answer:
        """Sends on the open connection; one the server closed while it was idle (its keep-alive
        timeout) is opened again and the request sent once more, as HTTP clients do."""
        if self.writer is not None:
            try:
                return await self._exchange(method, path, headers, body)
            except (OSError, asyncio.IncompleteReadError):
                self.close()
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return await self._exchange(method, path, headers, body)

    async def _exchange(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        assert self.reader is not None and self.writer is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.writer.write(head.encode() + b"\r\n" + body)
        await self.writer.drain()
        status_line = await self.reader.readuntil(b"\r\n")
        answer_headers: dict[str, str] = {}
        while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            answer_headers[name.strip().lower()] = value.strip()
        content = await self.reader.readexactly(int(answer_headers.get("content-length", "0")))
        if answer_headers.get("connection", "").lower() == "close":
            self.close()
        return int(status_line.split()[1]), answer_headers, content

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _health_once(port: int) -> int:
    http = Http(port)
    try:
        return (await http.request("GET", "/api/v1/health", {}))[0]
    except OSError:
        return 0
    finally:
        http.close()


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    timeouts: int = 0
    dropped: int = 0
    latencies: list[float] = field(default_factory=list)  # every answer
    stored_latencies: list[float] = field(default_factory=list)  # answers that stored a batch
    created: int = 0
    last_stored: float = 0.0


async def kiosk(port: int, device_id: str, token: str, bodies: list[bytes], tally: Tally, go: asyncio.Event) -> None:
    http = Http(port)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Content-Encoding": "gzip"}
    await go.wait()
    for body in bodies:
        while True:
            sent = time.perf_counter()
            try:
                status, answer_headers, content = await asyncio.wait_for(
                    http.request("POST", "/api/v1/visits/batch", headers, body), TIMEOUT_S
                )
            except TimeoutError:
                tally.timeouts += 1
                http.close()
                await asyncio.sleep(RESEND_AFTER_TIMEOUT_S * random.uniform(0.5, 1.5))
                continue
            except (OSError, asyncio.IncompleteReadError):
                tally.dropped += 1
                http.close()
                await asyncio.sleep(RESEND_AFTER_TIMEOUT_S * random.uniform(0.5, 1.5))
                continue
            latency = time.perf_counter() - sent
            tally.statuses[status] += 1
            tally.latencies.append(latency)
            if status == 200:
                tally.stored_latencies.append(latency)
                tally.created += sum(r["status"] == "created" for r in json.loads(content)["results"])
                tally.last_stored = time.perf_counter()
                break
            if status in (429, 503):
                await asyncio.sleep(float(answer_headers.get("retry-after", "1")))
                continue
            raise RuntimeError(f"unexpected answer {status}: {content[:300]!r}")
    http.close()


async def herd(port: int, made: list[tuple[str, str, str]], bodies: list[list[bytes]]) -> tuple[Tally, float]:
    tally, go = Tally(), asyncio.Event()
    tasks = [
        asyncio.create_task(kiosk(port, device_id, token, mine, tally, go))
        for (_, device_id, token), mine in zip(made, bodies, strict=True)
    ]
    await asyncio.sleep(0.5)
    started = time.perf_counter()
    go.set()
    await asyncio.gather(*tasks)
    return tally, started


async def health_ceiling(port: int, kiosks: int, per_kiosk: int) -> float:
    """Requests/s of GET /health with the same number of concurrent connections: the generator's ceiling."""

    async def one() -> None:
        http = Http(port)
        for _ in range(per_kiosk):
            await http.request("GET", "/api/v1/health", {})
        http.close()

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(kiosks)))
    return kiosks * per_kiosk / (time.perf_counter() - started)


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=1000)[int(p * 10) - 1] if len(values) > 1 else (values or [0.0])[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kiosks", type=int, default=6128)
    parser.add_argument("--backlog", type=int, default=50, help="visits waiting on each kiosk")
    parser.add_argument("--batch", type=int, default=50, help="visits per batch (the kiosk's server.batch_size)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # a socket per kiosk here, and one per kiosk in the server
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    now = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory(prefix="server-herd-") as tmp, scratch_database("cps_herd") as url:
        engine = create_db_engine(url)
        upgrade(engine)
        made = enrol_kiosks(engine, args.kiosks)
        bodies = []
        for code, device_id, _ in made:
            visits = [kiosk_visit(code, i, now) for i in range(args.backlog)]
            chunks = [visits[i : i + args.batch] for i in range(0, len(visits), args.batch)]
            bodies.append([gzip.compress(json.dumps({"device_id": device_id, "visits": c}).encode(), 1) for c in chunks])
        with server_process(url, Path(tmp), args.workers) as port:
            tally, started = asyncio.run(herd(port, made, bodies))
            drain = tally.last_stored - started
            ceiling = asyncio.run(health_ceiling(port, min(args.kiosks, 1000), 5))
        stored = count_visits(engine)
        engine.dispose()
    answers = sum(tally.statuses.values())
    expected = args.kiosks * args.backlog
    print(
        f"herd: {args.kiosks} kiosks × {args.backlog} visits (batches of {args.batch}) = {expected} visits, "
        f"server --workers {args.workers}, machine: {os.cpu_count()} cores"
    )
    rates = f"{expected / drain:,.0f} visits/s, {len(tally.stored_latencies) / drain:,.0f} batches/s"
    print(f"  drain time           {drain:8.1f} s   ({rates})")
    print(f"  answers              {answers:8d}     by status {dict(sorted(tally.statuses.items()))}")
    print(f"  429 share            {tally.statuses[429] / max(answers, 1):8.1%}")
    print(f"  timeouts / dropped   {tally.timeouts:8d} / {tally.dropped}")
    print(
        f"  latency, all answers p50 {percentile(tally.latencies, 50):.3f} s  p99 {percentile(tally.latencies, 99):.3f} s  "
        f"max {max(tally.latencies):.3f} s"
    )
    print(
        f"  latency, stored      p50 {percentile(tally.stored_latencies, 50):.3f} s  "
        f"p99 {percentile(tally.stored_latencies, 99):.3f} s"
    )
    print(f"  stored exactly once  {stored == expected == tally.created} ({stored} stored, {tally.created} answered created)")
    print(f"  floor: the generator's ceiling, GET /health × 1000 connections: {ceiling:,.0f} requests/s")
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


if __name__ == "__main__":
    main()
