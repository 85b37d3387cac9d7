"""Bytes from a reader to text, without guessing wrong on Vietnamese.

Readers send UTF-8 (most), UTF-16 with or without a BOM (some serial readers), or a
legacy code page. UTF-8 is tried strictly first because a wrong guess garbles names in a
way nobody can undo later; the raw bytes are always kept by the caller.
"""

from __future__ import annotations

import codecs


def _utf16_order(data: bytes) -> str | None:
    """'utf-16-be'/'utf-16-le' when the zero bytes of ASCII text sit on one side only."""
    if len(data) < 2 or len(data) % 2:
        return None
    even_zero = data[0::2].count(0)
    odd_zero = data[1::2].count(0)
    pairs = len(data) // 2
    if even_zero * 2 >= pairs and odd_zero == 0:
        return "utf-16-be"
    if odd_zero * 2 >= pairs and even_zero == 0:
        return "utf-16-le"
    return None


def decode_bytes(data: bytes, fallback: str | None = None) -> tuple[str, str] | None:
    """(text, encoding) or None when no honest decoding exists (binary data)."""
    if data.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif data.startswith((codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE)):
        candidates = ["utf-16"]
    else:
        order = _utf16_order(data)
        candidates = [order] if order else []
        candidates.append("utf-8")
    if fallback:
        candidates.append(fallback)
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if _looks_textual(text):
            return text, encoding
    return None


def _looks_textual(text: str) -> bool:
    """No C0 controls other than the separators readers really send (tab, CR, LF, GS, RS)."""
    return not any(ord(ch) < 32 and ch not in "\t\r\n\x1d\x1e" for ch in text) and "\x7f" not in text
