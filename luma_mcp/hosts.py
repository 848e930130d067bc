"""Which hosts and web origins are this machine's own, and how an allow-list of them is read.

Used where a server is bound (the HTTP server, the standalone emulator) and where requests are
checked against DNS rebinding (`http_app.Gatekeeper`)."""

from __future__ import annotations

import ipaddress

LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost", "[::1]"]
"""`Host` values of a server bound to loopback."""
LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
"""Browser `Origin` values of pages served from this machine."""


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps a server reachable from this machine only."""
    try:
        return host == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_by(value: str, allowed: list[str]) -> bool:
    """The SDK's rule for a `Host` or an `Origin`: an exact match, or `name:*` (`scheme://host:*`)
    for any port of that name."""
    return value in allowed or any(
        pattern.endswith(":*") and value.startswith(pattern[:-1]) and value[len(pattern) - 1 :].isdigit()
        for pattern in allowed
    )
