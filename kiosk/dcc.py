"""EU Digital COVID Certificate (``HC1:``) decoding and signature verification.

Vietnam's vaccine passport uses this format. The chain is
base45 → zlib → COSE_Sign1 → CWT claims → hcert. Everything here is pure (no network,
no clock: the caller passes ``now``) and total: any input gives a ``Dcc`` or a
``Rejection``, with bounded time and memory, because a QR code is untrusted input.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import base45
import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from kiosk.credentials import Dcc, Rejection
from kiosk.trust import TrustStore

PREFIX = "HC1:"
MAX_TEXT_CHARS = 16_384  # a QR code holds at most 4,296 base45 characters
MAX_DECOMPRESSED = 64 * 1024  # real certificates are < 2 KB; caps zlib bombs
CLOCK_SKEW = timedelta(minutes=5)  # kiosk clocks drift; a fresh certificate is not fake

# COSE header labels and algorithms (RFC 9052/9053).
_ALG, _KID = 1, 4
_ECDSA: dict[int, hashes.HashAlgorithm] = {-7: hashes.SHA256(), -35: hashes.SHA384(), -36: hashes.SHA512()}
_PS256 = -37
_COSE_SIGN1_TAG = 18
_CWT_TAG = 61  # RFC 8392 §6: may wrap a tagged COSE message; the signature never covers tags
# CWT claims (RFC 8392) and the EU DCC hcert claim.
_ISS, _EXP, _IAT, _HCERT = 1, 4, 6, -260

_TEST_RESULTS = {"260415000": "not_detected", "260373001": "detected"}
_COMMON = (("country", "co"), ("issuer", "is"), ("certificate_id", "ci"), ("disease", "tg"))
_FIELDS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "v": (
        "vaccination",
        (
            ("dose_number", "dn"),
            ("total_doses", "sd"),
            ("date", "dt"),
            *_COMMON[:3],
            ("product", "mp"),
            ("manufacturer", "ma"),
            ("vaccine_type", "vp"),
            _COMMON[3],
        ),
    ),
    "t": (
        "test",
        (
            ("test_type", "tt"),
            ("name", "nm"),
            ("manufacturer", "ma"),
            ("sampled_at", "sc"),
            ("result", "tr"),
            ("facility", "tc"),
            *_COMMON,
        ),
    ),
    "r": (
        "recovery",
        (("first_positive", "fr"), ("valid_from", "df"), ("valid_until", "du"), *_COMMON),
    ),
}
_MAX_ENTRIES = 32  # per kind; a certificate has one


class _Reject(Exception):
    """Internal: carries the rejection code out of the nested steps."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def decode_dcc(text: str, *, trust: TrustStore | None, now: datetime) -> Dcc | Rejection:
    """Decode an ``HC1:`` text and check its signature against ``trust`` at ``now``.

    Never raises: a damaged code becomes a ``Rejection`` with the step that failed, and
    a readable but untrusted one is still returned, with ``signature`` saying why.
    """
    try:
        return _decode(text, trust, now)
    except _Reject as rej:
        return Rejection(rej.code)
    except Exception:  # last resort: untrusted input must never crash a scan
        return Rejection("dcc_payload")


def _decode(text: str, trust: TrustStore | None, now: datetime) -> Dcc | Rejection:
    if not isinstance(text, str):
        raise _Reject("dcc_base45")
    if len(text) > MAX_TEXT_CHARS:
        return Rejection("too_long", {"length": len(text.encode("utf-8", "replace")), "limit": MAX_TEXT_CHARS})
    body = text.strip()  # a trailing space is never valid base45, a leading one can be
    if body[: len(PREFIX)].upper() == PREFIX:
        body = body[len(PREFIX) :]
    try:
        raw = base45.b45decode(body)
    except Exception as exc:
        raise _Reject("dcc_base45") from exc
    if not raw:
        raise _Reject("dcc_base45")  # "HC1:" alone: the scan was cut short
    raw_protected, protected, unprotected, payload, signature = _cose(_inflate(raw))
    claims = _cbor_map(payload, "dcc_payload")
    dcc_fields = _hcert(claims)

    kid = _header(protected, unprotected, _KID)
    alg = _header(protected, unprotected, _ALG)
    kid = kid if isinstance(kid, bytes) else None
    issued_at = _timestamp(claims.get(_IAT))
    expires_at = _timestamp(claims.get(_EXP))
    state = _signature_state(trust, kid, alg, raw_protected, payload, signature)
    if state == "valid":
        now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
        if expires_at is not None and now > expires_at:
            state = "expired"
        elif issued_at is not None and now + CLOCK_SKEW < issued_at:
            state = "not_yet_valid"
    return Dcc(
        **dcc_fields,
        issuer_country=_text(claims.get(_ISS)),
        issued_at=issued_at,
        expires_at=expires_at,
        signature=state,
        key_id=kid.hex() if kid is not None else None,
    )


def _inflate(raw: bytes) -> bytes:
    """Decompress with a hard size cap; uncompressed COSE is allowed by the spec."""
    if len(raw) >= 2 and raw[0] & 0x0F == 8 and raw[0] >> 4 <= 7 and (raw[0] << 8 | raw[1]) % 31 == 0:
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(raw, MAX_DECOMPRESSED)
        except zlib.error as exc:
            raise _Reject("dcc_zlib") from exc
        if inflater.unconsumed_tail or not inflater.eof:
            raise _Reject("dcc_zlib")  # over the cap, or truncated
        return data
    if raw[:1] in (b"\xd2", b"\x84") or raw[:2] == b"\xd8\x3d":  # tag 18, a 4-array or tag 61: COSE as is
        return raw
    raise _Reject("dcc_zlib")


def _cose(data: bytes) -> tuple[bytes, Mapping[Any, Any], Mapping[Any, Any], bytes, bytes]:
    """Split a COSE_Sign1 into (protected bytes and map, unprotected, payload, signature).

    The protected header's exact bytes are kept: the signature covers them, not the map.
    Three shapes are COSE_Sign1 (EU DCC specification, RFC 8392): the bare 4-array, the
    array in tag 18, and tag 18 in the CWT tag 61. Any other tag (MAC0, a bare 61 around
    an untagged array, which RFC 8392 forbids) is not a certificate.
    """
    try:
        obj = cbor2.loads(data)
    except Exception as exc:
        raise _Reject("dcc_cose") from exc
    if isinstance(obj, cbor2.CBORTag) and obj.tag == _CWT_TAG:
        obj = obj.value
        if not isinstance(obj, cbor2.CBORTag):
            raise _Reject("dcc_cose")
    if isinstance(obj, cbor2.CBORTag):
        if obj.tag != _COSE_SIGN1_TAG:
            raise _Reject("dcc_cose")
        obj = obj.value
    if not isinstance(obj, (list, tuple)) or len(obj) != 4:  # cbor2 gives tuples inside tags
        raise _Reject("dcc_cose")
    raw_protected, unprotected, payload, signature = obj
    if not (
        isinstance(raw_protected, bytes)
        and isinstance(unprotected, Mapping)
        and isinstance(payload, bytes)
        and isinstance(signature, bytes)
    ):
        raise _Reject("dcc_cose")
    protected = _cbor_map(raw_protected, "dcc_cose") if raw_protected else {}
    return raw_protected, protected, unprotected, payload, signature


def _cbor_map(data: bytes, code: str) -> Mapping[Any, Any]:
    try:
        value = cbor2.loads(data)
    except Exception as exc:
        raise _Reject(code) from exc
    if not isinstance(value, Mapping):
        raise _Reject(code)
    return value


def _header(protected: Mapping[Any, Any], unprotected: Mapping[Any, Any], label: int) -> Any:
    """A COSE header parameter; the protected bucket wins (it is covered by the signature)."""
    if label in protected:
        return protected[label]
    return unprotected.get(label)


def _hcert(claims: Mapping[Any, Any]) -> dict[str, Any]:
    """The person and certificate entries of the hcert claim (Dcc fields)."""
    wrapper = claims.get(_HCERT)
    hcert = wrapper.get(1) if isinstance(wrapper, Mapping) else None
    if not isinstance(hcert, Mapping):
        raise _Reject("dcc_payload")
    nam = hcert.get("nam")
    nam = nam if isinstance(nam, Mapping) else {}
    family = _text(nam.get("fn")) or _icao(nam.get("fnt"))
    given = _text(nam.get("gn")) or _icao(nam.get("gnt"))
    name = " ".join(part for part in (given, family) if part)
    if not name:
        raise _Reject("dcc_payload")
    entries: list[dict[str, Any]] = []
    for key, (kind, fields) in _FIELDS.items():
        group = hcert.get(key)
        if not isinstance(group, (list, tuple)):
            continue
        for item in group[:_MAX_ENTRIES]:
            if isinstance(item, Mapping):
                entries.append(_entry(kind, fields, item))
    return {
        "name": name,
        "family_name": family,
        "given_name": given,
        "date_of_birth": _date_of_birth(hcert.get("dob")),
        "certificates": tuple(entries),
        "schema_version": _text(hcert.get("ver")),
    }


def _date_of_birth(value: Any) -> str:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; early certificates wrote a full timestamp (keep its date)."""
    text = _text(value) or ""
    return text[:10] if re.match(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T", text) else text


def _entry(kind: str, fields: tuple[tuple[str, str], ...], item: Mapping[Any, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": kind}
    for name, key in fields:
        value = item.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 31:
            entry[name] = value if key in ("dn", "sd") else str(value)
        elif key in ("dn", "sd"):
            entry[name] = None
        else:
            entry[name] = _text(value)
    if kind == "test" and entry.get("result") is not None:
        entry["result"] = _TEST_RESULTS.get(entry["result"], entry["result"])
    return entry


def _text(value: Any) -> str | None:
    """NFC text, so names compare and display the same whatever the issuer sent."""
    if not isinstance(value, str):
        return None
    return unicodedata.normalize("NFC", value.strip()) or None


def _icao(value: Any) -> str | None:
    """A machine-readable transliteration (``MUSTERFRAU<GOESSINGER``) in human form."""
    text = _text(value)
    if text is None:
        return None
    return " ".join(text.replace("<", " ").split()) or None


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(value, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _signature_state(
    trust: TrustStore | None, kid: bytes | None, alg: Any, protected: bytes, payload: bytes, signature: bytes
) -> str:
    """not_checked / unknown_signer / bad_signature / valid (time checks come after)."""
    if trust is None or len(trust) == 0:
        return "not_checked"
    cert = trust.get(kid) if kid is not None else None
    if cert is None:
        return "unknown_signer"
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", payload])
    try:
        key = cert.public_key()
        if alg in _ECDSA and isinstance(key, ec.EllipticCurvePublicKey):
            half = len(signature) // 2
            if half == 0 or len(signature) % 2:
                return "bad_signature"
            der = encode_dss_signature(int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big"))
            key.verify(der, to_be_signed, ec.ECDSA(_ECDSA[alg]))
        elif alg == _PS256 and isinstance(key, rsa.RSAPublicKey):
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=hashes.SHA256.digest_size)
            key.verify(signature, to_be_signed, pss, hashes.SHA256())
        else:
            return "bad_signature"  # unsupported algorithm, or it does not fit the key
    except (InvalidSignature, ValueError, TypeError):
        return "bad_signature"
    return "valid"
