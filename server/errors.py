"""Mistakes an admin or official can fix, with the words to fix them.

The CLI prints the message without a traceback; the API answers with ``status`` and the
stable ``code``. Messages name fields, lines and codes, never personal data.
"""

from __future__ import annotations


class UserError(Exception):
    """A request that cannot be done as asked; ``message`` is Vietnamese, then English (``kiosk.catalog.bilingual``)."""

    status = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NotFound(UserError):
    status = 404


class Conflict(UserError):
    status = 409
