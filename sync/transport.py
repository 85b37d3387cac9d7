"""Which server addresses a kiosk talks to: https:// anywhere, plain http:// only on this machine.

An enrolment hands the kiosk its device token, and every sync carries that token and the
visits; over plain http on a real network anyone on the path could read the token and
send visits as this kiosk. So the sync client refuses an http:// server unless its host
is loopback (127.0.0.0/8, ::1, localhost: the traffic never leaves the machine, as in a
laptop demo or the tests) or the admin has set ``server.allow_insecure_http = true``
knowingly, and then the status line and ``doctor`` keep saying so. The district server
uses the same test to warn about a ``public_url`` it would print into enrolment QR codes.

Pure functions of the URL: no network, no configuration read here.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "localhost."})


def is_loopback(host: str | None) -> bool:
    """127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z) or localhost; any other name could be anywhere."""
    if not host:
        return False
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def plain_remote(url: str) -> bool:
    """An http:// URL whose host is not this machine: the token and visits would cross a network in clear."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:  # e.g. an unbalanced [ in the host: not a URL anyone can reach
        return False
    return parts.scheme.lower() == "http" and not is_loopback(host)


def refused(url: str, allow_insecure_http: bool) -> bool:
    """Whether the sync client must not send anything to ``url``."""
    return plain_remote(url) and not allow_insecure_http


def host_of(url: str) -> str:
    """The host (and port, when given) an admin should recognise, e.g. ``kiemsoat.example.gov.vn:8443``."""
    try:
        return urlsplit(url.strip()).netloc.rpartition("@")[2] or url
    except ValueError:
        return url
