"""EU DCC (HC1:) decoding and signature checks, driven by the public dgc-testdata vectors.

The vectors prove interoperability with real issuers; self-made certificates cover what
the vectors lack (PS256, as Vietnam uses; ES256 from a P-384 key; test/recovery entries).
"""

from __future__ import annotations

import base64
import functools
import json
import time
import tracemalloc
import unicodedata
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import base45
import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.credentials import Dcc, Rejection
from kiosk.dcc import MAX_DECOMPRESSED, MAX_TEXT_CHARS, decode_dcc
from kiosk.trust import TrustStore, key_id

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "samples" / "dcc"
NOW = datetime(2022, 1, 10, 8, 0, tzinfo=timezone.utc)


# --- the public test vectors -------------------------------------------------------------


def vector(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def clock(vec: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(vec["TESTCTX"]["VALIDATIONCLOCK"].replace("Z", "+00:00"))


def signer_der(vec: dict[str, Any]) -> bytes:
    return base64.b64decode(vec["TESTCTX"]["CERTIFICATE"])


def trust_dir(tmp_path: Path, der: bytes, fmt: str) -> TrustStore:
    """A trust directory holding one certificate, written as PEM or DER."""
    folder = tmp_path / "trust"
    folder.mkdir(exist_ok=True)
    cert = x509.load_der_x509_certificate(der)
    if fmt == "pem":
        (folder / "signer.pem").write_bytes(cert.public_bytes(Encoding.PEM))
    else:
        (folder / "signer.cer").write_bytes(der)
    store = TrustStore.from_dir(folder)
    assert len(store) == 1 and store.problems == []
    return store


def test_samples_are_present() -> None:
    assert len(list(SAMPLES.glob("*.json"))) == 5


@pytest.mark.parametrize(
    ("name", "fmt", "kid"),
    [
        ("AT_2DCode_raw_1", "pem", "d919375fc1e7b6b2"),  # kid in the protected header
        ("DE_2DCode_raw_1", "der", "0c4b15512be91401"),  # kid in the unprotected header
        ("common_2DCode_raw_CO3", "pem", "ac3690ee8361cc96"),
    ],
)
def test_valid_vectors(tmp_path: Path, name: str, fmt: str, kid: str) -> None:
    vec = vector(name)
    assert vec["EXPECTEDRESULTS"]["EXPECTEDVERIFY"] is True
    trust = trust_dir(tmp_path, signer_der(vec), fmt)
    result = decode_dcc(vec["PREFIX"], trust=trust, now=clock(vec))

    assert isinstance(result, Dcc)
    assert result.signature == "valid"
    assert result.key_id == kid
    expected = vec["JSON"]
    nam = expected["nam"]
    assert result.family_name == nam["fn"]
    assert result.given_name == nam["gn"]
    assert result.name == f"{nam['gn']} {nam['fn']}"
    assert result.date_of_birth == expected["dob"]
    assert result.schema_version == expected["ver"]
    assert result.issued_at is not None and result.issued_at.tzinfo is not None
    assert result.expires_at is not None and result.expires_at > result.issued_at
    assert [c["type"] for c in result.certificates] == ["vaccination"] * len(expected["v"])
    for got, want in zip(result.certificates, expected["v"], strict=True):
        assert got == {
            "type": "vaccination",
            "dose_number": want["dn"],
            "total_doses": want["sd"],
            "date": want["dt"],
            "country": want["co"],
            "issuer": want["is"],
            "certificate_id": want["ci"],
            "product": want["mp"],
            "manufacturer": want["ma"],
            "vaccine_type": want["vp"],
            "disease": want["tg"],
        }
    assert result.to_dict()["kind"] == "dcc"


def test_names_from_vectors() -> None:
    assert decode_dcc(vector("DE_2DCode_raw_1")["PREFIX"], trust=None, now=NOW).name == "Erika Mustermann"
    at = decode_dcc(vector("AT_2DCode_raw_1")["PREFIX"], trust=None, now=NOW)
    assert isinstance(at, Dcc)
    assert at.family_name == "Musterfrau-Gößinger" and at.issuer_country == "AT"


def test_co5_bad_signature(tmp_path: Path) -> None:
    vec = vector("common_2DCode_raw_CO5")
    trust = trust_dir(tmp_path, signer_der(vec), "der")
    result = decode_dcc(vec["PREFIX"], trust=trust, now=clock(vec))
    assert isinstance(result, Dcc)
    assert result.signature == "bad_signature"


def test_b1_bad_base45(tmp_path: Path) -> None:
    vec = vector("common_2DCode_raw_B1")
    trust = trust_dir(tmp_path, signer_der(vec), "der")
    assert decode_dcc(vec["PREFIX"], trust=trust, now=clock(vec)) == Rejection("dcc_base45")


def test_unknown_signer(tmp_path: Path) -> None:
    at = vector("AT_2DCode_raw_1")
    trust = trust_dir(tmp_path, signer_der(vector("DE_2DCode_raw_1")), "pem")
    result = decode_dcc(at["PREFIX"], trust=trust, now=clock(at))
    assert isinstance(result, Dcc) and result.signature == "unknown_signer"


@pytest.mark.parametrize("trust", [None, TrustStore.empty()])
def test_not_checked_without_signers(trust: TrustStore | None) -> None:
    at = vector("AT_2DCode_raw_1")
    result = decode_dcc(at["PREFIX"], trust=trust, now=clock(at))
    assert isinstance(result, Dcc) and result.signature == "not_checked"


def test_empty_trust_dir_is_not_checked(tmp_path: Path) -> None:
    at = vector("AT_2DCode_raw_1")
    result = decode_dcc(at["PREFIX"], trust=TrustStore.from_dir(tmp_path), now=clock(at))
    assert isinstance(result, Dcc) and result.signature == "not_checked"


@pytest.mark.parametrize(
    ("shift", "state"),
    [
        (timedelta(days=400), "expired"),  # long after exp
        (timedelta(hours=-1), "not_yet_valid"),  # before iat
        (timedelta(minutes=-2), "valid"),  # before iat, within clock skew
    ],
)
def test_validity_window(tmp_path: Path, shift: timedelta, state: str) -> None:
    at = vector("AT_2DCode_raw_1")
    trust = trust_dir(tmp_path, signer_der(at), "der")
    issued = decode_dcc(at["PREFIX"], trust=None, now=NOW)
    assert isinstance(issued, Dcc) and issued.issued_at is not None
    base = issued.issued_at if shift < timedelta(0) else issued.expires_at
    assert base is not None
    result = decode_dcc(at["PREFIX"], trust=trust, now=base + shift)
    assert isinstance(result, Dcc) and result.signature == state


def test_whitespace_and_uncompressed(tmp_path: Path) -> None:
    at = vector("AT_2DCode_raw_1")
    trust = trust_dir(tmp_path, signer_der(at), "der")
    padded = decode_dcc(f"  {at['PREFIX']}\r\n", trust=trust, now=clock(at))
    assert isinstance(padded, Dcc) and padded.signature == "valid"
    plain = "HC1:" + base45.b45encode(bytes.fromhex(at["COSE"])).decode()
    result = decode_dcc(plain, trust=trust, now=clock(at))
    assert isinstance(result, Dcc) and result.signature == "valid"


def rewrapped(vec: dict[str, Any], shape: str, *, compress: bool = True) -> str:
    """The vector's own COSE bytes in another envelope the specification allows, re-encoded as HC1."""
    cose = bytes.fromhex(vec["COSE"])
    assert cose[0] == 0xD2  # the vectors carry COSE_Sign1 in tag 18
    body = {
        "cwt": b"\xd8\x3d" + cose,  # tag 61 (CWT) around tag 18: the bytes inside stay as signed
        "untagged": cose[1:],
    }[shape]  # the bare 4-array
    return hc1(body, compress=compress)


@pytest.mark.parametrize("shape", ["cwt", "untagged"])
@pytest.mark.parametrize("name", ["AT_2DCode_raw_1", "DE_2DCode_raw_1"])
def test_cwt_tag_and_untagged_cose_of_a_real_certificate(tmp_path: Path, name: str, shape: str) -> None:
    vec = vector(name)
    trust = trust_dir(tmp_path, signer_der(vec), "der")
    original = decode_dcc(vec["PREFIX"], trust=trust, now=clock(vec))
    result = decode_dcc(rewrapped(vec, shape), trust=trust, now=clock(vec))
    assert isinstance(result, Dcc) and result.signature == "valid"
    assert result == original  # the same person, doses, dates and signer
    assert decode_dcc(rewrapped(vec, shape, compress=False), trust=trust, now=clock(vec)) == original  # zlib is optional


@pytest.mark.parametrize(
    "wrapping",
    [
        lambda cose: cbor2.dumps(cbor2.CBORTag(61, cbor2.loads(cose[1:]))),  # 61 around a bare array: RFC 8392 forbids
        lambda cose: cbor2.dumps(cbor2.CBORTag(62, cbor2.loads(cose))),  # an unknown tag around tag 18
        lambda cose: cbor2.dumps(cbor2.CBORTag(61, cbor2.CBORTag(61, cbor2.loads(cose)))),  # 61 twice
    ],
)
def test_other_tags_around_a_real_certificate_are_still_refused(wrapping: Any) -> None:
    at = vector("AT_2DCode_raw_1")
    body = wrapping(bytes.fromhex(at["COSE"]))
    assert decode_dcc(hc1(body), trust=None, now=clock(at)) == Rejection("dcc_cose")


# --- self-made certificates ----------------------------------------------------------------


@functools.cache
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def p384_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


def self_signed(key: Any) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"), x509.NameAttribute(NameOID.COMMON_NAME, "Test DSC")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2021, 1, 1, tzinfo=timezone.utc))
        .not_valid_after(datetime(2031, 1, 1, tzinfo=timezone.utc))
        .sign(key, hashes.SHA256())
    )


@functools.cache
def cert_for(kind: str) -> x509.Certificate:
    return self_signed(rsa_key() if kind == "rsa" else p384_key())


HCERT = {
    "ver": "1.3.0",
    "nam": {"fn": unicodedata.normalize("NFD", "Nguyễn"), "gn": "Thị Lan", "fnt": "NGUYEN", "gnt": "THI<LAN"},
    "dob": "1964",
    "v": [
        {
            "tg": "840539006",
            "vp": "J07BX03",
            "mp": "EU/1/20/1528",
            "ma": "ORG-100030215",
            "dn": 3,
            "sd": 3,
            "dt": "2021-12-01",
            "co": "VN",
            "is": "Bộ Y tế",
            "ci": "URN:UVCI:01:VN:X1",
        }
    ],
    "t": [
        {
            "tg": "840539006",
            "tt": "LP217198-3",
            "ma": "1232",
            "sc": "2021-12-02T10:00:00Z",
            "tr": "260415000",
            "tc": "Bệnh viện Bạch Mai",
            "co": "VN",
            "is": "Bộ Y tế",
            "ci": "URN:UVCI:01:VN:T1",
        },
        {
            "tg": "840539006",
            "tt": "LP6464-4",
            "nm": "PCR",
            "sc": "2021-12-03T10:00:00Z",
            "tr": "260373001",
            "co": "VN",
            "is": "Bộ Y tế",
            "ci": "URN:UVCI:01:VN:T2",
        },
    ],
    "r": [
        {
            "tg": "840539006",
            "fr": "2021-10-01",
            "df": "2021-10-12",
            "du": "2022-03-30",
            "co": "VN",
            "is": "Bộ Y tế",
            "ci": "URN:UVCI:01:VN:R1",
        }
    ],
}


def claims(hcert: Any = HCERT, iat: int = 1638316800, exp: int = 1669852800) -> bytes:
    return cbor2.dumps({1: "VN", 4: exp, 6: iat, -260: {1: hcert}})


def sign(key: Any, alg: int, to_be_signed: bytes) -> bytes:
    if alg == -37:
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        return key.sign(to_be_signed, pss, hashes.SHA256())
    r, s = decode_dss_signature(key.sign(to_be_signed, ec.ECDSA(hashes.SHA256())))
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def cose(payload: bytes, key: Any, alg: int, kid: bytes, kid_protected: bool = True) -> bytes:
    protected = cbor2.dumps({1: alg, 4: kid} if kid_protected else {1: alg})
    unprotected = {} if kid_protected else {4: kid}
    signature = sign(key, alg, cbor2.dumps(["Signature1", protected, b"", payload]))
    return cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, payload, signature]))


def hc1(data: bytes, compress: bool = True) -> str:
    return "HC1:" + base45.b45encode(zlib.compress(data, 9) if compress else data).decode()


def store_of(*certs: x509.Certificate) -> TrustStore:
    store = TrustStore.empty()
    for cert in certs:
        store.add(cert)
    return store


def test_ps256_valid_and_tampered() -> None:
    cert = cert_for("rsa")
    signed = cose(claims(), rsa_key(), -37, key_id(cert), kid_protected=False)
    result = decode_dcc(hc1(signed), trust=store_of(cert), now=NOW)
    assert isinstance(result, Dcc) and result.signature == "valid"
    assert result.key_id == key_id(cert).hex()

    target = b"Lan"
    assert signed.count(target) == 1
    tampered = signed.replace(target, b"Lam")  # one payload byte
    result = decode_dcc(hc1(tampered), trust=store_of(cert), now=NOW)
    assert isinstance(result, Dcc) and result.signature == "bad_signature"
    assert result.given_name == "Thị Lam"


def test_es256_with_p384_key() -> None:
    cert = cert_for("ec")
    signed = cose(claims(), p384_key(), -7, key_id(cert))
    assert len(cbor2.loads(signed).value[3]) == 96
    result = decode_dcc(hc1(signed), trust=store_of(cert), now=NOW)
    assert isinstance(result, Dcc) and result.signature == "valid"
    tampered = signed.replace(b"Lan", b"Lam")
    result = decode_dcc(hc1(tampered), trust=store_of(cert), now=NOW)
    assert isinstance(result, Dcc) and result.signature == "bad_signature"


def test_algorithm_must_fit_key() -> None:
    rsa_cert, ec_cert = cert_for("rsa"), cert_for("ec")
    # claims PS256 but the kid points at an EC key (and the reverse)
    signed = cose(claims(), rsa_key(), -37, key_id(ec_cert))
    assert decode_dcc(hc1(signed), trust=store_of(ec_cert), now=NOW).signature == "bad_signature"  # type: ignore[union-attr]
    signed = cose(claims(), p384_key(), -7, key_id(rsa_cert))
    assert decode_dcc(hc1(signed), trust=store_of(rsa_cert), now=NOW).signature == "bad_signature"  # type: ignore[union-attr]


def test_all_entry_kinds_and_normalisation() -> None:
    result = decode_dcc(hc1(cose(claims(), p384_key(), -7, b"12345678")), trust=None, now=NOW)
    assert isinstance(result, Dcc)
    assert result.family_name == unicodedata.normalize("NFC", "Nguyễn")
    assert result.name == "Thị Lan Nguyễn" and result.date_of_birth == "1964"
    assert result.issuer_country == "VN" and result.schema_version == "1.3.0"
    assert result.issued_at == datetime(2021, 12, 1, tzinfo=timezone.utc)
    vaccination, test1, test2, recovery = result.certificates
    assert vaccination["type"] == "vaccination" and vaccination["dose_number"] == 3
    assert vaccination["issuer"] == "Bộ Y tế"
    assert test1 == {
        "type": "test",
        "test_type": "LP217198-3",
        "name": None,
        "manufacturer": "1232",
        "sampled_at": "2021-12-02T10:00:00Z",
        "result": "not_detected",
        "facility": "Bệnh viện Bạch Mai",
        "country": "VN",
        "issuer": "Bộ Y tế",
        "certificate_id": "URN:UVCI:01:VN:T1",
        "disease": "840539006",
    }
    assert test2["result"] == "detected" and test2["name"] == "PCR"
    assert recovery == {
        "type": "recovery",
        "first_positive": "2021-10-01",
        "valid_from": "2021-10-12",
        "valid_until": "2022-03-30",
        "country": "VN",
        "issuer": "Bộ Y tế",
        "certificate_id": "URN:UVCI:01:VN:R1",
        "disease": "840539006",
    }


def test_transliterated_names_are_a_fallback() -> None:
    hcert = {"ver": "1.3.0", "nam": {"fnt": "NGUYEN", "gnt": "THI<LAN"}, "dob": ""}
    result = decode_dcc(hc1(cose(claims(hcert), p384_key(), -7, b"k")), trust=None, now=NOW)
    assert isinstance(result, Dcc)
    assert (result.name, result.family_name, result.given_name) == ("THI LAN NGUYEN", "NGUYEN", "THI LAN")
    assert result.date_of_birth == "" and result.certificates == ()


# --- damaged input -------------------------------------------------------------------------


def test_zlib_bomb_is_rejected_fast() -> None:
    compressor = zlib.compressobj(9)
    body = compressor.compress(bytes.fromhex(vector("AT_2DCode_raw_1")["COSE"]))
    chunk = bytes(1 << 20)
    for _ in range(10):  # 10 MiB of zeros, ~10 KB compressed: still fits a QR-sized text
        body += compressor.compress(chunk)
    body += compressor.flush()
    text = "HC1:" + base45.b45encode(body).decode()
    assert len(text) <= MAX_TEXT_CHARS
    tracemalloc.start()
    started = time.perf_counter()
    result = decode_dcc(text, trust=None, now=NOW)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert result == Rejection("dcc_zlib")
    assert elapsed < 1.0
    assert peak < 8 * MAX_DECOMPRESSED + (1 << 20)


def test_oversized_text_is_refused_before_decoding() -> None:
    result = decode_dcc("HC1:" + "0" * (MAX_TEXT_CHARS * 100), trust=None, now=NOW)
    assert isinstance(result, Rejection) and result.code == "too_long"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "dcc_base45"),  # prefix only
        (b"plain text", "dcc_zlib"),
        (zlib.compress(b"\x84\x01\x02\x03\x04")[:-6], "dcc_zlib"),  # truncated stream
        (zlib.compress(b"\xff\xff"), "dcc_cose"),
        (zlib.compress(cbor2.dumps([b"", {}, b"x"])), "dcc_cose"),  # 3 elements
        (zlib.compress(cbor2.dumps(cbor2.CBORTag(17, [b"", {}, b"x", b"s"]))), "dcc_cose"),  # MAC0
        (zlib.compress(cbor2.dumps([b"\x01", {}, b"x", b"s"])), "dcc_cose"),  # protected not a map
        (zlib.compress(cbor2.dumps([b"", {}, None, b"s"])), "dcc_cose"),  # detached payload
        (zlib.compress(cbor2.dumps([b"", {}, b"\xff", b"s"])), "dcc_payload"),
        (zlib.compress(cbor2.dumps([b"", {}, cbor2.dumps({1: "VN"}), b"s"])), "dcc_payload"),
        (zlib.compress(cbor2.dumps([b"", {}, cbor2.dumps({-260: {1: "x"}}), b"s"])), "dcc_payload"),
        (zlib.compress(cbor2.dumps([b"", {}, claims({"nam": {}}), b"s"])), "dcc_payload"),
    ],
)
def test_damaged_layers(data: bytes, code: str) -> None:
    assert decode_dcc(hc1(data, compress=False), trust=None, now=NOW) == Rejection(code)


def test_untagged_cose_is_accepted() -> None:
    untagged = cbor2.dumps([cbor2.dumps({1: -7}), {4: b"kid"}, claims(), b"\x00" * 64])
    result = decode_dcc(hc1(untagged), trust=store_of(cert_for("ec")), now=NOW)
    assert isinstance(result, Dcc) and result.signature == "unknown_signer" and result.key_id == "6b6964"


# --- trust store ---------------------------------------------------------------------------


def test_trust_store_loading(tmp_path: Path) -> None:
    at, de = (x509.load_der_x509_certificate(signer_der(vector(n))) for n in ("AT_2DCode_raw_1", "DE_2DCode_raw_1"))
    co3_b64 = vector("common_2DCode_raw_CO3")["TESTCTX"]["CERTIFICATE"]
    (tmp_path / "bundle.txt").write_bytes(at.public_bytes(Encoding.PEM) + b"\n" + de.public_bytes(Encoding.PEM))
    (tmp_path / "again.der").write_bytes(at.public_bytes(Encoding.DER))  # duplicate
    (tmp_path / "co3.b64").write_text(co3_b64 + "\n")
    (tmp_path / "notes.txt").write_text("xin chào")
    (tmp_path / "broken.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    (tmp_path / "subdir").mkdir()
    store = TrustStore.from_dir(tmp_path)
    assert len(store) == 3
    assert store.get(key_id(at)) == at and store.get(bytes.fromhex("0c4b15512be91401")) == de
    assert store.get(b"\x00" * 8) is None
    assert sorted(p.name for p, _ in store.problems) == ["broken.pem", "notes.txt"]
    assert all(reason for _, reason in store.problems)


def test_trust_store_missing_dir(tmp_path: Path) -> None:
    assert len(TrustStore.from_dir(None)) == 0 and TrustStore.from_dir(None).problems == []
    store = TrustStore.from_dir(tmp_path / "nope")
    assert len(store) == 0 and [p for p, _ in store.problems] == [tmp_path / "nope"]


# --- never raises --------------------------------------------------------------------------


def _decodes_quietly(text: str, trust: TrustStore | None = None) -> None:
    result = decode_dcc(text, trust=trust, now=NOW)
    assert isinstance(result, (Dcc, Rejection))
    if isinstance(result, Dcc):
        result.to_dict()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_never_raises(text: str) -> None:
    _decodes_quietly("HC1:" + text)
    _decodes_quietly(text)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.booleans())
def test_any_bytes_never_raise(data: bytes, compress: bool) -> None:
    _decodes_quietly(hc1(data, compress=compress))


_cbor_leaf = st.one_of(
    st.integers(-(2**70), 2**70), st.text(max_size=20), st.binary(max_size=20), st.none(), st.booleans(), st.floats()
)
_cbor = st.recursive(
    _cbor_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.integers(-300, 10), st.text(max_size=3)), inner, max_size=4)
    ),
    max_leaves=20,
)


_entries = st.one_of(
    st.lists(st.dictionaries(st.sampled_from(["dn", "sd", "tr", "co", "ci", "xx"]), _cbor, max_size=4), max_size=3), _cbor
)


@settings(max_examples=300, deadline=None)
@given(
    alg=st.one_of(st.sampled_from([-7, -35, -36, -37]), _cbor),
    nam=st.one_of(st.just({"fn": "A"}), _cbor),
    dob=_cbor,
    entries=_entries,
    signature=st.binary(max_size=300),
    when=_cbor,
    kid_protected=st.booleans(),
)
def test_structured_garbage_never_raises(
    alg: Any, nam: Any, dob: Any, entries: Any, signature: bytes, when: Any, kid_protected: bool
) -> None:
    certs = (cert_for("rsa"), cert_for("ec"))
    kid = key_id(certs[len(signature) % 2])
    hcert = {"ver": dob, "dob": dob, "nam": nam, "v": entries, "t": entries, "r": entries}
    payload = cbor2.dumps({1: dob, 4: when, 6: when, -260: {1: hcert}})
    protected = cbor2.dumps({1: alg, 4: kid} if kid_protected else {1: alg})
    data = cbor2.dumps([protected, {} if kid_protected else {4: kid}, payload, signature])
    _decodes_quietly(hc1(data), trust=store_of(*certs))
