"""The kiosk and the server can never disagree about what a valid visit is.

Hypothesis generates what readers and staff can produce (ID-card QR text with names,
addresses and ID numbers in any script and length, phone numbers in every form, arbitrary
text and bytes, manual entries with operators); every scan the kiosk answers ``accepted``
is read back from the outbox as the sync client sends it (``sync.wire``) and must pass the
server's own ingest check (``server.ingest.check``) untouched. A visit the kiosk refuses
for the contract names the part in a guard's words.
"""

from __future__ import annotations

import json
import string
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.config import load_config
from kiosk.contract import visit_problems, wire_visit
from kiosk.scan import ScanEvent, ScanResult, ScanService
from kiosk.store import VisitStore
from server.enrolment import DeviceAuth
from server.ingest import IngestRules, check
from sync.wire import wire_visit as wire_of_stored
from tests.conftest import SAMPLES, FakeClock

CHECKPOINT = "DEMO-01"
DIGITS = st.sampled_from(["0123456789", "０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩", "0123456789０１٣"])
VIET = "aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
NAME_CHARS = VIET + VIET.upper() + " "
ADDRESS_CHARS = NAME_CHARS + string.digits + ",./-()"


@st.composite
def digit_string(draw: st.DrawFn, sizes: tuple[int, ...]) -> str:
    alphabet = draw(DIGITS)
    return "".join(draw(st.sampled_from(alphabet)) for _ in range(draw(st.sampled_from(sizes))))


@st.composite
def cccd_text(draw: st.DrawFn) -> str:
    id_number = draw(digit_string((12, 11, 13)))
    old = draw(st.one_of(st.just(""), digit_string((9, 8))))
    name = draw(st.text(NAME_CHARS, min_size=1, max_size=130))
    dob = f"{draw(st.integers(1, 28)):02d}{draw(st.integers(1, 12)):02d}{draw(st.integers(1920, 2020))}"
    sex = draw(st.sampled_from(["Nam", "Nữ", "nam", "NỮ"]))
    address = draw(st.one_of(st.text(ADDRESS_CHARS, max_size=60), st.text(ADDRESS_CHARS, min_size=400, max_size=620)))
    issue = draw(st.sampled_from(["10052021", ""]))
    parts = [id_number, old, name, dob, sex, address] + ([issue] if issue else [])
    if draw(st.booleans()):
        parts.pop(1)  # the 6-field card without the old number
    return "|".join(parts)


@st.composite
def phone_text(draw: st.DrawFn) -> str:
    prefix = draw(st.sampled_from(["0", "+84", "84", "0084", "+84 ", "01", "02", "+1"]))
    body = draw(digit_string((8, 9, 10)))
    sep = draw(st.sampled_from(["", " ", ".", "-"]))
    return prefix + sep.join([body[:3], body[3:6], body[6:]])


PAYLOADS = st.one_of(
    cccd_text(), phone_text(), st.text(max_size=300), st.binary(max_size=300), st.text(min_size=3000, max_size=5000)
)
MANUAL = st.tuples(
    phone_text(),
    st.one_of(st.none(), st.text(NAME_CHARS, max_size=120)),
    st.one_of(st.none(), digit_string((9, 12, 10))),
    st.one_of(st.none(), st.text(max_size=120)),
)


def server_accepts(service: ScanService, result: ScanResult, clock: FakeClock) -> list:
    """What the server's ingest says of the stored visit, sent as the sync client sends it."""
    [stored] = [row for row in service.store.pending_after(0, 100_000) if row.id == result.visit_id]
    auth = DeviceAuth(device_id="kiosk", checkpoint_id=1, checkpoint_code=CHECKPOINT)
    rules = IngestRules(max_future=timedelta(days=1), retention=timedelta(days=30))
    answers, _rows = check([wire_of_stored(stored, None)], auth, rules, clock.wall + timedelta(minutes=5))
    return answers


@pytest.fixture
def service(tmp_path_factory: pytest.TempPathFactory) -> ScanService:
    data = tmp_path_factory.mktemp("contract")
    config, _ = load_config(None, [f"storage.data_dir={data}", "kiosk.repeat_window_s=0"])
    return ScanService(config, VisitStore.in_dir(config.data_dir), clock=FakeClock())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=PAYLOADS)
def test_every_scan_the_kiosk_accepts_the_server_accepts(service: ScanService, payload: str | bytes) -> None:
    event = (
        ScanEvent(source="serial", raw=payload, device="/dev/ttyACM0")
        if isinstance(payload, bytes)
        else ScanEvent(source="serial", text=payload, device="/dev/ttyACM0")
    )
    service.clock.advance(1)  # type: ignore[attr-defined] - past the (zero) repeat window
    result = service.handle(event)
    assert result.status in ("accepted", "rejected"), result
    if result.status == "accepted":
        assert server_accepts(service, result, service.clock) == [None]  # type: ignore[arg-type]
    else:
        assert result.reason and "Traceback" not in result.reason


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entry=MANUAL)
def test_every_manual_entry_the_kiosk_accepts_the_server_accepts(
    service: ScanService, entry: tuple[str, str | None, str | None, str | None]
) -> None:
    phone, name, id_number, operator = entry
    service.clock.advance(1)  # type: ignore[attr-defined]
    result = service.manual(phone, name=name, id_number=id_number, operator=operator)
    if result.status == "accepted":
        assert server_accepts(service, result, service.clock) == [None]  # type: ignore[arg-type]


@pytest.mark.parametrize("vector", sorted((SAMPLES / "dcc").glob("*.json")), ids=lambda p: p.stem)
def test_every_vaccine_certificate_vector_the_kiosk_accepts_the_server_accepts(service: ScanService, vector: Path) -> None:
    text = json.loads(vector.read_text())["PREFIX"]
    result = service.handle(ScanEvent(source="camera", text=text))
    if result.status == "rejected":  # the vectors include broken codes on purpose (B1: bad base45)
        assert (result.reason_code or "").startswith("dcc_"), result
    else:
        assert server_accepts(service, result, service.clock) == [None]  # type: ignore[arg-type]


def test_a_visit_the_server_would_refuse_is_named_not_shown_green(service: ScanService) -> None:
    long_name = "070185004321|285123456|" + "Nguyễn " * 20 + "An|14071985|Nữ|Thôn 3|10052021"
    result = service.handle(ScanEvent(source="serial", text=long_name))
    assert (result.status, result.reason_code) == ("rejected", "visit_invalid")
    assert "họ tên" in (result.reason or "") and "Nguyễn" not in (result.reason or "")
    operator = service.manual("0912345678", operator="Đ" * 101)
    assert operator.reason_code == "visit_invalid" and "tên người trực" in (operator.reason or "")
    assert service.store.count("pending") == 0


def test_problems_are_named_never_quoted() -> None:
    base = wire_visit(
        id="6f1c2a8e-0d4b-4d8e-9a51-3b7c1f0e2d9a",
        checkpoint="BD-001",
        direction="in",
        source="serial",
        kind="cccd",
        scanned_at="2026-11-23T01:30:00+00:00",
        clock_synchronised=True,
        monotonic_ns=1,
        boot_id="b",
        fields={
            "id_number": "070185004321",
            "name": "Lê Anh Sơn",
            "date_of_birth": "1990-02-02",
            "sex": "Nam",
            "address": "Thôn 3",
        },
    )
    assert visit_problems(base) == []
    assert visit_problems({**base, "fields": {**base["fields"], "address": "Thôn " * 200}}) == ["fields.address"]
    assert visit_problems({**base, "fields": {**base["fields"], "id_number": "０７０１８５００４３２１"}}) == ["fields.id_number"]
    assert visit_problems({**base, "operator": "x" * 101}) == ["operator"]
    assert visit_problems({**base, "fields": {**base["fields"], "name": "Lê\x00"}}) == ["fields.name", "fields"]
