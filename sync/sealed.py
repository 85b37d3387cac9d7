"""Sealed files for USB sticks: a kiosk's visits for the server, and the server's receipt back.

Layout: a magic line; one JSON header line in the clear (what the file is, the device id,
the checkpoint, a random salt: what the server needs to find the key); then frames, each
a 4-byte big-endian length and AES-256-GCM ciphertext of gzip'd JSON lines. A frame holds
at most ``MAX_BATCH_VISITS`` records and ``MAX_BATCH_BYTES`` of JSON, so the server
ingests one frame exactly as it ingests one uploaded batch. The last frame is empty and
marked last.

The key is HKDF-SHA256 of the SHA-256 of the device token (which is all the server keeps
of it) with the file's salt: only this kiosk and the server can read or make such a file,
and a lost stick shows no personal data. Each frame's nonce is its index, and its
associated data binds the header, the index and the "last" mark, so frames cannot be
swapped, dropped, taken from another file or cut off at the end without the reader noticing.

A kiosk's export is also signed (header ``"signed": "ed25519"``): each frame ends with an
Ed25519 signature, by the kiosk's own key (sync/devicekey.py), over the frame's associated
data and ciphertext. The token hash the server keeps opens a file but cannot sign one, so
a stolen server database forges nothing; the server checks every frame with the public key
the kiosk registered at enrolment. The visits inside are sealed to the district key already
(kiosk/seal.py), so neither the stick nor the token opens anyone's personal data.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sync.protocol import MAX_BATCH_BYTES, MAX_BATCH_VISITS

MAGIC = b"CPK-SEALED 1\n"
VISITS, RECEIPT = "visits", "receipt"
MAX_HEADER_BYTES = 64 * 1024
MAX_FRAME_BYTES = 2 * MAX_BATCH_BYTES  # ciphertext of gzip'd JSON: never larger than the JSON itself by much
_LENGTH = struct.Struct(">I")
SIGNATURE_BYTES = 64
SIGNED = "ed25519"


class SealedFileError(Exception):
    """``code``: not_sealed, wrong_key (another device, or tampered with), damaged, truncated,
    unsigned (no signature where the device has a key), forged (a signature that does not check)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def key_material(token: str) -> bytes:
    """What both sides can derive the key from: the SHA-256 of the device token (the server stores its hex)."""
    return hashlib.sha256(token.encode()).digest()


def _key(material: bytes, salt: bytes, kind: str) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=f"checkpoint-kiosk sealed {kind} v1".encode())
    return AESGCM(derived.derive(material))


def _nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


def _aad(header_digest: bytes, index: int, last: bool) -> bytes:
    return header_digest + index.to_bytes(8, "big") + (b"\x01" if last else b"\x00")


class SealedWriter:
    """Streams records into frames, so memory stays flat however many visits are written."""

    def __init__(
        self, fh: IO[bytes], kind: str, header: dict[str, Any], material: bytes, signer: Ed25519PrivateKey | None = None
    ) -> None:
        salt = os.urandom(16)
        signed = {"signed": SIGNED} if signer is not None else {}
        line = (
            json.dumps(
                {**header, **signed, "kind": kind, "salt": base64.b64encode(salt).decode()}, ensure_ascii=False, sort_keys=True
            ).encode()
            + b"\n"
        )
        fh.write(MAGIC + line)
        self._fh = fh
        self._digest = hashlib.sha256(MAGIC + line).digest()
        self._aead = _key(material, salt, kind)
        self._signer = signer
        self._index = 0
        self._lines: list[bytes] = []
        self._size = 0
        self.count = 0

    def add(self, record: dict[str, Any]) -> bool:
        """Queue one record; False (and nothing written) when it alone exceeds a batch's size."""
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        if len(line) > MAX_BATCH_BYTES:
            return False
        if len(self._lines) >= MAX_BATCH_VISITS or self._size + len(line) > MAX_BATCH_BYTES:
            self._frame(last=False)
        self._lines.append(line)
        self._size += len(line)
        self.count += 1
        return True

    def close(self) -> None:
        """Write what is queued and the final frame, which carries the record count."""
        if self._lines:
            self._frame(last=False)
        self._lines = [json.dumps({"records": self.count}).encode() + b"\n"]
        self._frame(last=True)

    def _frame(self, *, last: bool) -> None:
        plain = gzip.compress(b"".join(self._lines), 6)
        aad = _aad(self._digest, self._index, last)
        sealed = self._aead.encrypt(_nonce(self._index), plain, aad)
        if self._signer is not None:
            sealed += self._signer.sign(aad + sealed)
        self._fh.write(_LENGTH.pack(len(sealed)) + sealed)
        self._index += 1
        self._lines, self._size = [], 0


@dataclass(frozen=True)
class SealedHeader:
    fields: dict[str, Any]  # kind, salt, and what the writer put there (device_id, checkpoint, ...)
    digest: bytes  # of the magic and header line, bound into every frame

    @property
    def kind(self) -> str:
        return str(self.fields["kind"])


def read_header(fh: IO[bytes]) -> SealedHeader:
    """The clear-text header; SealedFileError("not_sealed") for any other file."""
    if fh.read(len(MAGIC)) != MAGIC:
        raise SealedFileError("not_sealed")
    line = fh.readline(MAX_HEADER_BYTES)
    try:
        fields = json.loads(line)
        base64.b64decode(fields["salt"], validate=True)
        str(fields["kind"])
    except (ValueError, KeyError, TypeError):
        raise SealedFileError("not_sealed") from None
    return SealedHeader(fields, hashlib.sha256(MAGIC + line).digest())


def _read_frame(fh: IO[bytes]) -> bytes | None:
    head = fh.read(_LENGTH.size)
    if not head:
        return None
    if len(head) < _LENGTH.size:
        raise SealedFileError("truncated")
    (length,) = _LENGTH.unpack(head)
    if length > MAX_FRAME_BYTES:
        raise SealedFileError("damaged")
    sealed = fh.read(length)
    if len(sealed) < length:
        raise SealedFileError("truncated")
    return sealed


def _records(plain: bytes) -> list[dict[str, Any]]:
    inflater = zlib.decompressobj(wbits=31)
    try:
        text = inflater.decompress(plain, MAX_BATCH_BYTES + 1)
    except zlib.error:
        raise SealedFileError("damaged") from None
    if len(text) > MAX_BATCH_BYTES or not inflater.eof:
        raise SealedFileError("damaged")
    try:
        return [json.loads(line) for line in text.splitlines()]
    except ValueError:
        raise SealedFileError("damaged") from None


class SealedReader:
    """Opens a file whose header was read: the first frame decides which candidate key is the file's."""

    def __init__(
        self, fh: IO[bytes], header: SealedHeader, materials: Iterable[bytes], verifier: Ed25519PublicKey | None = None
    ) -> None:
        """``verifier``: the writer's public key; when given, every frame must carry its valid signature."""
        self._fh = fh
        self._header = header
        self._signed = header.fields.get("signed") == SIGNED
        if verifier is not None and not self._signed:
            raise SealedFileError("unsigned")
        self._verifier = verifier
        salt = base64.b64decode(header.fields["salt"])
        self._candidates = [(m, _key(m, salt, header.kind)) for m in materials]
        self.material: bytes | None = None  # the key material that opened the file
        self._aead: AESGCM  # its key, set with material by the first frame
        first = _read_frame(fh)
        if first is None:
            raise SealedFileError("truncated")
        self._following = _read_frame(fh)
        self._plain = self._open(first, 0, last=self._following is None)

    def batches(self) -> Iterator[list[dict[str, Any]]]:
        """Each frame's records, authenticated, as they are read; SealedFileError when anything
        does not check out (frames before a damaged one are genuine and already yielded)."""
        index, count, plain, following = 0, 0, self._plain, self._following
        while following is not None:
            records = _records(plain)
            count += len(records)
            yield records
            index, sealed, following = index + 1, following, _read_frame(self._fh)
            plain = self._open(sealed, index, last=following is None)
        if _records(plain) != [{"records": count}]:
            raise SealedFileError("damaged")

    def _open(self, frame: bytes, index: int, *, last: bool) -> bytes:
        sealed = frame
        if self._signed:
            if len(frame) < SIGNATURE_BYTES:
                raise SealedFileError("damaged")
            sealed, signature = frame[:-SIGNATURE_BYTES], frame[-SIGNATURE_BYTES:]
            if self._verifier is not None and not self._signed_by_writer(signature, sealed, index, last):
                cut_short = last and self._signed_by_writer(signature, sealed, index, False)
                raise SealedFileError("truncated" if cut_short else "forged")
        candidates = self._candidates if self.material is None else [(self.material, self._aead)]
        for material, aead in candidates:
            try:
                plain = aead.decrypt(_nonce(index), sealed, _aad(self._header.digest, index, last))
            except InvalidTag:
                continue
            self.material, self._aead = material, aead  # the first frame decides which key is the file's
            return plain
        if last and any(_opens(aead, sealed, index, _aad(self._header.digest, index, False)) for _, aead in candidates):
            raise SealedFileError("truncated")  # a genuine frame that should have had more after it
        raise SealedFileError("wrong_key" if self.material is None else "damaged")

    def _signed_by_writer(self, signature: bytes, sealed: bytes, index: int, last: bool) -> bool:
        assert self._verifier is not None
        return _verified(self._verifier, signature, _aad(self._header.digest, index, last) + sealed)


def _verified(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def _opens(aead: AESGCM, sealed: bytes, index: int, aad: bytes) -> bool:
    try:
        aead.decrypt(_nonce(index), sealed, aad)
    except InvalidTag:
        return False
    return True
