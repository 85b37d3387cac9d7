"""Screen-safe summaries: enough for a guard to match a face, never a full ID or phone.

Personal data is for tracing only; a kiosk screen is seen by the next person in line.
"""

from __future__ import annotations

import functools
from typing import Any

from kiosk.catalog import N_, gettext
from kiosk.credentials import Card, Cccd, Credential, Dcc, Opaque, Phone

LABELS = {
    "id": N_("ID"),
    "card": N_("Card"),
    "phone": N_("Phone"),
    "dose": N_("Dose"),
    "test": N_("Test"),
    "recovery": N_("Recovered"),
    "opaque": N_("Other code"),
    "url": N_("Link code"),
    "binary": N_("Binary code"),
    "pc-covid": N_("PC-Covid code"),
}


def mask_name(name: str, family_first: bool = True) -> str:
    """'Nguyễn Văn Đức' → 'Nguyễn V. Đ.'; the family name stays, the rest become initials."""
    parts = name.split()
    if not parts:
        return ""
    if not family_first:  # "Erika Mustermann" → "Mustermann E."
        parts = parts[-1:] + parts[:-1]
    return " ".join([parts[0], *(p[0] + "." for p in parts[1:])])


def mask_digits(value: str, keep: int = 4) -> str:
    return "***" + value[-keep:] if len(value) > keep else "***"


def masked_fields(credential: Credential, *, name: str | None = None, id_number: str | None = None) -> dict[str, Any]:
    """What the store keeps in clear for the guard's screens: masked name and numbers, the
    certificate's type and status, an opaque code's hint; ``name``/``id_number`` are
    manual-entry extras. Masking is idempotent, so a masked value masks to itself."""
    shown: dict[str, Any] = {}
    if isinstance(credential, Cccd):
        shown = {"name": mask_name(credential.name), "id_number": mask_digits(credential.id_number)}
    elif isinstance(credential, Phone):
        shown = {"phone": mask_digits(credential.phone)}
        if name:
            shown["name"] = mask_name(name)
        if id_number:
            shown["id_number"] = mask_digits(id_number)
    elif isinstance(credential, Dcc):
        family = credential.family_name or ""
        given = credential.given_name or ""
        shown = {
            "name": mask_name(f"{family} {given}".strip()) if family else mask_name(credential.name),
            "signature": credential.signature,
        }
        if credential.certificates:
            first = credential.certificates[0]
            shown["certificate"] = {k: first.get(k) for k in _CERTIFICATE_SHOWN if first.get(k) is not None}
    elif isinstance(credential, Card):
        shown = {
            "name": mask_name(credential.name),
            "card_number": mask_digits(f"{credential.number:06d}", 3),
            "check": credential.check,  # the orange panel's reason, shown again in the history
        }
    elif isinstance(credential, Opaque):
        shown = {"hint": credential.hint}
    return shown


_CERTIFICATE_SHOWN = ("type", "dose_number", "total_doses", "date", "sampled_at", "first_positive")


@functools.cache
def _labels(lang: str) -> dict[str, str]:
    """The summary's labels in ``lang``, looked up once per language (every scan shows a summary)."""
    return {key: gettext(msgid, lang) for key, msgid in LABELS.items()}


def masked_summary(kind: str, shown: dict[str, Any], lang: str = "vi") -> str:
    """One line for the result panel and the lists, from ``masked_fields``; masked again on the
    way out (masking is idempotent), so a row that somehow holds a full value still shows none."""
    words = _labels(lang)
    parts: list[str] = []
    if kind in ("cccd", "phone", "dcc", "card") and shown.get("name"):
        parts.append(mask_name(str(shown["name"])))
    if shown.get("phone"):
        parts.append(f"{words['phone']} {mask_digits(str(shown['phone']))}")
    if shown.get("id_number"):
        parts.append(f"{words['id']} {mask_digits(str(shown['id_number']))}")
    if shown.get("card_number"):
        parts.append(f"{words['card']} {mask_digits(str(shown['card_number']), 3)}")
    if isinstance(shown.get("certificate"), dict):
        parts.append(_certificate_line(shown["certificate"], words))
    if kind == "opaque":
        hint = shown.get("hint", "text")
        parts.append(words.get(hint, words["opaque"]) if hint != "text" else words["opaque"])
    return " · ".join(p for p in parts if p)


def summary(credential: Credential, lang: str = "vi", *, name: str | None = None, id_number: str | None = None) -> str:
    """One line for the result panel; ``name``/``id_number`` are manual-entry extras."""
    return masked_summary(credential.kind, masked_fields(credential, name=name, id_number=id_number), lang)


def visit_summary(row: dict[str, Any], lang: str = "vi") -> str:
    """The masked summary of a stored visit (a row from ``VisitStore.visits``: ``fields`` are masked)."""
    return masked_summary(row["kind"], row["fields"], lang)


def _certificate_line(cert: dict, words: dict[str, str]) -> str:
    kind = cert.get("type")
    if kind == "vaccination":
        return f"{words['dose']} {cert.get('dose_number', '?')}/{cert.get('total_doses', '?')} ({cert.get('date', '')})"
    if kind == "test":
        return f"{words['test']} ({str(cert.get('sampled_at', ''))[:10]})"
    return f"{words['recovery']} ({cert.get('first_positive', '')})"
