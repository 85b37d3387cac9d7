"""A loopback TCP proxy in front of the district server that misbehaves on purpose.

Each new connection gets a plan from a seeded random generator: pass everything, or one
fault at a random byte of the request or of the answer — ``drop`` (close quietly),
``reset`` (close with a TCP RST), ``truncate`` (cut the answer short) or ``delay`` (stall,
then carry on). Each request/answer exchange gets its own plan; at most ``max_faults``
faults happen, so a test always ends. Besides the
random plan, the proxy can answer every request with 503 for a while (``unavailable``),
refuse connections outright (``down``), as a broken reverse proxy or a dead link would,
or answer 500 to any request carrying one visit (``poison``), as a server bug would, or let
requests through whole and lose their answers (``lose_answers``): the server did the work
and committed, the kiosk never hears of it.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import random
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass

FAULTS = ("drop", "reset", "truncate", "delay")
CHUNK = 4096
SERVER_ERROR = (
    b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nConnection: close\r\n"
    b"Content-Length: 44\r\n\r\n"
    b'{"error":"internal","message":"proxy: boom"}'
)
UNAVAILABLE = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
    b"Content-Length: 57\r\n\r\n"
    b'{"error":"unavailable","message":"proxy: upstream down."}'
)


@dataclass(frozen=True)
class Plan:
    fault: str | None = None
    upstream_bound: bool = True  # the fault hits the request (True) or the answer (False)
    at_byte: int = 0
    delay_s: float = 0.0


def _close(sock: socket.socket, *, reset: bool = False) -> None:
    """Close so that the peer notices at once: FIN, or RST (``reset``: what a crashed middlebox
    or a NAT timeout looks like). Shutting down first wakes the other pump, blocked reading
    this socket, which a bare close() from this thread would not."""
    with contextlib.suppress(OSError):
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RD if reset else socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class FaultProxy:
    def __init__(self, upstream_port: int, *, seed: int, fault_rate: float = 0.0, max_faults: int = 0) -> None:
        self.upstream_port = upstream_port
        self.rng = random.Random(seed)
        self.fault_rate = fault_rate
        self.max_faults = max_faults
        self.faults: Counter[str] = Counter()
        self.down = False
        self.poison: bytes | None = None  # a request whose body holds these bytes gets a 500
        self.lost: list[bytes] = []  # answers read from the server and never passed on (lose_answers)
        self._unavailable = 0
        self._lose = 0
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_faults(self, rate: float, max_faults: int) -> None:
        with self._lock:
            self.fault_rate, self.max_faults = rate, max_faults

    def unavailable(self, requests: int) -> None:
        """Answer the next ``requests`` requests with 503, and cut every open connection."""
        with self._lock:
            self._unavailable = requests
        self.cut_all()

    def lose_answers(self, requests: int) -> None:
        """Pass the next ``requests`` requests to the server whole, read each answer in full
        (kept in ``lost``), then reset the kiosk's connection instead of answering."""
        with self._lock:
            self._lose = requests
        self.cut_all()  # the next request comes on a fresh connection

    def lost_bodies(self) -> list[dict[str, object]]:
        """The JSON bodies of the lost answers, in order."""
        return [json.loads(answer.partition(b"\r\n\r\n")[2]) for answer in self.lost]

    def set_down(self, down: bool) -> None:
        self.down = down
        if down:
            self.cut_all()

    def cut_all(self) -> None:
        with self._lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            _close(sock, reset=True)

    def close(self) -> None:
        self._listener.close()
        self.cut_all()

    def _plan(self) -> Plan:
        with self._lock:
            if self.faults.total() >= self.max_faults or self.rng.random() >= self.fault_rate:
                return Plan()
            fault = self.rng.choice(FAULTS)
            upstream_bound = fault != "truncate" and self.rng.random() < 0.5
            return Plan(fault, upstream_bound, self.rng.randrange(0, 2000 if upstream_bound else 500), self.rng.uniform(0.05, 0.5))

    def _take_unavailable(self) -> bool:
        with self._lock:
            if self._unavailable <= 0:
                return False
            self._unavailable -= 1
            return True

    def _take_lose(self) -> bool:
        with self._lock:
            if self._lose <= 0:
                return False
            self._lose -= 1
            return True

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.down:
                _close(client, reset=True)
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _track(self, *socks: socket.socket) -> None:
        with self._lock:
            self._open.update(socks)

    def _serve(self, client: socket.socket) -> None:
        self._track(client)
        if self._take_unavailable():
            self._answer_unavailable(client)
            return
        if self.poison is not None:
            self._one_checked_request(client, self.poison)
            return
        if self._take_lose():
            self._lose_answer(client)
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
        except OSError:
            _close(client, reset=True)  # the server itself is down: the kiosk sees a refused/reset connection
            return
        upstream.settimeout(None)
        self._track(upstream)
        link = _Link(self)
        threading.Thread(target=link.pump, args=(client, upstream, True), daemon=True).start()
        link.pump(upstream, client, False)

    def _answer_unavailable(self, client: socket.socket) -> None:
        """Read one request, answer 503, close."""
        with contextlib.suppress(OSError):
            _read_request(client)
            client.sendall(UNAVAILABLE)
        _close(client)

    def _one_checked_request(self, client: socket.socket, marker: bytes) -> None:
        """Read one request; a 500 when its (gunzipped) body holds ``marker``, else the server's
        answer (asked with Connection: close, relayed until the server closes)."""
        try:
            head, body = _read_request(client)
            plain = gzip.decompress(body) if b"content-encoding: gzip" in head.lower() else body
            if marker in plain:
                self.faults["poison"] += 1
                client.sendall(SERVER_ERROR)
                return
            with socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30) as upstream:
                upstream.sendall(head + b"\r\nConnection: close\r\n\r\n" + body)
                while chunk := upstream.recv(CHUNK):
                    client.sendall(chunk)
        except (OSError, EOFError, gzip.BadGzipFile):
            pass
        finally:
            _close(client)

    def _lose_answer(self, client: socket.socket) -> None:
        """Read one request, have the server answer it in full (Connection: close), keep the
        answer and reset the kiosk's connection: to the kiosk, the answer never came."""
        try:
            head, body = _read_request(client)
            head = b"\r\n".join(line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:"))
            with socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30) as upstream:
                upstream.sendall(head + b"\r\nConnection: close\r\n\r\n" + body)
                answer = b""
                while chunk := upstream.recv(CHUNK):
                    answer += chunk
            with self._lock:
                self.lost.append(answer)
                self.faults["lost"] += 1
        except (OSError, EOFError):
            pass
        finally:
            _close(client, reset=True)


def _read_request(client: socket.socket) -> tuple[bytes, bytes]:
    """One HTTP request's head (without its blank line) and body (by Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(CHUNK)
        if not chunk:
            raise EOFError
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        chunk = client.recv(CHUNK)
        if not chunk:
            raise EOFError
        body += chunk
    return head, body


class _Link:
    """One proxied connection: a new plan for every request/answer exchange on it (keep-alive
    carries many), so faults land on any request, not only on a connection's first."""

    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy
        self.plan = Plan()
        self.sent = {True: 0, False: 0}
        self.answering = True  # the next bytes from the client start a new request

    def pump(self, source: socket.socket, sink: socket.socket, upstream_bound: bool) -> None:
        """Copy bytes one way; apply the plan's fault when ``at_byte`` bytes of this exchange went through."""
        fault = None
        try:
            while True:
                data = source.recv(CHUNK)
                if not data:
                    break
                if upstream_bound and self.answering:
                    self.plan, self.sent, self.answering = self.proxy._plan(), {True: 0, False: 0}, False
                elif not upstream_bound:
                    self.answering = True
                plan = self.plan
                if (
                    plan.fault is not None
                    and plan.upstream_bound == upstream_bound
                    and self.sent[upstream_bound] + len(data) > plan.at_byte
                ):
                    self.plan = Plan()
                    self.proxy.faults[plan.fault] += 1
                    if plan.fault == "delay":
                        time.sleep(plan.delay_s)
                    else:
                        sink.sendall(data[: plan.at_byte - self.sent[upstream_bound]])
                        fault = plan.fault
                        break
                sink.sendall(data)
                self.sent[upstream_bound] += len(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                _close(sock, reset=fault == "reset")
