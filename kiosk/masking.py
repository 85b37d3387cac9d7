"""Screen-safe summaries: enough for a guard to match a face, never a full ID or phone.

Personal data is for tracing only; a kiosk screen is seen by the next person in line.
"""

from __future__ import annotations

from typing import Any

from kiosk.catalog import N_, gettext
from kiosk.credentials import Card, Cccd, Credential, Dcc, Opaque, Phone, credential_from_fields

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


def summary(credential: Credential, lang: str = "vi", *, name: str | None = None, id_number: str | None = None) -> str:
    """One line for the result panel; ``name``/``id_number`` are manual-entry extras."""
    words = {key: gettext(msgid, lang) for key, msgid in LABELS.items()}
    parts: list[str] = []
    if isinstance(credential, Cccd):
        parts = [mask_name(credential.name), f"{words['id']} {mask_digits(credential.id_number)}"]
    elif isinstance(credential, Phone):
        if name:
            parts.append(mask_name(name))
        parts.append(f"{words['phone']} {mask_digits(credential.phone)}")
        if id_number:
            parts.append(f"{words['id']} {mask_digits(id_number)}")
    elif isinstance(credential, Dcc):
        family = credential.family_name or ""
        given = credential.given_name or ""
        parts.append(mask_name(f"{family} {given}".strip()) if family else mask_name(credential.name))
        parts.extend(_certificate_line(cert, words) for cert in credential.certificates[:1])
    elif isinstance(credential, Card):
        parts = [mask_name(credential.name), f"{words['card']} {mask_digits(format(credential.number, '06d'), 3)}"]
    elif isinstance(credential, Opaque):
        parts.append(words.get(credential.hint, words["opaque"]) if credential.hint != "text" else words["opaque"])
    return " · ".join(p for p in parts if p)


def visit_summary(row: dict[str, Any], lang: str = "vi") -> str:
    """The masked summary of a stored visit (a row from ``VisitStore.visits``)."""
    fields = row["fields"]
    return summary(credential_from_fields(row["kind"], fields), lang, name=fields.get("name"), id_number=fields.get("id_number"))


def _certificate_line(cert: dict, words: dict[str, str]) -> str:
    kind = cert.get("type")
    if kind == "vaccination":
        return f"{words['dose']} {cert.get('dose_number', '?')}/{cert.get('total_doses', '?')} ({cert.get('date', '')})"
    if kind == "test":
        return f"{words['test']} ({str(cert.get('sampled_at', ''))[:10]})"
    return f"{words['recovery']} ({cert.get('first_positive', '')})"
