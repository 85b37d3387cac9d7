"""Reading an upload body with hard limits, before any of it is parsed.

A gzip body of a few kilobytes can expand to gigabytes, so the limit applies to the
decompressed bytes as they are produced, not to what the client says or sent.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

from kiosk.catalog import bilingual
from server.errors import UserError


class BodyTooLarge(UserError):
    status = 413


class UnsupportedEncoding(UserError):
    status = 415


def too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(
        "batch_too_large",
        bilingual("body larger than {limit} bytes after decompression; split the batch", limit=limit),
    )


async def read_limited(chunks: AsyncIterator[bytes], encoding: str | None, limit: int, declared_length: int | None) -> bytes:
    """The body, decompressed if gzip, at most ``limit`` bytes; BodyTooLarge beyond."""
    encoding = (encoding or "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise UnsupportedEncoding("unsupported_encoding", bilingual("only gzip or identity"))
    if declared_length is not None and encoding == "identity" and declared_length > limit:
        raise too_large(limit)
    inflater = zlib.decompressobj(wbits=31) if encoding == "gzip" else None
    out = bytearray()
    try:
        async for chunk in chunks:
            if inflater is None:
                out += chunk
            else:
                out += inflater.decompress(chunk, limit + 1 - len(out))  # never more than one byte past
            if len(out) > limit:
                raise too_large(limit)
        if inflater is not None:
            out += inflater.flush()
            if not inflater.eof:
                raise zlib.error("truncated")
    except zlib.error:
        raise UserError("bad_gzip", bilingual("body is not valid gzip")) from None
    if len(out) > limit:
        raise too_large(limit)
    return bytes(out)
