"""Seals made from encapsulations prepared ahead (kiosk/seal.py) are RFC 9180 base mode, byte
for byte, open with the server's opener, and never share an encapsulation.

HPKE base mode is composed from ``cryptography``'s primitives so the encapsulation can be
made in the scan thread's idle time; these tests hold it to RFC 9180's own test vector
(appendix A.2.1, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305, sequence
number 0) and to ``cryptography``'s ``Suite.decrypt`` (``open_sealed``, what the district
server runs at ingest).
"""

from __future__ import annotations

import base64
import os
import queue
import threading
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from drivers.pipeline import Pipeline
from kiosk.config import Config
from kiosk.scan import ScanEvent, ScanService
from kiosk.seal import SUITE, DistrictKey, SealPool, encapsulate, open_sealed, seal_with
from kiosk.store import VisitStore
from tests.waiting import wait_for

# RFC 9180, A.2.1 (base mode) and A.2.1.1 (the first encryption).
RFC = {
    "info": "4f6465206f6e2061204772656369616e2055726e",
    "skEm": "f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600",
    "skRm": "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb",
    "pkRm": "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a",
    "enc": "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a",
    "pt": "4265617574792069732074727574682c20747275746820626561757479",
    "aad": "436f756e742d30",
    "ct": "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28",
}


def _hex(name: str) -> bytes:
    return bytes.fromhex(RFC[name])


def _district() -> tuple[X25519PrivateKey, DistrictKey]:
    private = X25519PrivateKey.generate()
    return private, DistrictKey.from_text(base64.b64encode(private.public_key().public_bytes_raw()).decode())


def test_base_mode_from_primitives_gives_rfc_9180s_test_vector_byte_for_byte() -> None:
    recipient = X25519PrivateKey.from_private_bytes(_hex("skRm"))
    assert recipient.public_key().public_bytes_raw() == _hex("pkRm")
    made = encapsulate(recipient.public_key(), X25519PrivateKey.from_private_bytes(_hex("skEm")))
    assert made.enc == _hex("enc")
    assert seal_with(made, _hex("pt"), _hex("info"), _hex("aad")) == _hex("enc") + _hex("ct")


def test_cryptographys_hpke_opens_what_the_primitives_sealed_and_the_server_opens_a_pooled_seal() -> None:
    recipient = X25519PrivateKey.from_private_bytes(_hex("skRm"))
    sealed = seal_with(encapsulate(recipient.public_key()), _hex("pt"), _hex("info"))
    assert SUITE.decrypt(sealed, recipient, info=_hex("info")) == _hex("pt")

    private, key = _district()
    pool = SealPool(key)
    assert pool.prepare_one()
    prepared = pool.take()
    assert prepared is not None and pool.take() is None
    secret = {"fields": {"name": "Nguyễn Thị Ánh", "id_number": "036185000123"}, "raw": None}
    sealed = pool.seal(prepared.visit_id, secret, prepared)
    assert pool.made_on_the_spot == 0
    assert open_sealed(private, prepared.visit_id, sealed) == secret
    with pytest.raises(InvalidTag):  # the visit id is bound in, as before
        open_sealed(private, "3f1d3c4e-0000-4000-8000-000000000002", sealed)
    other = pool.seal("3f1d3c4e-0000-4000-8000-000000000002", secret, prepared)  # not its visit: made anew
    assert pool.made_on_the_spot == 1 and other[:32] != sealed[:32]
    assert open_sealed(private, "3f1d3c4e-0000-4000-8000-000000000002", other) == secret


def test_each_prepared_seal_is_used_once_and_an_empty_pool_still_seals() -> None:
    private, key = _district()
    pool = SealPool(key, size=4)
    while pool.prepare_one():
        pass
    assert not pool.prepare_one()  # full: nothing to do
    taken = [pool.take() for _ in range(10)]  # 4 ready, then nothing
    ids = [p.visit_id if p else f"visit-{i}" for i, p in enumerate(taken)]
    sealed = [pool.seal(visit_id, {"i": i}, p) for i, (visit_id, p) in enumerate(zip(ids, taken, strict=True))]
    assert pool.made_on_the_spot == 6
    assert len(set(ids)) == 10 and len({s[:32] for s in sealed}) == 10  # ten ids, ten ephemeral keys
    assert [open_sealed(private, v, s) for v, s in zip(ids, sealed, strict=True)] == [{"i": i} for i in range(10)]


def test_a_seal_prepared_for_a_rotated_key_is_not_used() -> None:
    _, old = _district()
    private, new = _district()
    pool_old = SealPool(old)
    pool_old.prepare_one()
    prepared = pool_old.take()
    assert prepared is not None
    pool_new = SealPool(new)
    sealed = pool_new.seal(prepared.visit_id, {"a": 1}, prepared)
    assert pool_new.made_on_the_spot == 1
    assert open_sealed(private, prepared.visit_id, sealed) == {"a": 1}


def test_seals_taken_from_many_threads_never_share_an_encapsulation() -> None:
    _, key = _district()
    pool = SealPool(key, size=64)
    while pool.prepare_one():
        pass
    out: queue.Queue[bytes] = queue.Queue()

    def seal_some() -> None:
        for _ in range(16):
            prepared = pool.take()
            assert prepared is not None
            out.put(pool.seal(prepared.visit_id, {}, prepared))

    threads = [threading.Thread(target=seal_some) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    encs = [out.get()[:32] for _ in range(64)]
    assert len(set(encs)) == 64 and pool.made_on_the_spot == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_forked_child_does_not_inherit_prepared_encapsulations() -> None:
    _, key = _district()
    pool = SealPool(key)
    while pool.prepare_one():
        pass
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its pool must be empty
        os.write(write, str(len(pool._ready)).encode())
        os._exit(0)
    os.close(write)
    answer = os.read(read, 16)
    os.waitpid(pid, 0)
    assert answer == b"0"
    assert len(pool._ready) == pool.size  # the parent keeps its own


def test_the_pipeline_prepares_seals_while_idle_and_the_stored_visit_opens(tmp_path: Path) -> None:
    private, key = _district()
    config = Config.model_validate({"storage": {"data_dir": str(tmp_path / "kiosk")}})
    store = VisitStore.in_dir(config.data_dir)
    store.set_district_key(key)
    service = ScanService(config, store)
    pipeline = Pipeline(config, service, on_result=lambda event, result: None, kinds=[])
    pipeline.start()
    try:
        result = pipeline.submit(ScanEvent(source="manual", text="0912345678")).result(timeout=30)
        assert result is not None and result.accepted
        pool = store._key_cache[1] if store._key_cache else None
        assert pool is not None
        wait_for(lambda: len(pool._ready) == pool.size, "the idle consumer to fill the seal pool")
        ready = {prepared.visit_id for prepared in list(pool._ready)}
        second = pipeline.submit(ScanEvent(source="manual", text="0912345679")).result(timeout=30)
        assert second is not None and second.accepted
        assert pool.made_on_the_spot <= 1  # only a first scan before any idle moment makes its own
        assert second.visit_id in ready  # the second visit took its id and seal from the pool
        row = store.db.conn.execute("SELECT id, sealed FROM visits WHERE id = ?", [result.visit_id]).fetchone()
        assert open_sealed(private, row[0], row[1])["fields"]["phone"] == "0912345678"
    finally:
        pipeline.stop()
        store.close()


def test_a_key_another_process_stored_seals_this_processs_next_visit(tmp_path: Path) -> None:
    """The scan writes in one statement with the key it last read; a key stored since by the sync
    process (another connection) makes that statement write nothing, and the visit is sealed anew
    to the key the database holds: never left in clear after the backlog was sealed, never sealed
    to a key rotated away."""
    first_private, first = _district()
    second_private, second = _district()
    config = Config.model_validate({"storage": {"data_dir": str(tmp_path / "kiosk")}})
    scanning = VisitStore.in_dir(config.data_dir)
    service = ScanService(config, scanning)
    try:
        before = service.handle(ScanEvent(source="serial", text="0912345678"))
        with VisitStore.in_dir(config.data_dir) as syncing:  # the sync process: enrolment brings the key
            assert syncing.set_district_key(first) == 1
        during = service.handle(ScanEvent(source="serial", text="0912345679"))
        with VisitStore.in_dir(config.data_dir) as syncing:  # a later batch answer: the key rotated
            syncing.set_district_key(second)
        after = service.handle(ScanEvent(source="serial", text="0912345680"))
        rows = {row[0]: row[1:] for row in scanning.db.conn.execute("SELECT id, sealed, key_id, clear FROM visits").fetchall()}
    finally:
        scanning.close()
    assert all(result.accepted for result in (before, during, after))
    assert all(clear is None for _, _, clear in rows.values())
    for result, private, key, phone in (
        (before, first_private, first, "0912345678"),  # the backlog, sealed when the key came
        (during, first_private, first, "0912345679"),
        (after, second_private, second, "0912345680"),
    ):
        sealed, key_id, _ = rows[str(result.visit_id)]
        assert key_id == key.fingerprint
        assert open_sealed(private, str(result.visit_id), sealed)["fields"]["phone"] == phone
